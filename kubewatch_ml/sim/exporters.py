"""The simulated cluster's exporters over HTTP: kube-state-metrics, dcgm-exporter and the kubelet
(/metrics/probes, /metrics/cadvisor), in text format 0.0.4 with the real names, labels and units
(../shared/reference/metrics.md).

KSM renders from the ObjectStore's JSON objects; per-object fragments are cached by
resourceVersion, so a re-render after a tick only formats what changed and joins the rest.
DCGM and kubelet render from the Telemetry (copied under its lock, formatted outside it).
"""
from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable

from .objects import ObjectStore
from .telemetry import Telemetry
from .units import parse_quantity

Obj = dict[str, Any]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DRIVER_VERSION = "550.54.15"
NODE_LABEL_ALLOWLIST = ("topology.kubernetes.io/zone", "node.kubernetes.io/instance-type", "nvidia.com/gpu.product")
XID_MESSAGES = {0: "", 13: "Graphics Engine Exception", 31: "GPU memory page fault", 43: "GPU stopped processing",
                48: "Double Bit ECC Error", 63: "Row remapping event", 64: "Row remapping failure",
                74: "NVLink Error", 79: "GPU has fallen off the bus", 94: "Contained ECC error",
                95: "Uncontained ECC error"}
_SANITIZE = re.compile(r"[^a-zA-Z0-9_]")


# --- formatting helpers ------------------------------------------------------------------
def esc(v: Any) -> str:
    s = str(v)
    if "\\" in s or '"' in s or "\n" in s:
        s = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return s


def num(v: float) -> str:
    """A sample value: integral floats without a fraction (KSM prints 3, 0.2, 3e+09 alike)."""
    f = float(v)
    if f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    return repr(f)


def labels(pairs: Iterable[tuple[str, Any]]) -> str:
    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in pairs) + "}"


def sanitize(name: str) -> str:
    return _SANITIZE.sub("_", name)


def resource_unit(resource: str) -> tuple[str, str]:
    """KSM's (resource, unit) for a node/pod resource name (node.go, utils.go)."""
    if resource == "cpu":
        return "cpu", "core"
    if resource in ("memory", "ephemeral-storage", "storage") or resource.startswith("hugepages-"):
        return sanitize(resource), "byte"
    return sanitize(resource), "integer"


def header(name: str, typ: str, help_: str) -> str:
    return f"# HELP {name} {help_}\n# TYPE {name} {typ}\n"


def onehot(name: str, base: list[tuple[str, Any]], key: str, values: Iterable[str], current: str) -> str:
    return "".join(f"{name}{labels(base + [(key, v)])} {1 if v == current else 0}\n" for v in values)


