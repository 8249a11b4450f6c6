"""Exporter text (format 0.0.4) into samples named and labelled as Prometheus would store them,
through prometheus_client's parser, undoing its quirks (metrics.md §6):
- a counter declared without `_total` (DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION) comes back renamed
  `…_total`; Prometheus keeps the exposed name, so do we;
- empty label values are kept by the parser; Prometheus drops them, so do we;
- DCGM's NOT_SUPPORTED / blank sentinels (values near 2^63) leaked by old exporters are dropped.
"""
from __future__ import annotations

import math
import re

from prometheus_client.parser import text_string_to_metric_families

# prometheus_client's parser costs ~55 us a line: 2.9 M lines of KSM at 150k pods take minutes.
# Above this size a regex parser with the same output is used (tests hold the two equal).
FAST_ABOVE = 2_000_000

Labels = dict[str, str]
Samples = dict[str, list[tuple[Labels, float]]]  # sample name -> [(labels, value)]
_TYPE_LINE = re.compile(r"^# TYPE (\S+) ", re.M)
_SENTINEL = 9.0e18  # DCGM_FT_*_BLANK / NOT_SUPPORTED live just under 2^63


class ExpositionError(ValueError):
    """The text is not valid exposition format; the message says where it broke, in one line."""


def parse_exposition(text: str | bytes, only: frozenset[str] | set[str] | None = None,
                     fast: bool | None = None) -> Samples:
    """Samples by name. `only`: keep just these sample names (the rest is skipped cheaply).
    `fast`: force the regex parser (True) or prometheus_client's (False); default by size."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ExpositionError(f"not UTF-8 text: {e}") from None
    if fast or (fast is None and len(text) > FAST_ABOVE):
        return _parse_fast(text, only)
    if only is not None:
        text = _keep_families(text, only)
    declared = set(_TYPE_LINE.findall(text))
    out: Samples = {}
    try:
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                name = s.name
                if (fam.type == "counter" and name == fam.name + "_total" and name not in declared
                        and fam.name in declared):
                    name = fam.name  # the parser's rename, not what the exporter served
                v = float(s.value)
                if math.isnan(v) or abs(v) >= _SENTINEL:
                    continue
                if only is not None and name not in only:
                    continue
                labels = {k: val for k, val in s.labels.items() if val != ""}
                out.setdefault(name, []).append((labels, v))
    except ValueError as e:
        raise ExpositionError(f"malformed exposition text: {str(e)[:120]}") from None
    return out


def _keep_families(text: str, only) -> str:
    """The lines of `text` that belong to the wanted samples (and their HELP/TYPE lines)."""
    names = sorted({n for n in only} | {n[:-6] for n in only if n.endswith("_total")}, key=len, reverse=True)
    alt = "|".join(re.escape(n) for n in names)
    pat = re.compile(rf"^(?:# (?:HELP|TYPE) (?:{alt})(?:_total)? .*|(?:{alt})(?:_total)?[{{ \t].*)$", re.M)
    return "\n".join(pat.findall(text)) + "\n"


_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?[0-9]+)?[ \t]*")
_LABEL = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"[ \t]*(?:,|$)')
_UNESCAPE = re.compile(r"\\(.)")


def _parse_fast(text: str, only) -> Samples:
    out: Samples = {}
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line or line[0] == "#":
            continue
        if only is not None:
            cut = min((i for i in (line.find("{"), line.find(" ")) if i >= 0), default=len(line))
            if line[:cut] not in only:
                continue
        m = _SAMPLE.fullmatch(line)
        if m is None:
            raise ExpositionError(f"malformed exposition text: line {lineno}: {line[:120]!r}")
        name, body, raw = m.groups()
        labels: Labels = {}
        if body:
            pos = 0
            for lm in _LABEL.finditer(body):
                if lm.start() != pos:
                    break
                pos = lm.end()
                k, v = lm.group(1), lm.group(2)
                if "\\" in v:
                    v = _UNESCAPE.sub(lambda e: "\n" if e.group(1) == "n" else e.group(1), v)
                if v != "":
                    labels[k] = v
            if pos != len(body):
                raise ExpositionError(f"malformed exposition text: line {lineno}: bad labels {body[:100]!r}")
        try:
            v = float(raw)
        except ValueError:
            raise ExpositionError(f"malformed exposition text: line {lineno}: bad value {raw[:40]!r}") from None
        if math.isnan(v) or abs(v) >= _SENTINEL:
            continue
        out.setdefault(name, []).append((labels, v))
    return out


def select(samples: Samples, name: str, **match: str) -> list[tuple[Labels, float]]:
    """Samples of `name` whose labels equal `match` (value "" = label absent, "!" prefix = not equal)."""
    rows = samples.get(name, ())
    if not match:
        return list(rows)
    out = []
    for labels, v in rows:
        for k, want in match.items():
            have = labels.get(k, "")
            if want.startswith("!"):
                if have == want[1:]:
                    break
            elif have != want:
                break
        else:
            out.append((labels, v))
    return out
