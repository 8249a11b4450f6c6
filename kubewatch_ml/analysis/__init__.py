"""Pure analysis: a ClusterSnapshot (+ MetricsSnapshot, + the time) in, view models out.

No I/O, no clock reads, no Textual. `analyze()` computes every view; the per-view functions
(quota_view, gpu_view, hpa_view, probe_view, zone_view, why_pending, findings) recompute one alone.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .models import Analysis

if TYPE_CHECKING:
    from ..metrics_snapshot import MetricsSnapshot
    from ..snapshot import ClusterSnapshot

__all__ = ["analyze", "Analysis"]


def analyze(cluster: "ClusterSnapshot", metrics: "MetricsSnapshot | None", now: float) -> Analysis:
    raise NotImplementedError("analysis is being written (issue 5)")
