"""msgspec Structs that mirror the Kubernetes API JSON, only the fields the records need.

Unknown fields are skipped by the decoder (they are never materialised), `gc=False` keeps these
short-lived objects out of the cyclic GC. decode.py turns them into the records of model.py.
"""
from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar, Union

import msgspec

Qty = Union[str, int, float]  # quantities are strings on the wire; be lenient about numbers
ResList = dict[str, Qty]
NORAW = msgspec.Raw(b"")  # an absent raw field (msgspec.Raw cannot be Optional)


class S(msgspec.Struct, rename="camel", gc=False):
    """Base: camelCase JSON names, not tracked by the GC."""


class Key(S, frozen=True):
    """A wire value that is also a cache key: hashed and compared field by field in C."""


class OwnerReference(S):
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool = False


class ObjectMeta(S):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None
    labels: msgspec.Raw = NORAW  # dict[str, str]; shared between identical maps (decode.labels)
    annotations: dict[str, str] | None = None
    owner_references: msgspec.Raw = NORAW  # list[OwnerReference]; pods of one controller carry equal bytes


class Condition(Key):
    type: str = ""
    status: str = "Unknown"
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None


class LabelSelectorRequirement(S):
    key: str = ""
    operator: str = ""
    values: list[str] | None = None


class LabelSelector(S):
    match_labels: dict[str, str] | None = None
    match_expressions: list[LabelSelectorRequirement] | None = None


class Taint(S):
    key: str = ""
    value: str = ""
    effect: str = "NoSchedule"


class Toleration(S):
    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""


class ResourceRequirements(S):
    requests: ResList | None = None
    limits: ResList | None = None


class Container(S):
    name: str = ""
    image: str = ""
    resources: ResourceRequirements | None = None
    liveness_probe: dict | None = None
    readiness_probe: dict | None = None
    startup_probe: dict | None = None
    restart_policy: str = ""  # "Always" on an init container = native sidecar


class NodeSelectorTerm(S):
    match_expressions: list[LabelSelectorRequirement] | None = None
    match_fields: list[LabelSelectorRequirement] | None = None


class NodeSelector(S):
    node_selector_terms: list[NodeSelectorTerm] | None = None


class NodeAffinity(S):
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None


class Affinity(S):
    node_affinity: NodeAffinity | None = None
    pod_anti_affinity: dict | None = None


class PodSpec(S):
    """Template-derived parts stay raw JSON: pods of one template carry identical bytes there, so
    decode.py converts each distinct byte string once and shares the result."""

    node_name: str = ""
    containers: msgspec.Raw = NORAW  # list[Container]
    init_containers: msgspec.Raw = NORAW  # list[Container]
    priority_class_name: str = ""
    node_selector: msgspec.Raw = NORAW  # dict[str, str]
    tolerations: msgspec.Raw = NORAW  # list[Toleration]
    affinity: msgspec.Raw = NORAW  # Affinity
    topology_spread_constraints: msgspec.Raw = NORAW


class StateRunning(Key):
    started_at: datetime | None = None


class StateWaiting(Key):
    reason: str = ""
    message: str = ""


class StateTerminated(Key):
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    finished_at: datetime | None = None


class ContainerState(Key):
    running: StateRunning | None = None
    waiting: StateWaiting | None = None
    terminated: StateTerminated | None = None


class ContainerStatus(Key):
    name: str = ""
    ready: bool = False
    started: bool | None = None
    restart_count: int = 0
    state: ContainerState | None = None
    last_state: ContainerState | None = None


class PodStatus(S):
    phase: str = "Pending"
    start_time: datetime | None = None
    conditions: list[Condition] | None = None
    container_statuses: list[ContainerStatus] | None = None


class Pod(S):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: PodSpec = msgspec.field(default_factory=PodSpec)
    status: PodStatus = msgspec.field(default_factory=PodStatus)


class NodeSpec(S):
    unschedulable: bool = False
    taints: list[Taint] | None = None


class NodeAddress(S):
    type: str = ""
    address: str = ""


class NodeSystemInfo(S):
    kubelet_version: str = ""


class NodeStatus(S):
    capacity: ResList | None = None
    allocatable: ResList | None = None
    conditions: list[Condition] | None = None
    node_info: NodeSystemInfo | None = None
    addresses: list[NodeAddress] | None = None


class Node(S):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: NodeSpec = msgspec.field(default_factory=NodeSpec)
    status: NodeStatus = msgspec.field(default_factory=NodeStatus)


class NamespaceStatus(S):
    phase: str = "Active"


class Namespace(S):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    status: NamespaceStatus = msgspec.field(default_factory=NamespaceStatus)


class QuotaSpec(S):
    hard: ResList | None = None


class QuotaStatus(S):
    hard: ResList | None = None
    used: ResList | None = None


class ResourceQuota(S):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: QuotaSpec = msgspec.field(default_factory=QuotaSpec)
    status: QuotaStatus = msgspec.field(default_factory=QuotaStatus)


class LimitRangeItem(S):
    type: str = ""
    default: ResList | None = None
    default_request: ResList | None = None
    max: ResList | None = None
    min: ResList | None = None


class LimitRangeSpec(S):
    limits: list[LimitRangeItem] | None = None


class LimitRange(S):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: LimitRangeSpec = msgspec.field(default_factory=LimitRangeSpec)


