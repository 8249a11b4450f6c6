"""Pure analysis: a ClusterSnapshot (+ MetricsSnapshot, + the time) in, view models out.

No I/O, no clock reads, no Textual. `analyze()` computes every view; the per-view functions
(quota_view, gpu_view, hpa_view, probe_view, zone_view, why_pending, findings) recompute one alone.
"""
from __future__ import annotations

import gc

from ..metrics_snapshot import MetricsSnapshot
from ..snapshot import ClusterSnapshot
from .allocation import allocation
from .findings import REGISTRY, findings
from .gpus import gpu_view
from .hpas import hpa_view
from .models import Analysis
from .overview import overview
from .probes import probe_view
from .quotas import quota_view
from .scheduling import node_rooms, why_pending
from .zones import zone_view

__all__ = ["analyze", "Analysis", "quota_view", "gpu_view", "hpa_view", "probe_view", "zone_view",
           "why_pending", "findings", "overview", "REGISTRY"]


def analyze(cluster: ClusterSnapshot, metrics: MetricsSnapshot | None, now: float) -> Analysis:
    """Every view, with the per-node and per-namespace request totals computed once."""
    # The views create ~100k short-lived containers and no cycles; cyclic GC runs in the middle
    # of them only cost time (~8 % at 150k pods), so collection waits until the call returns.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _analyze(cluster, metrics, now)
    finally:
        if paused:
            gc.enable()


def _analyze(cluster: ClusterSnapshot, metrics: MetricsSnapshot | None, now: float) -> Analysis:
    alloc = allocation(cluster)
    rooms = node_rooms(cluster, alloc)
    quotas = quota_view(cluster, metrics, alloc=alloc)
    gpus = gpu_view(cluster, metrics, alloc=alloc)
    hpas = hpa_view(cluster, metrics, now)
    probes = probe_view(cluster, metrics, now, alloc=alloc)
    zones = zone_view(cluster, metrics, alloc=alloc, rooms=rooms)
    pending = why_pending(cluster, metrics, now, alloc=alloc, rooms=rooms)
    found = findings(cluster, metrics, now, quotas=quotas, gpus=gpus, hpas=hpas, probes=probes, zones=zones,
                     pending=pending, alloc=alloc)
    ov = overview(cluster, metrics, now, quotas=quotas, gpus=gpus, hpas=hpas, probes=probes, zones=zones,
                  pending=pending, findings=found, alloc=alloc)
    return Analysis(now=now, overview=ov, quotas=quotas, gpu_nodes=gpus, hpas=hpas, probes=probes, zones=zones,
                    pending=pending, findings=found)
