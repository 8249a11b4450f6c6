"""The status line: context, API and metrics state, data age, stale/forbidden markers, badges."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..feed import FeedStatus
from .render import Palette, clean, fmt_age

# kubectl's short names for the long kind names: a status line naming two stale kinds must leave room for why
SHORT_KIND = {"horizontalpodautoscalers": "hpa", "networkpolicies": "netpol", "poddisruptionbudgets": "pdb",
              "resourcequotas": "quota", "limitranges": "limits", "deployments": "deploy", "statefulsets": "sts",
              "replicasets": "rs", "daemonsets": "ds", "namespaces": "ns"}


def _short(kind: str) -> str:
    return SHORT_KIND.get(kind, kind)


def _short_error(error: str) -> str:
    """An API error that starts with its kind ("horizontalpodautoscalers: cannot reach ...") with the short name."""
    kind, sep, rest = error.partition(": ")
    return f"{_short(kind)}{sep}{rest}" if sep and kind in SHORT_KIND else error


API_STYLE = {"connected": "ok", "static": "info", "replay": "info", "loading": "warning", "connecting": "warning",
             "degraded": "warning", "error": "critical"}


def status_text(status: FeedStatus, taken_at: float | None, now: float, pal: Palette, *,
                refresh_seconds: float = 2.0, extra: str = "") -> Text:
    """One line, most important first: badges, context, API, data age, forbidden kinds, metrics
    (whose source description can be long, so it comes last before the app's note)."""
    t = Text(no_wrap=True, overflow="ellipsis", end="")
    if status.readonly:
        t.append(" READ-ONLY ", style=f"bold reverse {pal.warning}")
        t.append(" ")
    if status.insecure:
        t.append(" INSECURE TLS ", style=f"bold reverse {pal.critical}")
        t.append(" ")
    t.append("ctx ", style=pal.dim)
    t.append(clean(status.context) or "-", style="bold")
    t.append(" │ ", style=pal.dim)
    t.append("API ", style=pal.dim)
    t.append("● ", style=pal.severity(API_STYLE.get(status.api_state, "warning")))
    state = status.api_state
    if state == "loading":
        done, total = status.load_progress()
        state = f"loading {done}/{total} kinds"
    t.append(state)
    stale = stale_kinds(status)
    if stale:  # kinds the API cannot refresh now: their rows are the last good read, said with its age
        oldest = min(stale.values())
        names = ",".join(_short(k) for k in sorted(stale)[:2]) + (f" +{len(stale) - 2}" if len(stale) > 2 else "")
        t.append(f" STALE {names} {fmt_age(max(0.0, now - oldest))}", style=f"bold {pal.critical}")
    missing = missing_kinds(status)
    if missing:  # never read: the views lack them (an empty list there is not a fact)
        names = ",".join(_short(k) for k in missing[:2]) + (f" +{len(missing) - 2}" if len(missing) > 2 else "")
        t.append(f" MISSING {names}", style=f"bold {pal.critical}")
    if status.api_error:
        t.append(f" ({_short_error(clean(status.api_error))[:90]})", style=pal.warning)
    if taken_at is not None:
        age = max(0.0, now - taken_at)
        t.append(" │ ", style=pal.dim)
        t.append(f"data {fmt_age(age)} old")
        if status.api_state not in ("static", "replay") and age > max(10.0, 5 * refresh_seconds):
            t.append(" STALE", style=f"bold {pal.critical}")
    if status.forbidden:
        t.append(" │ ", style=pal.dim)
        t.append("forbidden: " + ", ".join(status.forbidden), style=pal.warning)
    t.append(" │ ", style=pal.dim)
    ms = status.metrics_state or "…"
    t.append("metrics ", style=pal.dim)
    t.append("● ", style=pal.severity({"ok": "ok", "partial": "warning", "stale": "warning", "unavailable": "critical"}.get(ms, "info")))
    if status.metrics_state and status.metrics_state != "ok":  # before the source: a long URL must not hide it
        t.append(f"[{status.metrics_state}] ", style=pal.warning)
    source = clean(status.metrics_source) or ms
    t.append(source if len(source) <= 80 else source[:79] + "…")
    if extra:
        t.append(" │ ", style=pal.dim)
        t.append(clean(extra), style=pal.accent)
    return t


def stale_kinds(status: FeedStatus) -> dict[str, float]:
    """Kinds failing to refresh (an error, not forbidden) -> when they were last known current."""
    if status.api_state in ("static", "replay"):
        return {}
    return {k: s.synced_at for k, s in status.kinds.items()
            if s.error and not s.forbidden and getattr(s, "synced_at", 0)}


def missing_kinds(status: FeedStatus) -> list[str]:
    """Kinds whose list failed before any good read (an error, not forbidden, not unserved)."""
    if status.api_state in ("static", "replay"):
        return []
    return sorted(k for k, s in status.kinds.items() if s.error and not s.forbidden and not s.complete
                  and not getattr(s, "synced_at", 0) and "(404)" not in s.error)


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; padding: 0 1; }
    """
