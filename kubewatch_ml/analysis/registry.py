"""The one table of triage finding ids: severity, view, condition, action and the kubernetes-mixin
alert with the same semantics. docs/FINDINGS.md is rendered from it
(`python -m kubewatch_ml.analysis.registry > docs/FINDINGS.md`; a test keeps the two in sync)."""
from __future__ import annotations

from dataclasses import dataclass

from .models import Severity

RESERVED_IDLE_RATIO = 0.2  # a namespace using less than this share of its CPU requests wastes them
RESERVED_IDLE_MIN_M = 4000  # ... and only when at least 4 cores are reserved


@dataclass(frozen=True)
class FindingDef:
    id: str
    severity: Severity
    view: str
    title: str
    action: str
    alert: str = ""
    prod_severity: Severity | None = None  # raised severity in prod namespaces
    detail: str = ""  # the exact condition, for docs/FINDINGS.md
    weight: float = 1.0  # impact = weight x the finding's own magnitude (replicas, GPUs, restarts, ...)


S = Severity
REGISTRY: tuple[FindingDef, ...] = (
    FindingDef("KW-Q001", S.INFO, "quotas", "Namespace without a ResourceQuota",
               "Add a ResourceQuota (requests.cpu, requests.memory, requests.nvidia.com/gpu)", "", S.WARNING,
               "namespace with pods and no ResourceQuota (system namespaces excluded)", weight=0.5),
    FindingDef("KW-Q002", S.INFO, "quotas", "Quota almost full", "Raise the quota or free reserved resources",
               "KubeQuotaAlmostFull", None, "0.9 < used/hard < 1, hard > 0, per quota and resource", weight=2),
    FindingDef("KW-Q003", S.INFO, "quotas", "Quota fully used", "Raise the quota or free reserved resources",
               "KubeQuotaFullyUsed", None, "used/hard == 1, hard > 0, per quota and resource", weight=3),
    FindingDef("KW-Q004", S.WARNING, "quotas", "Quota exceeded", "Lower usage below the quota or raise it; new pods are refused",
               "KubeQuotaExceeded", None, "used/hard > 1, hard > 0, per quota and resource", weight=8),
    FindingDef("KW-Q005", S.INFO, "quotas", "CPU reserved but idle",
               "Lower CPU requests towards actual usage (or use VPA recommendations)", "", None,
               f"namespace CPU usage < {RESERVED_IDLE_RATIO:.0%} of its requests, requests >= {RESERVED_IDLE_MIN_M // 1000} cores (needs usage metrics)", weight=0.5),
    FindingDef("KW-G001", S.WARNING, "gpus", "Allocated GPU idle",
               "Reclaim the GPU: scale the holder down or move it to a smaller MIG slice", "", None,
               "GPU held by a pod with < 5 % utilisation averaged over 30 min (needs DCGM metrics)", weight=3),
    FindingDef("KW-G002", S.CRITICAL, "gpus", "GPU reports an XID error",
               "Drain the node and check the GPU (nvidia-smi -q, dmesg); file a hardware ticket if it repeats", "", None,
               "DCGM_FI_DEV_XID_ERRORS > 0", weight=10),
    FindingDef("KW-G003", S.WARNING, "gpus", "GPU pod without the GPU toleration",
               "Add the toleration nvidia.com/gpu (Exists, NoSchedule) or enable ExtendedResourceToleration", "", None,
               "a workload template (or bare pod) requests GPUs but does not tolerate the nvidia.com/gpu taint(s) the nodes carry", weight=2),
    FindingDef("KW-G005", S.WARNING, "gpus", "GPU node advertises no GPUs",
               "Check the NVIDIA device plugin / GPU operator pods on the node (kubectl describe node)", "", None,
               "node labelled with a GPU product (GFD) whose allocatable nvidia.com/gpu and MIG resources are all 0",
               weight=4),
    FindingDef("KW-G004", S.WARNING, "pending", "Pod pending for GPUs",
               "See why-pending: free GPUs, taints, selectors; cordoned or NotReady GPU nodes", "", S.CRITICAL,
               "Pending, unscheduled pod requesting nvidia.com/gpu or MIG slices", weight=10),
    FindingDef("KW-S001", S.WARNING, "pending", "Pod cannot be scheduled",
               "See why-pending: add capacity, fix selectors/tolerations, or lower requests", "", None,
               "Pending, unscheduled pod (no GPU) that no node fits now", weight=3),
    FindingDef("KW-H001", S.WARNING, "hpas", "HPA maxed out", "Raise maxReplicas or add capacity; check the metric",
               "KubeHpaMaxedOut", None, "current replicas == max replicas and max != min", weight=5),
    FindingDef("KW-H002", S.WARNING, "hpas", "HPA replicas mismatch",
               "Check why the target cannot reach the desired replicas (quota, pending pods, PDB)",
               "KubeHpaReplicasMismatch", None,
               "desired != current, min < current < max, current unchanged for 15 min (needs HPA history)", weight=4),
    FindingDef("KW-H003", S.WARNING, "hpas", "HPA blind (metric unavailable)",
               "Fix the metrics pipeline (metrics-server / adapter) for the missing metric", "", None,
               "a metric's current value is missing or ScalingActive is False", weight=5),
    FindingDef("KW-H004", S.WARNING, "hpas", "HPA flapping",
               "Add a scaleDown stabilization window or widen the target", "", None,
               "more than 3 replica direction changes per hour (needs HPA history)", weight=4),
    FindingDef("KW-P001", S.WARNING, "probes", "Container crash looping",
               "Read the last logs (kubectl logs --previous) and the termination reason",
               "KubePodCrashLooping", S.CRITICAL, "container waiting with reason CrashLoopBackOff", weight=10),
    FindingDef("KW-P002", S.WARNING, "probes", "Container failing probes",
               "Check the probe endpoint, timeouts and startup time", "", None,
               "probe failures in the last 5 min, or Unhealthy events", weight=3),
    FindingDef("KW-P003", S.WARNING, "probes", "Container OOMKilled", "Raise the memory limit or fix the leak", "", None,
               "last termination reason OOMKilled", weight=3),
    FindingDef("KW-C001", S.WARNING, "practices", "Container without resource requests",
               "Set cpu and memory requests so the scheduler and quotas can account for it", "", None,
               "a workload container with no cpu or no memory request that no LimitRange defaults", weight=0.3),
    FindingDef("KW-C002", S.INFO, "practices", "Container without a memory limit",
               "Set a memory limit to contain leaks", "", None, "a workload container with no memory limit that no LimitRange defaults", weight=0.1),
    FindingDef("KW-C003", S.INFO, "practices", "Container without probes",
               "Add a readiness probe (and a liveness probe where a restart helps)", "", S.WARNING,
               "a long-running workload container with neither liveness nor readiness probe", weight=0.2),
    FindingDef("KW-C004", S.WARNING, "practices", "Image tag :latest or untagged",
               "Pin the image to a version tag or digest", "", None, "image without a tag, or tagged :latest, and no digest", weight=0.2),
    FindingDef("KW-W001", S.WARNING, "zones", "Prod workload with one replica",
               "Run at least 2 replicas (3 across zones)", "", None, "prod Deployment/StatefulSet with spec.replicas <= 1", weight=3),
    FindingDef("KW-W002", S.WARNING, "zones", "Prod workload in a single zone",
               "Add a topologySpreadConstraint on topology.kubernetes.io/zone", "", None,
               "prod workload with >= 2 ready replicas, all in one zone", weight=3),
    FindingDef("KW-W003", S.WARNING, "practices", "Prod workload without a PodDisruptionBudget",
               "Add a PodDisruptionBudget so drains keep it available", "", None,
               "prod Deployment/StatefulSet with > 1 replica that no PDB selects", weight=0.5),
    FindingDef("KW-W004", S.INFO, "practices", "Namespace without a NetworkPolicy",
               "Add a default-deny NetworkPolicy and allow what is needed", "", None,
               "namespace with pods and no NetworkPolicy", weight=0.1),
    FindingDef("KW-Z001", S.WARNING, "zones", "Zone loss would take workloads down",
               "Spread those workloads over zones; keep spare capacity for a zone's pods", "", None,
               "losing the zone leaves a workload without ready replicas, or its pods without room elsewhere", weight=2),
    FindingDef("KW-N001", S.WARNING, "nodes", "Node not ready", "Check the kubelet and the node's conditions; drain if it stays",
               "KubeNodeNotReady", None, "Ready condition not True and node not unschedulable", weight=8),
    FindingDef("KW-N002", S.INFO, "nodes", "Node cordoned", "Uncordon when maintenance is over", "", None,
               "spec.unschedulable", weight=1),
)
BY_ID = {d.id: d for d in REGISTRY}


def render_findings_doc() -> str:
    lines = [
        "# Triage findings",
        "",
        "Generated from `kubewatch_ml/analysis/registry.py` (REGISTRY) by",
        "`python -m kubewatch_ml.analysis.registry > docs/FINDINGS.md`; a test keeps them in sync.",
        "Findings are ranked by severity (critical, warning, info), then impact (the id's weight times the",
        "finding's magnitude: replicas, GPUs, restarts, quota ratio, ...). Where a kubernetes-mixin",
        "alert exists, the finding fires on exactly the objects that alert's expression selects.",
        "",
        "| id | severity | view | finding | condition | suggested action | kubernetes-mixin alert |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in REGISTRY:
        sev = d.severity.value + (f" ({d.prod_severity.value} in prod)" if d.prod_severity else "")
        lines.append(f"| {d.id} | {sev} | {d.view} | {d.title} | {d.detail} | {d.action} | {d.alert or '-'} |")
    lines += ["", "\"prod\" means a namespace whose name ends in `-prod` or that is labelled `env=prod`.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_findings_doc(), end="")
