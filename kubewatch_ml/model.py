"""Slim records, one per Kubernetes kind, holding only what the views need.

Quantities are parsed once, at decode time: CPU in millicores, memory in bytes, GPUs and other
extended resources as integer counts. Timestamps are POSIX seconds (float), 0.0 when absent.
Records are immutable and hold no cycles (gc=False): 150,000 pods must not cost the cyclic GC.
This module is the contract between sources/ (which fill records), store.py (which indexes them),
analysis/ (which reads them) and export/ (which writes them). Add fields at the end with defaults.
"""
from __future__ import annotations

import msgspec

GPU_RESOURCE = "nvidia.com/gpu"
MIG_PREFIX = "nvidia.com/mig-"
ZONE_LABEL = "topology.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"


class Resources(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A resource list in canonical units. `extended` holds every other resource name -> count
    (MIG slices like nvidia.com/mig-1g.10gb, hugepages, ephemeral-storage bytes)."""

    cpu_m: int = 0
    memory: int = 0
    gpu: int = 0
    pods: int = 0
    extended: dict[str, int] | None = None

    def mig(self) -> dict[str, int]:
        return {k: v for k, v in (self.extended or {}).items() if k.startswith(MIG_PREFIX)}


class Taint(msgspec.Struct, frozen=True, gc=False):
    key: str
    value: str = ""
    effect: str = "NoSchedule"  # NoSchedule | PreferNoSchedule | NoExecute


class Toleration(msgspec.Struct, frozen=True, gc=False):
    key: str = ""  # "" with operator Exists tolerates everything
    operator: str = "Equal"  # Equal | Exists
    value: str = ""
    effect: str = ""  # "" matches every effect


class Requirement(msgspec.Struct, frozen=True, gc=False):
    """A label-selector / node-selector requirement."""

    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: tuple[str, ...] = ()


class LabelSelector(msgspec.Struct, frozen=True, gc=False):
    match_labels: dict[str, str] | None = None
    match_expressions: tuple[Requirement, ...] = ()


class Condition(msgspec.Struct, frozen=True, gc=False):
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""
    last_transition: float = 0.0


class OwnerRef(msgspec.Struct, frozen=True, gc=False):
    kind: str
    name: str
    uid: str = ""
    controller: bool = False


class Node(msgspec.Struct, frozen=True, gc=False):
    name: str
    uid: str
    labels: dict[str, str]
    created: float = 0.0
    resource_version: str = ""
    unschedulable: bool = False
    taints: tuple[Taint, ...] = ()
    capacity: Resources = Resources()
    allocatable: Resources = Resources()
    conditions: tuple[Condition, ...] = ()
    ready: str = "Unknown"  # status of the Ready condition: True | False | Unknown
    kubelet_version: str = ""
    internal_ip: str = ""
    annotations: dict[str, str] | None = None

    @property
    def zone(self) -> str:
        return self.labels.get(ZONE_LABEL, "")

    @property
    def gpu_product(self) -> str:
        return self.labels.get(GPU_PRODUCT_LABEL, "")


class ContainerSpec(msgspec.Struct, frozen=True, gc=False):
    name: str
    image: str = ""
    requests: Resources = Resources()
    limits: Resources = Resources()
    liveness: bool = False
    readiness: bool = False
    startup: bool = False
    init: bool = False  # an init container (not a sidecar)


class ContainerStatus(msgspec.Struct, frozen=True, gc=False):
    name: str
    ready: bool = False
    started: bool = False
    restart_count: int = 0
    state: str = "waiting"  # running | waiting | terminated
    reason: str = ""  # waiting/terminated reason, e.g. CrashLoopBackOff, ContainerCreating
    message: str = ""
    started_at: float = 0.0  # running.startedAt
    last_term_reason: str = ""  # lastState.terminated.reason, e.g. OOMKilled, Error
    last_term_exit_code: int | None = None
    last_term_finished_at: float = 0.0


class Pod(msgspec.Struct, frozen=True, gc=False):
    uid: str
    name: str
    namespace: str
    labels: dict[str, str] | None = None
    created: float = 0.0
    resource_version: str = ""
    owner: OwnerRef | None = None  # the controller owner reference
    node_name: str = ""
    phase: str = "Pending"
    deleting: bool = False  # metadata.deletionTimestamp set
    is_mirror: bool = False  # static pod mirror (kubernetes.io/config.mirror annotation)
    priority_class: str = ""
    start_time: float = 0.0
    containers: tuple[ContainerSpec, ...] = ()
    statuses: tuple[ContainerStatus, ...] = ()
    requests: Resources = Resources()  # effective: max(sum(containers), max(init containers))
    limits: Resources = Resources()
    node_selector: dict[str, str] | None = None
    tolerations: tuple[Toleration, ...] = ()
    # required node affinity: OR of terms, each an AND of requirements
    affinity_terms: tuple[tuple[Requirement, ...], ...] = ()
    has_anti_affinity: bool = False
    has_spread_constraints: bool = False
    conditions: tuple[Condition, ...] = ()  # PodScheduled (reason Unschedulable), Ready, ...
    annotations: dict[str, str] | None = None

    @property
    def terminated(self) -> bool:
        return self.phase in ("Succeeded", "Failed")

    @property
    def ready(self) -> bool:
        return any(c.type == "Ready" and c.status == "True" for c in self.conditions)


class Namespace(msgspec.Struct, frozen=True, gc=False):
    name: str
    uid: str
    labels: dict[str, str] | None = None
    created: float = 0.0
    resource_version: str = ""
    phase: str = "Active"


class ResourceQuota(msgspec.Struct, frozen=True, gc=False):
    """hard/used keyed by the raw quota key (requests.cpu, limits.memory, requests.nvidia.com/gpu,
    pods, count/...): cpu-like keys in millicores, memory-like keys in bytes, others as counts."""

    uid: str
    name: str
    namespace: str
    created: float = 0.0
    resource_version: str = ""
    hard: dict[str, int] = {}
    used: dict[str, int] = {}


class LimitRangeItem(msgspec.Struct, frozen=True, gc=False):
    type: str  # Container | Pod | PersistentVolumeClaim
    default: Resources | None = None
    default_request: Resources | None = None
    max: Resources | None = None
    min: Resources | None = None


class LimitRange(msgspec.Struct, frozen=True, gc=False):
    uid: str
    name: str
    namespace: str
    created: float = 0.0
    resource_version: str = ""
    limits: tuple[LimitRangeItem, ...] = ()


class ScalingPolicy(msgspec.Struct, frozen=True, gc=False):
    type: str  # Pods | Percent
    value: int
    period_seconds: int


class ScalingRules(msgspec.Struct, frozen=True, gc=False):
    stabilization_window_seconds: int | None = None
    select_policy: str | None = None  # Max | Min | Disabled
    policies: tuple[ScalingPolicy, ...] = ()


class HpaMetric(msgspec.Struct, frozen=True, gc=False):
    """One spec metric with its current status value.
    type: Resource | ContainerResource | Pods | Object | External; name: cpu/memory or the metric name;
    target_type: Utilization (target/current in %) | AverageValue | Value (canonical units:
    millicores for cpu, bytes for memory, plain float otherwise)."""

    type: str
    name: str
    target_type: str
    target: float
    current: float | None = None  # None: the metric is missing from status (blind)
    container: str = ""


class Hpa(msgspec.Struct, frozen=True, gc=False):
    uid: str
    name: str
    namespace: str
    created: float = 0.0
    resource_version: str = ""
    target_kind: str = ""
    target_name: str = ""
    target_api_version: str = ""
    min_replicas: int = 1
    max_replicas: int = 1
    current_replicas: int = 0
    desired_replicas: int = 0
    metrics: tuple[HpaMetric, ...] = ()
    conditions: tuple[Condition, ...] = ()
    last_scale_time: float = 0.0
    scale_up: ScalingRules | None = None
    scale_down: ScalingRules | None = None
    labels: dict[str, str] | None = None


class Workload(msgspec.Struct, frozen=True, gc=False):
    """Deployment, StatefulSet, ReplicaSet, DaemonSet or Job (`kind` says which)."""

    kind: str
    uid: str
    name: str
    namespace: str
    labels: dict[str, str] | None = None
    created: float = 0.0
    resource_version: str = ""
    owner: OwnerRef | None = None
    selector: LabelSelector | None = None
    replicas: int = 0  # spec.replicas (DaemonSet: desiredNumberScheduled; Job: parallelism)
    ready_replicas: int = 0
    available_replicas: int = 0
    updated_replicas: int = 0
    # the pod template, for findings and scheduling what-ifs
    template_labels: dict[str, str] | None = None
    containers: tuple[ContainerSpec, ...] = ()
    node_selector: dict[str, str] | None = None
    tolerations: tuple[Toleration, ...] = ()
    # Job only
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    completions: int | None = None
    annotations: dict[str, str] | None = None


class Event(msgspec.Struct, frozen=True, gc=False):
    uid: str
    name: str
    namespace: str
    involved_kind: str = ""
    involved_name: str = ""
    involved_namespace: str = ""
    involved_uid: str = ""
    field_path: str = ""  # e.g. spec.containers{server}
    reason: str = ""
    message: str = ""
    type: str = "Normal"  # Normal | Warning
    count: int = 1
    first_seen: float = 0.0
    last_seen: float = 0.0
    source: str = ""  # reporting component, e.g. kubelet
    resource_version: str = ""


class PodDisruptionBudget(msgspec.Struct, frozen=True, gc=False):
    uid: str
    name: str
    namespace: str
    selector: LabelSelector | None = None
    min_available: str | None = None  # int or percentage, as written
    max_unavailable: str | None = None
    current_healthy: int = 0
    desired_healthy: int = 0
    disruptions_allowed: int = 0
    expected_pods: int = 0
    created: float = 0.0
    resource_version: str = ""


class NetworkPolicy(msgspec.Struct, frozen=True, gc=False):
    uid: str
    name: str
    namespace: str
    pod_selector: LabelSelector | None = None
    policy_types: tuple[str, ...] = ()
    created: float = 0.0
    resource_version: str = ""


class Service(msgspec.Struct, frozen=True, gc=False):
    uid: str
    name: str
    namespace: str
    labels: dict[str, str] | None = None
    selector: dict[str, str] | None = None
    ports: tuple[int, ...] = ()
    cluster_ip: str = ""
    created: float = 0.0
    resource_version: str = ""


# The kinds the product reads, by the plural resource name used in the API path.
# Never "secrets": the tool does not request Secrets.
RECORD_KINDS: dict[str, type] = {
    "nodes": Node,
    "pods": Pod,
    "namespaces": Namespace,
    "resourcequotas": ResourceQuota,
    "limitranges": LimitRange,
    "horizontalpodautoscalers": Hpa,
    "deployments": Workload,
    "statefulsets": Workload,
    "replicasets": Workload,
    "daemonsets": Workload,
    "jobs": Workload,
    "events": Event,
    "poddisruptionbudgets": PodDisruptionBudget,
    "networkpolicies": NetworkPolicy,
    "services": Service,
}