# --- autoscaling/v2 HorizontalPodAutoscaler ---


class MetricIdentifier(S):
    name: str = ""


class MetricTarget(S):
    type: str = ""
    value: Qty | None = None
    average_value: Qty | None = None
    average_utilization: int | None = None


class MetricValueStatus(S):
    value: Qty | None = None
    average_value: Qty | None = None
    average_utilization: int | None = None


class ResourceMetric(S):
    name: str = ""
    container: str = ""
    target: MetricTarget | None = None
    current: MetricValueStatus | None = None


class NamedMetric(S):
    """Pods / Object / External metric source (spec has target, status has current)."""

    metric: MetricIdentifier | None = None
    target: MetricTarget | None = None
    current: MetricValueStatus | None = None


class MetricSpec(S):
    type: str = ""
    resource: ResourceMetric | None = None
    container_resource: ResourceMetric | None = None
    pods: NamedMetric | None = None
    object: NamedMetric | None = None
    external: NamedMetric | None = None


class ScalingPolicy(S):
    type: str = ""
    value: int = 0
    period_seconds: int = 0


class ScalingRules(S):
    stabilization_window_seconds: int | None = None
    select_policy: str | None = None
    policies: list[ScalingPolicy] | None = None


class HpaBehavior(S):
    scale_up: ScalingRules | None = None
    scale_down: ScalingRules | None = None


class CrossVersionObjectReference(S):
    kind: str = ""
    name: str = ""
    api_version: str = ""


class HpaSpec(S):
    scale_target_ref: CrossVersionObjectReference | None = None
    min_replicas: int | None = None
    max_replicas: int = 1
    metrics: list[MetricSpec] | None = None
    behavior: HpaBehavior | None = None


class HpaStatus(S):
    current_replicas: int = 0
    desired_replicas: int = 0
    current_metrics: list[MetricSpec] | None = None
    conditions: list[Condition] | None = None
    last_scale_time: datetime | None = None


class Hpa(S):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: HpaSpec = msgspec.field(default_factory=HpaSpec)
    status: HpaStatus = msgspec.field(default_factory=HpaStatus)


# --- workloads (apps/v1, batch/v1) ---


class TemplateMeta(S):
    labels: dict[str, str] | None = None


class PodTemplate(S):
    metadata: TemplateMeta | None = None
    spec: PodSpec | None = None


class WorkloadSpec(S):
    replicas: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplate | None = None
    parallelism: int | None = None  # Job
    completions: int | None = None  # Job


class WorkloadStatus(S):
    replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    updated_replicas: int = 0
    # DaemonSet
    desired_number_scheduled: int = 0
    number_ready: int = 0
    number_available: int = 0
    updated_number_scheduled: int = 0
    # Job
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    ready: int | None = None


class Workload(S):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: WorkloadSpec = msgspec.field(default_factory=WorkloadSpec)
    status: WorkloadStatus = msgspec.field(default_factory=WorkloadStatus)


# --- events, PDBs, network policies, services ---


class ObjectReference(S):
    kind: str = ""
    name: str = ""
    namespace: str = ""
    uid: str = ""
    field_path: str = ""


class EventSource(S):
    component: str = ""


class EventSeries(S):
    count: int = 0
    last_observed_time: datetime | None = None


class Event(S):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    involved_object: ObjectReference = msgspec.field(default_factory=ObjectReference)
    reason: str = ""
    message: str = ""
    type: str = "Normal"
    count: int | None = None
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    event_time: datetime | None = None
    series: EventSeries | None = None
    source: EventSource | None = None
    reporting_component: str = ""


class PdbSpec(S):
    selector: LabelSelector | None = None
    min_available: int | str | None = None
    max_unavailable: int | str | None = None


class PdbStatus(S):
    current_healthy: int = 0
    desired_healthy: int = 0
    disruptions_allowed: int = 0
    expected_pods: int = 0


class PodDisruptionBudget(S):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: PdbSpec = msgspec.field(default_factory=PdbSpec)
    status: PdbStatus = msgspec.field(default_factory=PdbStatus)


class NetworkPolicySpec(S):
    pod_selector: LabelSelector | None = None
    policy_types: list[str] | None = None


class NetworkPolicy(S):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: NetworkPolicySpec = msgspec.field(default_factory=NetworkPolicySpec)


class ServicePort(S):
    port: int = 0


class ServiceSpec(S):
    selector: dict[str, str] | None = None
    ports: list[ServicePort] | None = None
    cluster_ip: str = msgspec.field(default="", name="clusterIP")


class Service(S):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: ServiceSpec = msgspec.field(default_factory=ServiceSpec)


# --- envelopes ---

T = TypeVar("T")


class ListMeta(S):
    resource_version: str = ""
    # "continue" is a Python keyword
    continue_: str = msgspec.field(default="", name="continue")
    remaining_item_count: int | None = None


class ObjectList(S, Generic[T]):
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)
    items: list[T] | None = None


class WatchEvent(S):
    type: str = ""
    object: msgspec.Raw = msgspec.Raw(b"null")


class Status(S):
    """metav1.Status, the body of API errors and of watch ERROR events."""

    kind: str = ""
    status: str = ""
    message: str = ""
    reason: str = ""
    code: int = 0


class BookmarkObject(S):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
