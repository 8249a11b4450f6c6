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

Labels = dict[str, str]
Samples = dict[str, list[tuple[Labels, float]]]  # sample name -> [(labels, value)]
_TYPE_LINE = re.compile(r"^# TYPE (\S+) ", re.M)
_SENTINEL = 9.0e18  # DCGM_FT_*_BLANK / NOT_SUPPORTED live just under 2^63


class ExpositionError(ValueError):
    """The text is not valid exposition format; the message says where it broke, in one line."""


def parse_exposition(text: str | bytes) -> Samples:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ExpositionError(f"not UTF-8 text: {e}") from None
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
                labels = {k: val for k, val in s.labels.items() if val != ""}
                out.setdefault(name, []).append((labels, v))
    except ValueError as e:
        raise ExpositionError(f"malformed exposition text: {str(e)[:120]}") from None
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
