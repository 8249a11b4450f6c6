"""Named PromQL per view, each with a one-line description and the labels its result carries.

The expressions follow kube-state-metrics, dcgm-exporter, the kubelet and the kubernetes-mixin
(../shared/reference/metrics.md). They do not filter on `job` (kube-prometheus-stack scrapes
cAdvisor as job="kubelet", the mixin's own config as job="cadvisor"); the metric names are
unique to their exporter. CPU usage uses irate (the mixin's `…:sum_irate` form) so a fresh
Prometheus, and direct scraping with two samples, give the real number at once; rate over 5m
divides by the whole window and reads low for the first five minutes.

`AREA_QUERIES` is what one refresh issues (each query once); the rest serve views and the CLI.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    name: str
    view: str  # quotas | gpus | hpas | probes | zones | health
    promql: str
    description: str
    labels: tuple[str, ...]  # labels of each result series (besides instance/job where kept)
    range: bool = False  # a query_range (history), else instant


def _node(expr: str) -> str:
    return f'label_replace({expr}, "node", "$1", "Hostname", "(.*)")'


HPA_REPLICAS = ("kube_horizontalpodautoscaler_status_current_replicas|kube_horizontalpodautoscaler_status_desired_replicas"
                "|kube_horizontalpodautoscaler_spec_min_replicas|kube_horizontalpodautoscaler_spec_max_replicas")
GPU_LABELS = ("Hostname", "gpu", "UUID", "modelName", "GPU_I_PROFILE", "GPU_I_ID", "namespace", "pod", "container")

QUERIES: tuple[Query, ...] = (
    # --- quotas ------------------------------------------------------------------------------
    Query("quota", "quotas", "max by (namespace, resourcequota, resource, type) (kube_resourcequota)",
          "ResourceQuota hard and used per quota key (raw key, e.g. requests.nvidia.com/gpu)",
          ("namespace", "resourcequota", "resource", "type")),
    Query("quota_ratio", "quotas",
          'max by (namespace, resourcequota, resource) (kube_resourcequota{type="used"})'
          ' / on (namespace, resourcequota, resource) (max by (namespace, resourcequota, resource) (kube_resourcequota{type="hard"}) > 0)',
          "used / hard per quota key (mixin KubeQuota* ratio; >0.9 almost full, >1 exceeded)",
          ("namespace", "resourcequota", "resource")),
    Query("quota_gpu_ratio", "quotas",
          'max by (namespace, resourcequota) (kube_resourcequota{type="used", resource="requests.nvidia.com/gpu"})'
          ' / on (namespace, resourcequota) (max by (namespace, resourcequota) (kube_resourcequota{type="hard", resource="requests.nvidia.com/gpu"}) > 0)',
          "GPU quota used / hard per namespace", ("namespace", "resourcequota")),
    Query("namespace_requests_cpu", "quotas",
          'sum by (namespace) (sum by (namespace, pod) (max by (namespace, pod, container) (kube_pod_container_resource_requests{resource="cpu"})'
          ' * on (namespace, pod) group_left() max by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running"} == 1)))',
          "CPU cores requested by Pending/Running pods per namespace (= mixin namespace_cpu:kube_pod_container_resource_requests:sum)",
          ("namespace",)),
    Query("namespace_requests_memory", "quotas",
          'sum by (namespace) (sum by (namespace, pod) (max by (namespace, pod, container) (kube_pod_container_resource_requests{resource="memory"})'
          ' * on (namespace, pod) group_left() max by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running"} == 1)))',
          "memory bytes requested by Pending/Running pods per namespace", ("namespace",)),
    Query("container_cpu", "quotas",
          'sum by (namespace, pod, container) (irate(container_cpu_usage_seconds_total{container!="", image!=""}[5m]))',
          "actual CPU cores used per container (cAdvisor, irate)", ("namespace", "pod", "container")),
    Query("container_memory", "quotas",
          'max by (namespace, pod, container) (container_memory_working_set_bytes{container!="", image!=""})',
          "working-set bytes per container (cAdvisor)", ("namespace", "pod", "container")),
    Query("namespace_usage_cpu", "quotas",
          'sum by (namespace) (irate(container_cpu_usage_seconds_total{container!="", image!=""}[5m]))',
          "actual CPU cores used per namespace", ("namespace",)),
    Query("namespace_usage_memory", "quotas",
          'sum by (namespace) (container_memory_working_set_bytes{container!="", image!=""})',
          "working-set bytes per namespace", ("namespace",)),
    # --- GPUs --------------------------------------------------------------------------------
    Query("gpu_util", "gpus", "DCGM_FI_DEV_GPU_UTIL", "GPU utilisation % per whole GPU (MIG slices have none)", GPU_LABELS),
    Query("gpu_engine_active", "gpus", 'DCGM_FI_PROF_GR_ENGINE_ACTIVE{GPU_I_PROFILE!=""}',
          "graphics-engine activity 0-1 per MIG slice (their utilisation)", GPU_LABELS),
    Query("gpu_fb_used", "gpus", "DCGM_FI_DEV_FB_USED", "framebuffer MiB used per GPU or slice", GPU_LABELS),
    Query("gpu_fb_free", "gpus", "DCGM_FI_DEV_FB_FREE", "framebuffer MiB free per GPU or slice", GPU_LABELS),
    Query("gpu_power", "gpus", "DCGM_FI_DEV_POWER_USAGE", "power draw W per GPU", GPU_LABELS),
    Query("gpu_temp", "gpus", "DCGM_FI_DEV_GPU_TEMP", "GPU temperature °C", GPU_LABELS),
    Query("gpu_xid", "gpus", "DCGM_FI_DEV_XID_ERRORS > 0", "GPUs whose last XID error is non-zero (value = XID)",
          GPU_LABELS + ("err_code", "err_msg")),
    Query("gpu_util_avg_30m", "gpus",
          'avg_over_time(DCGM_FI_DEV_GPU_UTIL[30m]) or 100 * avg_over_time(DCGM_FI_PROF_GR_ENGINE_ACTIVE{GPU_I_PROFILE!=""}[30m])',
          "utilisation % averaged over 30 min per GPU or slice", GPU_LABELS),
    Query("gpu_util_coverage_30m", "gpus",
          "(time() - min_over_time(timestamp(DCGM_FI_DEV_GPU_UTIL)[30m:1m])) / 1800"
          ' or (time() - min_over_time(timestamp(DCGM_FI_PROF_GR_ENGINE_ACTIVE{GPU_I_PROFILE!=""})[30m:1m])) / 1800',
          "how much of the last 30 min the series covers (>= 1: all of it; a young Prometheus or a new pod reads less)",
          GPU_LABELS),
    Query("gpu_idle_allocated", "gpus", 'avg_over_time(DCGM_FI_DEV_GPU_UTIL{pod!=""}[30m]) < 5',
          "GPUs allocated to a pod but under 5% utilisation on average over 30 min", GPU_LABELS),
    Query("gpu_util_history", "gpus",
          'DCGM_FI_DEV_GPU_UTIL or 100 * DCGM_FI_PROF_GR_ENGINE_ACTIVE{GPU_I_PROFILE!=""}',
          "utilisation % over time per GPU or slice (sparklines)", GPU_LABELS, range=True),
    Query("node_gpu_util", "gpus", f"avg by (node) ({_node('DCGM_FI_DEV_GPU_UTIL')})",
          "mean GPU utilisation % per node (whole GPUs)", ("node",)),
    Query("node_gpu_fb_used_ratio", "gpus",
          f"sum by (node) ({_node('DCGM_FI_DEV_FB_USED')}) / (sum by (node) ({_node('DCGM_FI_DEV_FB_USED')}) + sum by (node) ({_node('DCGM_FI_DEV_FB_FREE')}))",
          "framebuffer used / total per node", ("node",)),
    Query("node_gpu_power", "gpus", f"sum by (node) (max by (node, gpu) ({_node('DCGM_FI_DEV_POWER_USAGE')}))",
          "power draw W per node (MIG slices counted once per physical GPU)", ("node",)),
    Query("node_gpu_allocated", "gpus",
          'sum by (node) (kube_pod_container_resource_requests{resource="nvidia_com_gpu", node!=""}'
          ' * on (namespace, pod) group_left() (max by (namespace, pod) (kube_pod_status_phase{phase="Running"}) == 1))',
          "nvidia.com/gpu requested by running pods per node", ("node",)),
    Query("node_gpu_allocatable", "gpus", 'sum by (node) (kube_node_status_allocatable{resource="nvidia_com_gpu"})',
          "allocatable nvidia.com/gpu per node", ("node",)),
    # --- HPAs --------------------------------------------------------------------------------
    Query("hpa_replicas_history", "hpas", f'max by (__name__, namespace, horizontalpodautoscaler) ({{__name__=~"{HPA_REPLICAS}"}})',
          "current/desired/min/max replicas per HPA over time (__name__ tells which)",
          ("__name__", "namespace", "horizontalpodautoscaler"), range=True),
    Query("hpa_metric_history", "hpas",
          'max by (__name__, namespace, horizontalpodautoscaler, metric_name, metric_target_type) '
          '({__name__=~"kube_horizontalpodautoscaler_(spec|status)_target_metric"})',
          "each HPA metric's current value (status_) against its target (spec_) over time",
          ("__name__", "namespace", "horizontalpodautoscaler", "metric_name", "metric_target_type"), range=True),
    Query("hpa_replicas", "hpas", f'max by (__name__, namespace, horizontalpodautoscaler) ({{__name__=~"{HPA_REPLICAS}"}})',
          "current/desired/min/max replicas per HPA now", ("__name__", "namespace", "horizontalpodautoscaler")),
    Query("hpa_conditions", "hpas", 'kube_horizontalpodautoscaler_status_condition{status="true"} == 1',
          "HPA conditions that are true (AbleToScale, ScalingActive, ScalingLimited); reasons come from the API",
          ("namespace", "horizontalpodautoscaler", "condition")),
    Query("hpa_maxed_out", "hpas",
          "(kube_horizontalpodautoscaler_status_current_replicas == kube_horizontalpodautoscaler_spec_max_replicas)"
          " and on (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas != kube_horizontalpodautoscaler_spec_min_replicas)",
          "HPAs running at maxReplicas (mixin KubeHpaMaxedOut, without its 15 m `for`)", ("namespace", "horizontalpodautoscaler")),
    Query("hpa_replicas_mismatch", "hpas",
          "(kube_horizontalpodautoscaler_status_desired_replicas != kube_horizontalpodautoscaler_status_current_replicas)"
          " and (kube_horizontalpodautoscaler_status_current_replicas > kube_horizontalpodautoscaler_spec_min_replicas)"
          " and (kube_horizontalpodautoscaler_status_current_replicas < kube_horizontalpodautoscaler_spec_max_replicas)"
          " and changes(kube_horizontalpodautoscaler_status_current_replicas[15m]) == 0",
          "HPAs whose desired != current and stuck (mixin KubeHpaReplicasMismatch, without `for`)",
          ("namespace", "horizontalpodautoscaler")),
    # --- probes and restarts -----------------------------------------------------------------
    Query("probe_failures_5m", "probes",
          'sum by (namespace, pod, container, probe_type) (increase(prober_probe_total{result="failed"}[5m]))',
          "failed probe runs in the last 5 min per container and probe type", ("namespace", "pod", "container", "probe_type")),
    Query("restarts_1h", "probes",
          "max by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total[1h]))",
          "container restarts in the last hour", ("namespace", "pod", "container")),
    Query("crashlooping", "probes",
          'max by (namespace, pod, container) (max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m])) >= 1',
          "containers in CrashLoopBackOff within the last 5 min (mixin KubePodCrashLooping)", ("namespace", "pod", "container")),
    # --- zones -------------------------------------------------------------------------------
    Query("zone_nodes", "zones", "count by (label_topology_kubernetes_io_zone) (kube_node_labels)",
          "nodes per zone (needs KSM's node label allowlist)", ("label_topology_kubernetes_io_zone",)),
    Query("zone_ready_nodes", "zones",
          'count by (label_topology_kubernetes_io_zone) (kube_node_labels * on (node) group_left() (kube_node_status_condition{condition="Ready", status="true"} == 1))',
          "Ready nodes per zone", ("label_topology_kubernetes_io_zone",)),
    Query("zone_pods", "zones",
          "count by (namespace, created_by_name, label_topology_kubernetes_io_zone) (max by (namespace, pod, node, created_by_name) (kube_pod_info{node!=\"\"})"
          " * on (node) group_left (label_topology_kubernetes_io_zone) max by (node, label_topology_kubernetes_io_zone) (kube_node_labels))",
          "scheduled pods per owner and zone", ("namespace", "created_by_name", "label_topology_kubernetes_io_zone")),
    # --- health ------------------------------------------------------------------------------
    Query("targets_up", "health", "up", "scrape health per target (1 = up)", ("job", "instance")),
)

BY_NAME: dict[str, Query] = {q.name: q for q in QUERIES}

# What one refresh issues, per MetricsSnapshot area (each query once per refresh).
AREA_QUERIES: dict[str, tuple[str, ...]] = {
    "gpu": ("gpu_util", "gpu_engine_active", "gpu_fb_used", "gpu_fb_free", "gpu_power", "gpu_temp", "gpu_xid",
            "gpu_util_avg_30m", "gpu_util_coverage_30m", "gpu_util_history"),
    "usage": ("container_cpu", "container_memory"),
    "probes": ("probe_failures_5m",),
    "restarts": ("restarts_1h", "crashlooping"),
    "hpa_history": ("hpa_replicas_history", "hpa_metric_history"),
    "quota": ("quota",),
    "ksm": (),  # health of kube-state-metrics itself, from targets_up
}
# Which exporter feeds each area (for `up` and for direct scraping).
AREA_EXPORTER: dict[str, str] = {"gpu": "dcgm", "usage": "cadvisor", "probes": "probes", "restarts": "kube-state-metrics",
                                 "hpa_history": "kube-state-metrics", "quota": "kube-state-metrics", "ksm": "kube-state-metrics"}


_METRIC = re.compile(r"(?:kube_|DCGM_|container_|prober_|namespace_|node_namespace_pod_container:)[A-Za-z0-9_:]*|up")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def scoped(promql: str, matchers: str) -> str:
    """`promql` with extra label matchers (e.g. 'cluster="prod-eu"') in every series selector, for a
    Thanos/Mimir/VictoriaMetrics holding many clusters. Knows the catalog's metric names; skips
    string literals, functions and label names."""
    if not matchers.strip():
        return promql
    out, i, n = [], 0, len(promql)
    while i < n:
        c = promql[i]
        if c in "\"'":  # a string literal: copied as is
            j = i + 1
            while j < n and promql[j] != c:
                j += 2 if promql[j] == "\\" else 1
            out.append(promql[i:j + 1])
            i = j + 1
            continue
        if c == "{":  # a selector without a metric name, e.g. {__name__=~"..."}
            out.append("{" + matchers + ("," if promql[i + 1:i + 2] != "}" else ""))
            i += 1
            continue
        m = _IDENT.match(promql, i)
        if m is None or (i and (promql[i - 1].isalnum() or promql[i - 1] in "_:")):
            out.append(c)
            i += 1
            continue
        word, j = m.group(), m.end()
        rest = promql[j:].lstrip()
        if _METRIC.fullmatch(word) and not rest.startswith("("):
            if promql[j:j + 1] == "{":
                out.append(word + "{" + matchers + ("," if promql[j + 1:j + 2] != "}" else ""))
                j += 1
            else:
                out.append(word + "{" + matchers + "}")
        else:
            out.append(word)
        i = j
    return "".join(out)


def job_exporters(job: str) -> set[str]:
    """Which exporters a Prometheus job name scrapes, by the usual names (kube-prometheus-stack
    scrapes cAdvisor and the prober under one job "kubelet")."""
    j = job.lower()
    if "dcgm" in j:
        return {"dcgm"}
    if "kube-state-metrics" in j or "ksm" in j:
        return {"kube-state-metrics"}
    if "cadvisor" in j:
        return {"cadvisor"}
    if "kubelet" in j:
        return {"probes", "cadvisor"}
    return set()
