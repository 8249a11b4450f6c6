"""What the views know from metrics (Prometheus or exporters scraped directly), at one instant.

Filled by sources/prometheus.py or sources/scrape.py through queries/; read by analysis/.
Every area carries its own availability so a view can say "unavailable: <reason>" or
"stale since <t>" for its columns while the rest works.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

PodKey = tuple[str, str]  # (namespace, pod)
ContainerKey = tuple[str, str, str]  # (namespace, pod, container)

# Areas, one per group of columns. A view looks up the areas it uses.
AREAS = ("gpu", "usage", "probes", "restarts", "hpa_history", "quota", "ksm")


@dataclass(frozen=True)
class AreaState:
    ok: bool
    reason: str = ""  # why unavailable / stale, one line
    fetched_at: float = 0.0  # when the numbers were obtained
    stale: bool = False  # the numbers are from an earlier fetch; fetched_at says how old


@dataclass(frozen=True)
class GpuSample:
    node: str  # from Hostname (label_replace'd to node)
    gpu: str  # index as exported ("0", "1", ...)
    uuid: str
    model: str = ""
    mig_profile: str = ""  # GPU_I_PROFILE, "" for a whole GPU
    util: float | None = None  # % (DEV_GPU_UTIL, or PROF_GR_ENGINE_ACTIVE*100 on MIG)
    fb_used_mib: float | None = None
    fb_free_mib: float | None = None
    power_w: float | None = None
    temp_c: float | None = None
    xid: int = 0  # last XID error number, 0 if none
    namespace: str = ""  # pod attribution, only on allocated GPUs
    pod: str = ""
    container: str = ""
    util_avg_30m: float | None = None  # avg_over_time over 30 min (None: not enough history)
    util_history: tuple[float, ...] = ()  # oldest first, for sparklines
    mig_instance: str = ""  # GPU_I_ID: tells the MIG slices of one GPU apart ("" for a whole GPU)

    @property
    def allocated(self) -> bool:
        return bool(self.pod)

    @property
    def idle(self) -> bool:
        """Allocated but idle: < 5% average over 30 min."""
        return self.allocated and self.util_avg_30m is not None and self.util_avg_30m < 5.0


@dataclass(frozen=True)
class HpaHistory:
    times: tuple[float, ...] = ()
    current: tuple[float, ...] = ()
    desired: tuple[float, ...] = ()
    min_replicas: tuple[float, ...] = ()  # spec bounds at the same times (they can be edited)
    max_replicas: tuple[float, ...] = ()
    # each metric over the same times, keyed "cpu/utilization", "inference_queue_depth/average", ...
    # (KSM metric_name/metric_target_type): (key, current values, target values); NaN where absent
    metrics: tuple[tuple[str, tuple[float, ...], tuple[float, ...]], ...] = ()


@dataclass(frozen=True)
class MetricsSnapshot:
    taken_at: float
    source: str = "none"  # "prometheus <url>" | "direct" | "none"
    areas: Mapping[str, AreaState] = field(default_factory=dict)
    gpus: tuple[GpuSample, ...] = ()
    # actual usage: cores (float) and bytes, per container and summed per namespace
    container_cpu: Mapping[ContainerKey, float] = field(default_factory=dict)
    container_memory: Mapping[ContainerKey, float] = field(default_factory=dict)
    namespace_cpu: Mapping[str, float] = field(default_factory=dict)
    namespace_memory: Mapping[str, float] = field(default_factory=dict)
    # probe failures over the last 5 minutes: (ns, pod, container, probe_type) -> count
    probe_failures_5m: Mapping[tuple[str, str, str, str], float] = field(default_factory=dict)
    restarts_1h: Mapping[ContainerKey, float] = field(default_factory=dict)
    crashlooping: frozenset[ContainerKey] = frozenset()
    hpa_history: Mapping[PodKey, HpaHistory] = field(default_factory=dict)  # (namespace, hpa)
    # kube_resourcequota: (namespace, resourcequota, raw key e.g. "requests.nvidia.com/gpu") -> (used, hard)
    quota_usage: Mapping[tuple[str, str, str], tuple[float | None, float | None]] = field(default_factory=dict)

    def area(self, name: str) -> AreaState:
        return self.areas.get(name) or AreaState(ok=False, reason="no metrics source")

    @classmethod
    def empty(cls, taken_at: float, reason: str = "no metrics source") -> "MetricsSnapshot":
        return cls(taken_at=taken_at, areas={a: AreaState(ok=False, reason=reason) for a in AREAS})