# --- kube-state-metrics ------------------------------------------------------------------
POD_FAMILIES = (
    ("kube_pod_info", "gauge", "[STABLE] Information about pod."),
    ("kube_pod_status_phase", "gauge", "[STABLE] The pods current phase."),
    ("kube_pod_status_ready", "gauge", "[STABLE] Describes whether the pod is ready to serve requests."),
    ("kube_pod_status_scheduled", "gauge", "[STABLE] Describes the status of the scheduling process for the pod."),
    ("kube_pod_status_unschedulable", "gauge", "[STABLE] Describes the unschedulable status for the pod."),
    ("kube_pod_container_status_restarts_total", "counter", "[STABLE] The number of container restarts per container."),
    ("kube_pod_container_status_ready", "gauge", "[STABLE] Describes whether the containers readiness check succeeded."),
    ("kube_pod_container_status_waiting_reason", "gauge", "[STABLE] Describes the reason the container is currently in waiting state."),
    ("kube_pod_container_status_last_terminated_reason", "gauge", "Describes the last reason the container was in terminated state."),
    ("kube_pod_container_resource_requests", "gauge", "[STABLE] The number of requested request resource by a container."),
    ("kube_pod_container_resource_limits", "gauge", "[STABLE] The number of requested limit resource by a container."),
)
NODE_FAMILIES = (
    ("kube_node_info", "gauge", "[STABLE] Information about a cluster node."),
    ("kube_node_labels", "gauge", "[STABLE] Kubernetes labels converted to Prometheus labels."),
    ("kube_node_spec_unschedulable", "gauge", "[STABLE] Whether a node can schedule new pods."),
    ("kube_node_spec_taint", "gauge", "[STABLE] The taint of a cluster node."),
    ("kube_node_status_allocatable", "gauge", "[STABLE] The allocatable for different resources of a node that are available for scheduling."),
    ("kube_node_status_capacity", "gauge", "[STABLE] The capacity for different resources of a node."),
    ("kube_node_status_condition", "gauge", "[STABLE] The condition of a cluster node."),
)
QUOTA_FAMILIES = (("kube_resourcequota", "gauge", "[STABLE] Information about resource quota."),)
HPA_FAMILIES = (
    ("kube_horizontalpodautoscaler_info", "gauge", "Information about this autoscaler."),
    ("kube_horizontalpodautoscaler_spec_min_replicas", "gauge", "[STABLE] Lower limit for the number of pods that can be set by the autoscaler, default 1."),
    ("kube_horizontalpodautoscaler_spec_max_replicas", "gauge", "[STABLE] Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas."),
    ("kube_horizontalpodautoscaler_spec_target_metric", "gauge", "The metric specifications used by this autoscaler when calculating the desired replica count."),
    ("kube_horizontalpodautoscaler_status_target_metric", "gauge", "[STABLE] The current metric status used by this autoscaler when calculating the desired replica count."),
    ("kube_horizontalpodautoscaler_status_current_replicas", "gauge", "[STABLE] Current number of replicas of pods managed by this autoscaler."),
    ("kube_horizontalpodautoscaler_status_desired_replicas", "gauge", "[STABLE] Desired number of replicas of pods managed by this autoscaler."),
    ("kube_horizontalpodautoscaler_status_condition", "gauge", "[STABLE] The condition of this autoscaler."),
)
DEPLOYMENT_FAMILIES = (
    ("kube_deployment_spec_replicas", "gauge", "[STABLE] Number of desired pods for a deployment."),
    ("kube_deployment_status_replicas", "gauge", "[STABLE] The number of replicas per deployment."),
    ("kube_deployment_status_replicas_available", "gauge", "[STABLE] The number of available replicas per deployment."),
    ("kube_deployment_status_replicas_unavailable", "gauge", "[STABLE] The number of unavailable replicas per deployment."),
    ("kube_deployment_status_replicas_updated", "gauge", "[STABLE] The number of updated replicas per deployment."),
)
STATEFULSET_FAMILIES = (
    ("kube_statefulset_replicas", "gauge", "[STABLE] Number of desired pods for a StatefulSet."),
    ("kube_statefulset_status_replicas", "gauge", "[STABLE] The number of replicas per StatefulSet."),
    ("kube_statefulset_status_replicas_ready", "gauge", "[STABLE] The number of ready replicas per StatefulSet."),
)
PHASES = ("Failed", "Pending", "Running", "Succeeded", "Unknown")
TRUTH = ("false", "true", "unknown")


def _cond(obj: Obj, type_: str) -> Obj | None:
    for c in obj.get("status", {}).get("conditions") or ():
        if c.get("type") == type_:
            return c
    return None


def _truth(status: str | None) -> str:
    return {"True": "true", "False": "false"}.get(status or "", "unknown")


