"""View models: what analysis/ hands to the TUI and the exporters.

Frozen dataclasses of plain str/int/float/bool/None/tuple fields (and nested view models), so
`msgspec.to_builtins(x)` / `x.to_dict()` gives JSON-ready data. Every row has a stable `key`
(the TUI diffs rows by it). Units: CPU in millicores (`*_m`), memory in bytes, GPUs as counts,
actual CPU usage in cores (float), times as POSIX seconds. A metric-derived value is None when
its metrics area is unavailable; the view's `note` then says "unavailable: <reason>" (never 0).

Each view is an `XView` with `rows` (its main table) plus view-specific extras and a `note`.
Names here are a contract (the TUI and export code against them): add fields, never rename.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import msgspec


class _Model:
    __slots__ = ()

    def to_dict(self) -> dict:
        return msgspec.to_builtins(self)


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


class QuotaLevel(StrEnum):
    """As the kubernetes-mixin quota alerts: ratio Q = used / hard, hard == 0 excluded."""

    OK = "ok"  # Q <= 0.9
    ALMOST_FULL = "almost_full"  # 0.9 < Q < 1 (KubeQuotaAlmostFull)
    FULLY_USED = "fully_used"  # Q == 1 (KubeQuotaFullyUsed)
    EXCEEDED = "exceeded"  # Q > 1 (KubeQuotaExceeded)
    NO_LIMIT = "no_limit"  # hard == 0: excluded by the alerts' `> 0`


class HpaState(StrEnum):
    HEALTHY = "healthy"
    MAXED_OUT = "maxed_out"  # current == max and max != min (KubeHpaMaxedOut)
    PINNED_AT_MIN = "pinned_at_min"
    MISMATCH = "mismatch"  # desired != current for 15 min, min < current < max (KubeHpaReplicasMismatch)
    FLAPPING = "flapping"  # direction changes per hour above the threshold
    BLIND = "blind"  # a metric's current value missing, or ScalingActive False
    UNKNOWN = "unknown"  # desired != current but no history to tell for how long


# ---------------------------------------------------------------- quotas


@dataclass(frozen=True)
class QuotaRow(_Model):
    """One resource of one ResourceQuota."""

    key: str  # "ns/quota/resource"
    namespace: str
    quota: str
    resource: str  # raw quota key: requests.cpu, limits.memory, requests.nvidia.com/gpu, pods, ...
    unit: str  # "millicores" | "bytes" | "count"
    used: int
    hard: int
    ratio: float | None  # used / hard; None when hard == 0
    percent: float | None  # ratio * 100
    level: str  # QuotaLevel


@dataclass(frozen=True)
class NamespaceQuota(_Model):
    key: str  # namespace name
    namespace: str
    has_quota: bool
    quotas: tuple[str, ...]  # ResourceQuota names
    rows: tuple[QuotaRow, ...]
    level: str  # worst QuotaLevel over rows ("ok" with no quota)
    max_ratio: float | None  # highest ratio over rows
    prod: bool  # name ends in -prod or label env=prod
    pods: int  # non-terminated pods
    # requests / limits summed over non-terminated pods (what the quota counts)
    cpu_requested_m: int
    memory_requested: int
    gpu_requested: int
    cpu_limit_m: int
    memory_limit: int
    # actual usage (metrics "usage" area); None when unavailable
    cpu_used_cores: float | None = None
    memory_used: float | None = None
    cpu_idle_reserved_m: int | None = None  # requested - used (>= 0): reserved but idle
    memory_idle_reserved: int | None = None
    cpu_usage_ratio: float | None = None  # used / requested
    memory_usage_ratio: float | None = None
    gpus_allocated: int | None = None  # GPUs with a pod attributed (metrics "gpu" area)
    gpus_idle: int | None = None  # of those, idle (< 5 % for 30 min)


@dataclass(frozen=True)
class QuotaView(_Model):
    rows: tuple[NamespaceQuota, ...]  # sorted: worst level, then highest ratio, then name
    quota_rows: tuple[QuotaRow, ...]  # every quota resource row, flattened
    without_quota: tuple[str, ...]  # namespaces with no ResourceQuota
    note: str = ""  # "quotas unreadable (...)", "usage unavailable: <reason>", "gpu usage stale: <reason>"; "" if all fine


# ---------------------------------------------------------------- GPU nodes


@dataclass(frozen=True)
class GpuDeviceRow(_Model):
    key: str  # "node/gpu[/mig_profile/gi<GPU_I_ID>]/uuid", unique per MIG instance (gpus.device_key)
    node: str
    gpu: str
    uuid: str
    model: str
    mig_profile: str
    util: float | None
    fb_used_mib: float | None
    fb_total_mib: float | None
    mem_percent: float | None
    power_w: float | None
    temp_c: float | None
    xid: int
    namespace: str
    pod: str
    container: str
    allocated: bool
    idle: bool
    util_avg_30m: float | None
    util_history: tuple[float, ...] = ()


@dataclass(frozen=True)
class MigSliceRow(_Model):
    key: str  # "node/profile"
    profile: str  # e.g. nvidia.com/mig-1g.10gb
    allocatable: int
    requested: int
    free: int


@dataclass(frozen=True)
class GpuPodRef(_Model):
    key: str  # "ns/pod"
    namespace: str
    name: str
    gpus: int
    mig: tuple[tuple[str, int], ...]  # (profile, count)
    phase: str
    has_gpu_toleration: bool


@dataclass(frozen=True)
class GpuNodeRow(_Model):
    key: str  # node name
    node: str
    product: str
    zone: str
    instance_type: str
    allocatable: int
    requested: int  # by non-terminated pods
    free: int
    mig: tuple[MigSliceRow, ...]
    pods: tuple[GpuPodRef, ...]
    devices: tuple[GpuDeviceRow, ...]
    cordoned: bool
    taints: tuple[str, ...]  # "key=value:Effect"
    ready: str  # True | False | Unknown
    not_ready: bool
    status: str  # "Ready", "NotReady,SchedulingDisabled", ...
    util_avg: float | None = None  # mean over devices
    mem_percent_avg: float | None = None
    power_w: float | None = None  # sum over devices
    idle_gpus: int | None = None  # allocated-but-idle devices
    xid_gpus: int | None = None  # devices reporting an XID error


@dataclass(frozen=True)
class GpuTotalRow(_Model):
    key: str  # "product:<name>" | "zone:<name>" | "all"
    group: str  # product or zone name ("" when unlabelled)
    nodes: int
    allocatable: int
    requested: int
    free: int
    mig_allocatable: int
    mig_requested: int
    unavailable_nodes: int  # cordoned or NotReady
    idle_gpus: int | None = None
    util_avg: float | None = None


@dataclass(frozen=True)
class GpuView(_Model):
    rows: tuple[GpuNodeRow, ...]  # GPU nodes only (allocatable GPU or MIG > 0, or a GPU product label)
    by_product: tuple[GpuTotalRow, ...]
    by_zone: tuple[GpuTotalRow, ...]
    total: GpuTotalRow
    note: str = ""


# ---------------------------------------------------------------- HPAs


@dataclass(frozen=True)
class HpaMetricRow(_Model):
    key: str  # "ns/hpa/type/name[/container]"
    type: str
    name: str
    target_type: str  # Utilization | AverageValue | Value
    target: float
    current: float | None
    ratio: float | None  # current / target
    proposal: int | None  # replicas this metric alone asks for
    text: str  # "cpu 92% / 60%"


@dataclass(frozen=True)
class ConditionRow(_Model):
    type: str
    status: str
    reason: str
    message: str
    since: float


@dataclass(frozen=True)
class HpaRow(_Model):
    key: str  # "ns/name"
    namespace: str
    name: str
    target: str  # "Deployment/name"
    min_replicas: int
    max_replicas: int
    current: int
    desired: int  # as reported by the controller
    computed_desired: int | None  # our evaluation of the controller's formula; None if blind
    why: str  # one line: how computed_desired comes about
    state: str  # HpaState, the most pressing: blind, maxed_out, mismatch, flapping, unknown, pinned_at_min, healthy
    states: tuple[str, ...]  # every applicable HpaState
    metrics: tuple[HpaMetricRow, ...]
    conditions: tuple[ConditionRow, ...]
    history_times: tuple[float, ...] = ()
    history_current: tuple[float, ...] = ()
    history_desired: tuple[float, ...] = ()
    direction_changes_per_hour: float | None = None  # None without history
    mismatch_for_s: float | None = None  # how long desired != current (None: unknown)
    last_scale_time: float = 0.0


@dataclass(frozen=True)
class HpaView(_Model):
    rows: tuple[HpaRow, ...]
    note: str = ""  # about the history area


# ---------------------------------------------------------------- probes


@dataclass(frozen=True)
class ProbeRow(_Model):
    key: str  # "ns/pod/container"
    namespace: str
    pod: str
    container: str
    workload: str  # "Kind/name" of the top controller, "Pod/<name>" if none
    node: str
    probes: tuple[str, ...]  # configured: Liveness, Readiness, Startup
    failing: tuple[str, ...]  # probe types failing (metrics or events)
    failures_5m: float | None  # sum over probe types; None when metrics unavailable
    failure_rate_per_min: float | None
    restarts: int
    restarts_1h: float | None
    state: str  # running | waiting | terminated
    reason: str  # waiting/terminated reason
    crashloop: bool
    ready: bool
    last_term_reason: str
    last_term_exit_code: int | None
    last_event_reason: str  # Unhealthy | BackOff | ...
    last_event_message: str
    last_event_at: float
    since: float  # first sign of trouble (first failing event, else last termination), 0 if unknown


@dataclass(frozen=True)
class ProbeGroup(_Model):
    key: str  # "Kind/ns/name"
    kind: str
    namespace: str
    name: str
    rows: tuple[ProbeRow, ...]
    failing_containers: int
    crashlooping: int
    restarts: int


@dataclass(frozen=True)
class ProbeView(_Model):
    rows: tuple[ProbeGroup, ...]  # workloads with at least one troubled container, worst first
    containers: tuple[ProbeRow, ...]  # flattened
    note: str = ""


# ---------------------------------------------------------------- zones


@dataclass(frozen=True)
class ZoneSummary(_Model):
    key: str  # zone ("" when unlabelled)
    zone: str
    nodes: int
    ready_nodes: int
    schedulable_nodes: int  # Ready and not cordoned
    cordoned_nodes: int
    gpu_allocatable: int
    gpu_free: int
    cpu_allocatable_m: int
    cpu_free_m: int
    memory_allocatable: int
    memory_free: int
    pods: int


@dataclass(frozen=True)
class ZoneCount(_Model):
    zone: str
    ready: int


@dataclass(frozen=True)
class WorkloadZoneSpread(_Model):
    key: str  # "Kind/ns/name"
    kind: str
    namespace: str
    name: str
    replicas: int  # desired
    ready: int
    by_zone: tuple[ZoneCount, ...]  # ready replicas per zone (zones with nodes, 0 included)
    zones_used: int
    single_zone: bool  # >= 2 ready replicas, all in one zone
    skew: int  # max - min ready over the zones
    prod: bool
    spread_constraints: bool


@dataclass(frozen=True)
class ZoneLossImpact(_Model):
    key: str  # zone
    zone: str
    nodes_lost: int
    pods_displaced: int
    cpu_displaced_m: int
    memory_displaced: int
    gpu_displaced: int
    workloads_down: tuple[str, ...]  # "Kind/ns/name": lose every ready replica
    workloads_degraded: tuple[str, ...]  # lose some ready replicas
    fits: bool  # every displaced pod found room elsewhere
    unplaced_pods: int
    unplaced: tuple[str, ...]  # "ns/pod: reason", capped
    summary: str


@dataclass(frozen=True)
class ZoneView(_Model):
    rows: tuple[ZoneSummary, ...]
    workloads: tuple[WorkloadZoneSpread, ...]
    single_zone: tuple[str, ...]  # keys of single-zone workloads
    losses: tuple[ZoneLossImpact, ...]
    note: str = ""


# ---------------------------------------------------------------- why pending


@dataclass(frozen=True)
class PendingReason(_Model):
    reason: str  # scheduler wording, e.g. "Insufficient nvidia.com/gpu"
    nodes: int


@dataclass(frozen=True)
class PendingPod(_Model):
    key: str  # "ns/name"
    namespace: str
    name: str
    uid: str
    workload: str
    created: float
    pending_for_s: float
    cpu_m: int
    memory: int
    gpu: int
    mig: tuple[tuple[str, int], ...]
    wants_gpu: bool
    fitting_nodes: tuple[str, ...]  # capped list of nodes that would fit now
    fit_count: int
    reasons: tuple[PendingReason, ...]  # most common first
    summary: str  # "0/40 nodes are available: 3 Insufficient nvidia.com/gpu, ..."
    scheduler_message: str  # PodScheduled condition message, as reported


@dataclass(frozen=True)
class PendingView(_Model):
    rows: tuple[PendingPod, ...]
    note: str = ""


# ---------------------------------------------------------------- findings + overview


@dataclass(frozen=True)
class Finding(_Model):
    id: str  # KW-Q001, ... (analysis/findings.py REGISTRY; docs/FINDINGS.md)
    severity: str  # Severity
    kind: str  # object kind
    namespace: str
    name: str
    summary: str
    action: str
    alert: str = ""  # kubernetes-mixin alert with the same semantics, "" if none
    key: str = ""  # "id/kind/ns/name"
    impact: float = 0.0  # ranks findings of the same severity (higher first): the id's weight x magnitude
    view: str = ""  # quotas | gpus | hpas | probes | zones | pending | nodes | practices


@dataclass(frozen=True)
class Overview(_Model):
    context: str
    server: str
    version: str
    taken_at: float
    now: float
    metrics_source: str
    nodes: int
    ready_nodes: int
    not_ready_nodes: int
    cordoned_nodes: int
    namespaces: int
    pods: int
    running_pods: int
    pending_pods: int
    failed_pods: int
    gpu_nodes: int
    gpu_allocatable: int
    gpu_requested: int
    gpu_free: int
    gpu_idle: int | None
    gpu_util_avg: float | None
    quotas_over_90: int  # quota resources with Q > 0.9
    namespaces_without_quota: int
    hpas: int
    hpas_maxed_out: int
    hpas_blind: int
    crashlooping_containers: int
    pending_gpu_pods: int
    zones: int
    findings_critical: int
    findings_warning: int
    findings_info: int
    metrics_areas: tuple[tuple[str, str], ...] = ()  # (area, "ok" | "stale: ..." | "unavailable: ...")


@dataclass(frozen=True)
class Analysis(_Model):
    now: float
    overview: Overview
    quotas: QuotaView
    gpu_nodes: GpuView
    hpas: HpaView
    probes: ProbeView
    zones: ZoneView
    pending: PendingView
    findings: tuple[Finding, ...]  # ranked: severity, then impact, then id/object
