"""Durations as an SRE reads them, in kubectl's style (45s, 12m, 3h, 5d): one formatter for the TUI
and the text exports, so a pod pending "3h" on screen is "3h04m" in the incident document, never
something else. Pure: no Textual, no clock."""
from __future__ import annotations

import math


def human_duration(seconds: float | None, *, units: int = 1, missing: str = "-") -> str:
    """`seconds` in its largest unit like kubectl's AGE column (seconds under 2 min, minutes under 2 h,
    hours under 2 days, then days); units=2 adds the next unit from 2 h up (3h04m, 5d3h), for documents
    read after the fact. Unknown, infinite or negative (a timestamp ahead of our clock): `missing`."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return missing
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h" + (f"{s % 3600 // 60:02d}m" if units > 1 else "")
    return f"{s // 86400}d" + (f"{s % 86400 // 3600}h" if units > 1 else "")