def render_pod(pod: Obj) -> tuple[str, ...]:
    md, spec, st = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
    ns, name, uid = md.get("namespace", ""), md["name"], md.get("uid", "")
    node = spec.get("nodeName", "") or ""
    base = [("namespace", ns), ("pod", name), ("uid", uid)]
    owner_kind = owner_name = ""
    for ref in md.get("ownerReferences") or ():
        if ref.get("controller"):
            owner_kind, owner_name = ref.get("kind", ""), ref.get("name", "")
    info = (f"kube_pod_info{labels(base + [('node', node), ('host_ip', st.get('hostIP', '')), ('pod_ip', st.get('podIP', '')), ('created_by_kind', owner_kind or '<none>'), ('created_by_name', owner_name or '<none>'), ('priority_class', spec.get('priorityClassName', '')), ('host_network', 'true' if spec.get('hostNetwork') else 'false')])} 1\n")
    phase = onehot("kube_pod_status_phase", base, "phase", PHASES, st.get("phase", "Unknown"))
    ready_c = _cond(pod, "Ready")
    ready = onehot("kube_pod_status_ready", base, "condition", TRUTH, _truth(ready_c.get("status"))) if ready_c else ""
    sched_c = _cond(pod, "PodScheduled")
    sched = onehot("kube_pod_status_scheduled", base, "condition", TRUTH, _truth(sched_c.get("status"))) if sched_c else ""
    unsched = (f"kube_pod_status_unschedulable{labels(base)} 1\n"
               if sched_c and sched_c.get("status") == "False" and sched_c.get("reason") == "Unschedulable" else "")
    restarts, cready, waiting, lastterm, reqs, lims = [], [], [], [], [], []
    statuses = {cs.get("name"): cs for cs in st.get("containerStatuses") or ()}
    for c in spec.get("containers") or ():
        cname = c.get("name", "")
        cb = base[:2] + [("container", cname)] + base[2:]
        cs = statuses.get(cname)
        if cs is not None:
            restarts.append(f"kube_pod_container_status_restarts_total{labels(cb)} {int(cs.get('restartCount', 0))}\n")
            cready.append(f"kube_pod_container_status_ready{labels(cb)} {1 if cs.get('ready') else 0}\n")
            w = (cs.get("state") or {}).get("waiting")
            if w and w.get("reason"):
                waiting.append(f"kube_pod_container_status_waiting_reason{labels(cb + [('reason', w['reason'])])} 1\n")
            t = (cs.get("lastState") or {}).get("terminated")
            if t and t.get("reason"):
                lastterm.append(f"kube_pod_container_status_last_terminated_reason{labels(cb + [('reason', t['reason'])])} 1\n")
        res = c.get("resources") or {}
        for side, out in (("requests", reqs), ("limits", lims)):
            for rname, q in sorted((res.get(side) or {}).items()):
                r, unit = resource_unit(rname)
                out.append(f"kube_pod_container_resource_{side}{labels(cb + [('node', node), ('resource', r), ('unit', unit)])} {num(parse_quantity(q))}\n")
    return (info, phase, ready, sched, unsched, "".join(restarts), "".join(cready), "".join(waiting),
            "".join(lastterm), "".join(reqs), "".join(lims))


def render_node(node: Obj) -> tuple[str, ...]:
    md, spec, st = node["metadata"], node.get("spec", {}), node.get("status", {})
    name = md["name"]
    base = [("node", name)]
    ni = st.get("nodeInfo") or {}
    ip = next((a.get("address", "") for a in st.get("addresses") or () if a.get("type") == "InternalIP"), "")
    info = (f"kube_node_info{labels(base + [('kernel_version', ni.get('kernelVersion', '')), ('os_image', ni.get('osImage', '')), ('container_runtime_version', ni.get('containerRuntimeVersion', '')), ('kubelet_version', ni.get('kubeletVersion', '')), ('kubeproxy_version', ni.get('kubeProxyVersion', 'deprecated')), ('pod_cidr', spec.get('podCIDR', '')), ('provider_id', spec.get('providerID', '')), ('system_uuid', ni.get('systemUUID', '')), ('internal_ip', ip)])} 1\n")
    lbls = md.get("labels") or {}
    allowed = [("label_" + sanitize(k), lbls[k]) for k in NODE_LABEL_ALLOWLIST if k in lbls]
    node_labels = f"kube_node_labels{labels(base + sorted(allowed))} 1\n"
    unsched = f"kube_node_spec_unschedulable{labels(base)} {1 if spec.get('unschedulable') else 0}\n"
    taints = "".join(
        f"kube_node_spec_taint{labels(base + [('key', t.get('key', '')), ('value', t.get('value', '')), ('effect', t.get('effect', ''))])} 1\n"
        for t in spec.get("taints") or ())
    out = []
    for fam, field in (("kube_node_status_allocatable", "allocatable"), ("kube_node_status_capacity", "capacity")):
        rows = []
        for rname, q in sorted((st.get(field) or {}).items()):
            r, unit = resource_unit(rname)
            rows.append(f"{fam}{labels(base + [('resource', r), ('unit', unit)])} {num(parse_quantity(q))}\n")
        out.append("".join(rows))
    conds = "".join(onehot("kube_node_status_condition", base + [("condition", c.get("type", ""))], "status", TRUTH,
                           _truth(c.get("status"))) for c in st.get("conditions") or ())
    return (info, node_labels, unsched, taints, out[0], out[1], conds)


