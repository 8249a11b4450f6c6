"""Simulated measurements that Kubernetes objects do not carry: GPU readings, container usage,
probe counters. dynamics.py writes them on each tick; exporters.py renders them in the real
exporter formats. Keys use the same names the exporters label with.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class GpuDevice:
    node: str
    index: int  # "gpu" label
    uuid: str  # "UUID" label, GPU-xxxxxxxx-...
    model: str  # "modelName", e.g. "NVIDIA A100-SXM4-80GB"
    pci_bus_id: str = ""
    mig_profile: str = ""  # GPU_I_PROFILE (e.g. "1g.10gb"); "" for a whole GPU
    mig_instance: int | None = None  # GPU_I_ID
    util: float = 0.0  # %
    fb_used_mib: float = 0.0
    fb_total_mib: float = 81920.0
    power_w: float = 60.0
    temp_c: float = 35.0
    xid: int = 0  # last XID error, 0 = none
    energy_mj: float = 0.0  # counter
    # the container holding it (namespace, pod, container), None when not allocated
    holder: tuple[str, str, str] | None = None


@dataclass
class Telemetry:
    lock: threading.RLock = field(default_factory=threading.RLock)
    gpus: dict[tuple[str, int | str], GpuDevice] = field(default_factory=dict)  # (node, index or index/gi)
    # cAdvisor: (namespace, pod, container) -> cumulative CPU seconds / working set bytes
    container_cpu_seconds: dict[tuple[str, str, str], float] = field(default_factory=dict)
    container_memory_bytes: dict[tuple[str, str, str], float] = field(default_factory=dict)
    # kubelet prober: (namespace, pod, container, probe_type, result) -> cumulative count;
    # probe_type Liveness|Readiness|Startup, result successful|failed|unknown
    probe_counts: dict[tuple[str, str, str, str, str], int] = field(default_factory=dict)
    # pod uid by (namespace, pod), for the pod_uid label
    pod_uids: dict[tuple[str, str], str] = field(default_factory=dict)
