"""Small renderers shared by the views: inert text, gauges, sparklines, human units.

Everything that comes from the cluster (names, labels, messages) goes through `inert()`: it
becomes a rich Text (never parsed as markup) with terminal escape sequences and control
characters removed, so a pod named "[red]x" or an event message with "\\x1b]52;..." renders
as the literal characters and cannot drive the terminal.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rich.text import Text

from ..durations import human_duration

# CSI / OSC / other ESC sequences, then any remaining C0/C1 control character (tab -> space)
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(value: object) -> str:
    """A one-line, escape-free string."""
    s = "" if value is None else str(value)
    if not s.isprintable():
        s = _ESCAPES.sub("", s.replace("\t", " ").replace("\n", " ").replace("\r", " "))
    return s


def inert(value: object, style: str = "") -> Text:
    """Cluster-supplied text as a Text that is never interpreted as markup."""
    return Text(clean(value), style=style, no_wrap=True, end="")


@dataclass(frozen=True)
class Palette:
    """Concrete colours for the current theme (rows are built off the UI thread)."""

    critical: str = "#ff5f5f"
    warning: str = "#ffaf00"
    ok: str = "#5fd75f"
    info: str = "#5fafff"
    dim: str = "#808080"
    accent: str = "#af87ff"
    bar_empty: str = "#3a3a3a"

    @classmethod
    def from_theme(cls, theme) -> "Palette":
        """From a textual Theme (any object with error/warning/success/primary/accent attributes)."""
        dark = getattr(theme, "dark", True)
        if not dark:  # the light themes' bright success/warning colours are faint on a light background
            return cls(critical="#c62828", warning="#b25e00", ok="#2e7d32", info=getattr(theme, "primary", None) or "#005fd7",
                       dim="#6c6c6c", accent="#8700af", bar_empty="#d0d0d0")
        return cls(
            critical=getattr(theme, "error", None) or cls.critical,
            warning=getattr(theme, "warning", None) or cls.warning,
            ok=getattr(theme, "success", None) or cls.ok,
            info=getattr(theme, "primary", None) or cls.info,
            dim="#808080" if dark else "#6c6c6c",
            accent="#af87ff" if dark else "#8700af",  # GPUs and highlights: distinct from warning amber
            bar_empty="#3a3a3a" if dark else "#d0d0d0",
        )

    def severity(self, severity: str) -> str:
        return {"critical": self.critical, "warning": self.warning, "info": self.info,
                "ok": self.ok}.get(severity, "")

    def ratio(self, ratio: float | None) -> str:
        """Colour for an occupancy ratio: green, amber over 90 %, red when full/over."""
        if ratio is None:
            return self.dim
        if ratio >= 1.0:
            return self.critical
        if ratio > 0.9:
            return self.warning
        return self.ok


_EIGHTHS = " ▏▎▍▌▋▊▉█"


def gauge(ratio: float | None, width: int, palette: Palette, *, label: str | None = None,
          color: str | None = None) -> Text:
    """A horizontal bar of `width` cells plus a label (default: the percentage)."""
    if label is None:
        label = "  n/a" if ratio is None else f"{ratio * 100:4.0f}%"
    bar_w = max(1, width - len(label) - 1)
    t = Text(no_wrap=True, end="")
    if ratio is None:
        t.append("·" * bar_w, style=palette.dim)
    else:
        eighths = int(round(max(0.0, min(1.0, ratio)) * bar_w * 8))
        full, part = divmod(eighths, 8)
        bar = "█" * full + (_EIGHTHS[part] if part else "")
        t.append(bar, style=color or palette.ratio(ratio))
        t.append(" " * (bar_w - len(bar)), style=f"on {palette.bar_empty}")
    t.append(" " + label, style=(color or palette.ratio(ratio)) if ratio is not None else palette.dim)
    return t


_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values, width: int, *, lo: float | None = None, hi: float | None = None,
              style: str = "") -> Text:
    """The last `width` values as block characters (scaled between lo and hi)."""
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))][-width:]
    if not vals:
        return Text("·" * min(width, 3), style="dim", no_wrap=True, end="")
    lo = min(vals) if lo is None else lo
    hi = max(vals) if hi is None else hi
    span = hi - lo
    chars = []
    for v in vals:
        idx = 0 if span <= 0 else int((min(max(v, lo), hi) - lo) / span * (len(_BLOCKS) - 1) + 0.5)
        chars.append(_BLOCKS[idx] if span > 0 or v > 0 else _BLOCKS[0])
    return Text("".join(chars), style=style, no_wrap=True, end="")


def fmt_cpu(m: int | float | None) -> str:
    if m is None:
        return "-"
    if abs(m) >= 10000:
        return f"{m / 1000:.0f}"
    if abs(m) >= 1000:
        return f"{m / 1000:.1f}"
    return f"{m:.0f}m"


def fmt_cores(c: float | None) -> str:
    return "-" if c is None else fmt_cpu(c * 1000)


def fmt_bytes(b: int | float | None) -> str:
    if b is None:
        return "-"
    for unit, div in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if abs(b) >= div:
            v = b / div
            return f"{v:.0f}{unit}" if v >= 100 else f"{v:.1f}{unit}"
    return f"{b:.0f}"


def fmt_qty(value: int | float | None, unit: str) -> str:
    if unit == "millicores":
        return fmt_cpu(value)
    if unit == "bytes":
        return fmt_bytes(value)
    return "-" if value is None else f"{value:,.0f}"


def fmt_age(seconds: float | None) -> str:
    """Like kubectl: 45s, 12m, 3h, 5d (the one formatter the exports use too)."""
    return human_duration(seconds)


def fmt_pct(p: float | None, digits: int = 0) -> str:
    return "-" if p is None else f"{p:.{digits}f}%"


def since(ts: float, now: float) -> str:
    return "-" if not ts else fmt_age(now - ts)