def render_quota(q: Obj) -> tuple[str, ...]:
    md, st = q["metadata"], q.get("status", {})
    base = [("namespace", md.get("namespace", "")), ("resourcequota", md["name"])]
    hard = st.get("hard") or q.get("spec", {}).get("hard") or {}
    used = st.get("used") or {}
    rows = []
    for key in sorted(hard):
        rows.append(f"kube_resourcequota{labels(base + [('resource', key), ('type', 'hard')])} {num(parse_quantity(hard[key]))}\n")
        if key in used:
            rows.append(f"kube_resourcequota{labels(base + [('resource', key), ('type', 'used')])} {num(parse_quantity(used[key]))}\n")
    return ("".join(rows),)


def _metric_values(m: Obj, source: str) -> tuple[str, str, list[tuple[str, float]]]:
    """(metric_name, container, [(metric_target_type, value)]) of one HPA metric spec/status."""
    typ = m.get("type", "")
    body = m.get({"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods",
                  "Object": "object", "External": "external"}.get(typ, ""), {}) or {}
    if typ in ("Resource", "ContainerResource"):
        mname, container = body.get("name", ""), body.get("container", "") if typ == "ContainerResource" else ""
    else:
        mname, container = (body.get("metric") or {}).get("name", ""), ""
    v = body.get(source) or {}
    vals = []
    if "value" in v:
        vals.append(("value", parse_quantity(v["value"])))
    if "averageValue" in v:
        vals.append(("average", parse_quantity(v["averageValue"])))
    if "averageUtilization" in v:
        vals.append(("utilization", float(v["averageUtilization"])))
    return mname, container, vals


def render_hpa(h: Obj) -> tuple[str, ...]:
    md, spec, st = h["metadata"], h.get("spec", {}), h.get("status", {})
    base = [("horizontalpodautoscaler", md["name"]), ("namespace", md.get("namespace", ""))]
    ref = spec.get("scaleTargetRef") or {}
    info = (f"kube_horizontalpodautoscaler_info{labels(base + [('scaletargetref_api_version', ref.get('apiVersion', '')), ('scaletargetref_kind', ref.get('kind', '')), ('scaletargetref_name', ref.get('name', ''))])} 1\n")
    lb = labels(base)
    mn = f"kube_horizontalpodautoscaler_spec_min_replicas{lb} {int(spec.get('minReplicas', 1))}\n"
    mx = f"kube_horizontalpodautoscaler_spec_max_replicas{lb} {int(spec.get('maxReplicas', 0))}\n"
    parts = []
    for fam, items, source in (("kube_horizontalpodautoscaler_spec_target_metric", spec.get("metrics") or (), "target"),
                               ("kube_horizontalpodautoscaler_status_target_metric", st.get("currentMetrics") or (), "current")):
        rows = []
        for m in items:
            mname, container, vals = _metric_values(m, source)
            for ttype, v in vals:
                rows.append(f"{fam}{labels([('container', container)] + base[:1] + [('metric_name', mname), ('metric_target_type', ttype)] + base[1:])} {num(v)}\n")
        parts.append("".join(rows))
    cur = f"kube_horizontalpodautoscaler_status_current_replicas{lb} {int(st.get('currentReplicas', 0) or 0)}\n"
    des = f"kube_horizontalpodautoscaler_status_desired_replicas{lb} {int(st.get('desiredReplicas', 0) or 0)}\n"
    conds = "".join(onehot("kube_horizontalpodautoscaler_status_condition", [("condition", c.get("type", ""))] + base,
                           "status", TRUTH, _truth(c.get("status"))) for c in st.get("conditions") or ())
    return (info, mn, mx, parts[0], parts[1], cur, des, conds)


def render_deployment(d: Obj) -> tuple[str, ...]:
    md, st = d["metadata"], d.get("status", {})
    lb = labels([("deployment", md["name"]), ("namespace", md.get("namespace", ""))])
    return (f"kube_deployment_spec_replicas{lb} {int(d.get('spec', {}).get('replicas', 1))}\n",
            f"kube_deployment_status_replicas{lb} {int(st.get('replicas', 0) or 0)}\n",
            f"kube_deployment_status_replicas_available{lb} {int(st.get('availableReplicas', 0) or 0)}\n",
            f"kube_deployment_status_replicas_unavailable{lb} {int(st.get('unavailableReplicas', 0) or 0)}\n",
            f"kube_deployment_status_replicas_updated{lb} {int(st.get('updatedReplicas', 0) or 0)}\n")


def render_statefulset(s: Obj) -> tuple[str, ...]:
    md, st = s["metadata"], s.get("status", {})
    lb = labels([("namespace", md.get("namespace", "")), ("statefulset", md["name"])])
    return (f"kube_statefulset_replicas{lb} {int(s.get('spec', {}).get('replicas', 1))}\n",
            f"kube_statefulset_status_replicas{lb} {int(st.get('replicas', 0) or 0)}\n",
            f"kube_statefulset_status_replicas_ready{lb} {int(st.get('readyReplicas', 0) or 0)}\n")


KSM_SECTIONS: tuple[tuple[str, tuple, Callable[[Obj], tuple[str, ...]]], ...] = (
    ("pods", POD_FAMILIES, render_pod),
    ("nodes", NODE_FAMILIES, render_node),
    ("resourcequotas", QUOTA_FAMILIES, render_quota),
    ("horizontalpodautoscalers", HPA_FAMILIES, render_hpa),
    ("deployments", DEPLOYMENT_FAMILIES, render_deployment),
    ("statefulsets", STATEFULSET_FAMILIES, render_statefulset),
)


class KsmRenderer:
    """Renders KSM text from the store; fragments cached per object resourceVersion, the whole
    text cached per store resourceVersion."""

    def __init__(self, store: ObjectStore):
        self.store = store
        self._frag: dict[str, dict[tuple[str, str], tuple[str, tuple[str, ...]]]] = {r: {} for r, _, _ in KSM_SECTIONS}
        self._text: tuple[int, bytes] | None = None
        self._mu = threading.Lock()

    def render(self) -> bytes:
        with self._mu:
            rv = self.store.resource_version
            if self._text is not None and self._text[0] == rv:
                return self._text[1]
            with self.store.lock:  # one consistent instant; stored dicts are never mutated in place
                rv = self.store.resource_version
                objs = {r: self.store.list(r)[0] for r, _, _ in KSM_SECTIONS}
            out: list[str] = []
            for resource, families, fn in KSM_SECTIONS:
                cache = self._frag[resource]
                fresh: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
                frags = []
                for o in objs[resource]:
                    md = o["metadata"]
                    key = (md.get("namespace", ""), md["name"])
                    orv = md.get("resourceVersion", "")
                    hit = cache.get(key)
                    if hit is None or hit[0] != orv:
                        hit = (orv, fn(o))
                    fresh[key] = hit
                    frags.append(hit[1])
                self._frag[resource] = fresh
                for i, (name, typ, help_) in enumerate(families):
                    out.append(header(name, typ, help_))
                    out.extend(f[i] for f in frags)
            body = "".join(out).encode()
            self._text = (rv, body)
            return body


# --- dcgm-exporter -----------------------------------------------------------------------
DCGM_FAMILIES = (
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ)."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active."),
)


def _gpu_rows(telemetry: Telemetry, live_pods: set[tuple[str, str]] | None) -> list[tuple]:
    with telemetry.lock:
        return [(d.node, d.index, d.uuid, d.model, d.pci_bus_id, d.mig_profile, d.mig_instance, d.util,
                 d.fb_used_mib, d.fb_total_mib, d.power_w, d.temp_c, d.xid, d.energy_mj,
                 d.holder if (d.holder and (live_pods is None or d.holder[:2] in live_pods)) else None)
                for d in telemetry.gpus.values()]


def render_dcgm(telemetry: Telemetry, live_pods: set[tuple[str, str]] | None = None) -> bytes:
    rows = sorted(_gpu_rows(telemetry, live_pods), key=lambda r: (r[0], r[1], r[6] if r[6] is not None else -1))
    fams: list[list[str]] = [[] for _ in DCGM_FAMILIES]
    for (node, idx, uuid, model, pci, prof, gi, util, fb_used, fb_total, power, temp, xid, energy, holder) in rows:
        pairs = [("gpu", idx), ("UUID", uuid), ("pci_bus_id", pci or f"00000000:{0x07 + 0x10 * int(idx):02X}:00.0"),
                 ("device", f"nvidia{idx}"), ("modelName", model)]
        if prof:
            pairs += [("GPU_I_PROFILE", prof), ("GPU_I_ID", gi if gi is not None else 0)]
        pairs += [("Hostname", node), ("DCGM_FI_DRIVER_VERSION", DRIVER_VERSION)]
        if holder:
            pairs += [("container", holder[2]), ("namespace", holder[0]), ("pod", holder[1])]
        lb = labels(pairs)
        fb_used_i = int(round(fb_used))
        fams[0].append(f"DCGM_FI_DEV_SM_CLOCK{lb} {1410 if util > 0 else 210}\n")
        fams[1].append(f"DCGM_FI_DEV_GPU_TEMP{lb} {int(round(temp))}\n")
        fams[2].append(f"DCGM_FI_DEV_POWER_USAGE{lb} {float(power):f}\n")
        fams[3].append(f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{lb} {int(energy)}\n")
        if not prof:  # MIG slices carry no DEV_GPU_UTIL (dcgm-exporter #430)
            fams[4].append(f"DCGM_FI_DEV_GPU_UTIL{lb} {int(round(util))}\n")
        fams[5].append(f"DCGM_FI_DEV_FB_FREE{lb} {max(0, int(round(fb_total)) - fb_used_i)}\n")
        fams[6].append(f"DCGM_FI_DEV_FB_USED{lb} {fb_used_i}\n")
        xl = labels(pairs + [("err_code", xid), ("err_msg", XID_MESSAGES.get(int(xid), "Unknown XID"))])
        fams[7].append(f"DCGM_FI_DEV_XID_ERRORS{xl} {int(xid)}\n")
        fams[8].append(f"DCGM_FI_PROF_GR_ENGINE_ACTIVE{lb} {util / 100.0:f}\n")
    out = []
    for (name, typ, help_), rows_ in zip(DCGM_FAMILIES, fams):
        out.append(header(name, typ, help_))
        out.extend(rows_)
    return "".join(out).encode()


# --- kubelet -----------------------------------------------------------------------------
def _pod_index(store: ObjectStore) -> dict[tuple[str, str], Obj]:
    with store.lock:
        pods, _ = store.list("pods")
    return {(p["metadata"].get("namespace", ""), p["metadata"]["name"]): p for p in pods}


def render_probes(telemetry: Telemetry, pods: dict[tuple[str, str], Obj]) -> bytes:
    with telemetry.lock:
        counts = sorted(telemetry.probe_counts.items())
        uids = dict(telemetry.pod_uids)
    out = [header("prober_probe_total", "counter", "[ALPHA] Cumulative number of a liveness, readiness or startup probe for a container by result.")]
    for (ns, pod, container, ptype, result), n in counts:
        p = pods.get((ns, pod))
        if p is None:  # the pod is gone: the kubelet forgets its probe workers
            continue
        uid = uids.get((ns, pod)) or p["metadata"].get("uid", "")
        out.append(f"prober_probe_total{labels([('container', container), ('namespace', ns), ('pod', pod), ('pod_uid', uid), ('probe_type', ptype), ('result', result)])} {int(n)}\n")
    return "".join(out).encode()


class CounterSmoother:
    """The dynamics add a whole step of CPU seconds at once (15 s, or more per container at scale);
    real cAdvisor counters grow continuously. Show each counter one update behind, ramping linearly
    from its previous value to its latest over the time the last update took: never decreasing, so
    irate/rate over any scrape interval read the real cores, as they do against a kubelet."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._mu = threading.Lock()
        self._s: dict[tuple, list[float]] = {}  # key -> [t_prev, v_prev, t_last, v_last]

    def smooth(self, values: dict[tuple, float]) -> dict[tuple, float]:
        now = self.clock()
        out = {}
        with self._mu:
            st = self._s
            for k, v in values.items():
                s = st.get(k)
                if s is None or v < s[3]:  # new, or reset (container restarted)
                    st[k] = s = [now, v, now, v]
                elif v != s[3]:
                    s[0], s[1], s[2], s[3] = s[2], s[3], now, v
                span = s[2] - s[0]
                frac = min(1.0, (now - s[2]) / span) if span > 0 else 1.0
                out[k] = s[1] + (s[3] - s[1]) * frac
            if len(st) > len(values):
                for k in [k for k in st if k not in values]:
                    del st[k]
        return out


def render_cadvisor(telemetry: Telemetry, pods: dict[tuple[str, str], Obj],
                    smoother: CounterSmoother | None = None) -> bytes:
    with telemetry.lock:
        cpu = dict(telemetry.container_cpu_seconds)
        mem = dict(telemetry.container_memory_bytes)
    if smoother is not None:
        cpu = smoother.smooth(cpu)
    cpu_rows, mem_rows = [], []
    pod_cpu: dict[tuple[str, str], float] = {}
    pod_mem: dict[tuple[str, str], float] = {}
    for key in sorted(set(cpu) | set(mem)):
        ns, pod, container = key
        p = pods.get((ns, pod))
        if p is None or not p.get("spec", {}).get("nodeName"):
            continue
        uid = p["metadata"].get("uid", "")
        image = next((c.get("image", "") for c in p["spec"].get("containers") or () if c.get("name") == container), "")
        cid = next((cs.get("containerID", "") for cs in p.get("status", {}).get("containerStatuses") or ()
                    if cs.get("name") == container), "").rpartition("/")[2] or f"{uid.replace('-', '')}{container}"[:64]
        # the labels after container (and cpu), formatted once for both rows; names are DNS-safe
        tail = (f'id="/kubepods/burstable/pod{uid}/{esc(cid)}",image="{esc(image)}",name="{esc(cid)}",'
                f'namespace="{ns}",pod="{pod}"}}')
        c = esc(container)
        if key in cpu:
            cpu_rows.append(f'container_cpu_usage_seconds_total{{container="{c}",cpu="total",{tail} {cpu[key]!r}\n')
            pod_cpu[(ns, pod)] = pod_cpu.get((ns, pod), 0.0) + cpu[key]
        if key in mem:
            mem_rows.append(f'container_memory_working_set_bytes{{container="{c}",{tail} {num(mem[key])}\n')
            pod_mem[(ns, pod)] = pod_mem.get((ns, pod), 0.0) + mem[key]
    for (ns, pod), v in sorted(pod_cpu.items()):  # pod cgroup rows: container="" image=""
        uid = pods[(ns, pod)]["metadata"].get("uid", "")
        cpu_rows.append(f'container_cpu_usage_seconds_total{{container="",cpu="total",id="/kubepods/burstable/pod{uid}",'
                        f'image="",name="",namespace="{ns}",pod="{pod}"}} {v!r}\n')
    for (ns, pod), v in sorted(pod_mem.items()):
        uid = pods[(ns, pod)]["metadata"].get("uid", "")
        mem_rows.append(f'container_memory_working_set_bytes{{container="",id="/kubepods/burstable/pod{uid}",'
                        f'image="",name="",namespace="{ns}",pod="{pod}"}} {num(v)}\n')
    return "".join([header("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds."),
                    *cpu_rows,
                    header("container_memory_working_set_bytes", "gauge", "Current working set in bytes."),
                    *mem_rows]).encode()


# --- HTTP ----------------------------------------------------------------------------------
EXPORTERS = ("kube-state-metrics", "dcgm", "kubelet")


class ExporterServer:
    """Three HTTP listeners on `host`, one per exporter. `faults` is read on every request:
    {"malformed": {"dcgm"}, "down": {"kube-state-metrics"}, "latency": 0.5, "status": {"kubelet": 500}}
    malformed = a truncated, unparseable body; down = connection closed without an answer;
    latency = seconds slept before answering; status = HTTP error code answered instead."""

    def __init__(self, store: ObjectStore, telemetry: Telemetry, host: str = "127.0.0.1",
                 clock: Callable[[], float] = time.time):
        self.store, self.telemetry, self.host, self.clock = store, telemetry, host, clock
        self.faults: dict[str, Any] = {"malformed": set(), "down": set(), "latency": 0.0, "status": {}}
        self.ksm = KsmRenderer(store)
        self.cpu_smoother: CounterSmoother | None = CounterSmoother()  # None: raw step-wise counters
        self._pod_cache: tuple[int, dict, set] | None = None
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._threads: list[threading.Thread] = []
        self.scrapes: dict[str, int] = {e: 0 for e in EXPORTERS}

    @property
    def urls(self) -> dict[str, str]:
        def base(n: str) -> str:
            return f"http://{self.host}:{self._servers[n].server_address[1]}"
        return {"kube-state-metrics": base("kube-state-metrics") + "/metrics", "dcgm": base("dcgm") + "/metrics",
                "kubelet": base("kubelet")}

    def body(self, exporter: str, path: str) -> bytes | None:
        """The exposition text an exporter serves on `path`, None for an unknown path."""
        path = path.split("?", 1)[0]
        if exporter == "kube-state-metrics" and path == "/metrics":
            return self.ksm.render()
        if exporter == "dcgm" and path == "/metrics":
            return render_dcgm(self.telemetry, self._pods()[1])
        if exporter == "kubelet" and path == "/metrics/probes":
            return render_probes(self.telemetry, self._pods()[0])
        if exporter == "kubelet" and path == "/metrics/cadvisor":
            return render_cadvisor(self.telemetry, self._pods()[0], self.cpu_smoother)
        return None

    def _pods(self) -> tuple[dict[tuple[str, str], Obj], set[tuple[str, str]]]:
        """Pods by (namespace, name), cached per store resourceVersion (150k pods: ~0.3 s to index)."""
        rv = self.store.resource_version
        cached = self._pod_cache
        if cached is None or cached[0] != rv:
            idx = _pod_index(self.store)
            cached = self._pod_cache = (rv, idx, set(idx))
        return cached[1], cached[2]

    def start(self) -> "ExporterServer":
        for name in EXPORTERS:
            srv = ThreadingHTTPServer((self.host, 0), self._handler(name))
            srv.daemon_threads = True
            self._servers[name] = srv
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                                 name=f"exporter-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        # the first KSM text of a big cluster takes seconds: have it ready before the first scrape
        warm = threading.Thread(target=self.ksm.render, name="exporter-ksm-warmup", daemon=True)
        warm.start()
        self._threads.append(warm)
        return self

    def stop(self) -> None:
        for srv in self._servers.values():
            srv.shutdown()
            srv.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> "ExporterServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _handler(self, exporter: str):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: tests and the demo share the terminal
                pass

            def do_GET(self) -> None:
                f = server.faults
                if f.get("latency"):
                    time.sleep(float(f["latency"]))
                if exporter in f.get("down", ()):
                    self.close_connection = True
                    return
                code = (f.get("status") or {}).get(exporter)
                if code:
                    self._send(int(code), b"internal error\n", "text/plain")
                    return
                body = server.body(exporter, self.path)
                if body is None:
                    self._send(404, b"404 page not found\n", "text/plain")
                    return
                server.scrapes[exporter] += 1
                if exporter in f.get("malformed", ()):
                    # a torn write: the text stops mid-line and a garbage line follows
                    body = body[: max(1, len(body) // 2)] + b'{{{ not exposition "\n'
                self._send(200, body, CONTENT_TYPE)

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the scraper gave up (its timeout): nothing to answer
                    self.close_connection = True

        return Handler
