"""meta.k8s.io/v1 Table rendering with the columns kubectl prints for each kind
(after kubernetes pkg/printers/internalversion/printers.go; priority 1 = `-o wide` only)."""
from __future__ import annotations

import calendar
import time
from typing import Any, Callable

from .selectors import selector_string

Obj = dict[str, Any]


def parse_ts(ts: str | None) -> float | None:
    if not ts:
        return None
    try:
        return float(calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m" if s % 60 == 0 else f"{m}m{s % 60}s"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h" if m % 60 == 0 else f"{h}h{m % 60}m"
    if h < 48:
        return f"{h}h"
    if h < 24 * 8:
        return f"{h // 24}d" if h % 24 == 0 else f"{h // 24}d{h % 24}h"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    if h < 24 * 365 * 8:
        dy = (h // 24) % 365
        return f"{h // 24 // 365}y" if dy == 0 else f"{h // 24 // 365}y{dy}d"
    return f"{h // 24 // 365}y"


def _age(obj: Obj, now: float) -> str:
    t = parse_ts(obj.get("metadata", {}).get("creationTimestamp"))
    return "<unknown>" if t is None else human_duration(now - t)


def _col(name: str, type_: str = "string", priority: int = 0, fmt: str = "", desc: str = "") -> Obj:
    return {"name": name, "type": type_, "format": fmt, "description": desc or name, "priority": priority}


NAME = _col("Name", fmt="name", desc="Name must be unique within a namespace.")
AGE = _col("Age", desc="CreationTimestamp is a timestamp representing the server time when this object was created.")


def _containers_images(spec: Obj) -> tuple[str, str]:
    cs = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


# --- per kind -------------------------------------------------------------------------------------
def _node(o: Obj, now: float) -> list:
    st, spec, md = o.get("status") or {}, o.get("spec") or {}, o["metadata"]
    ready = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), None)
    status = "Unknown" if ready is None else ("Ready" if ready.get("status") == "True" else "NotReady")
    if spec.get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = md.get("labels") or {}
    roles = sorted({k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k}
                   | ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set()))
    info = st.get("nodeInfo") or {}
    addrs = st.get("addresses") or []
    ip = lambda t: next((a.get("address") for a in addrs if a.get("type") == t), "<none>")  # noqa: E731
    return [md["name"], status, ",".join(r for r in roles if r) or "<none>", _age(o, now),
            info.get("kubeletVersion", ""), ip("InternalIP"), ip("ExternalIP"),
            info.get("osImage", "<unknown>"), info.get("kernelVersion", "<unknown>"),
            info.get("containerRuntimeVersion", "<unknown>")]


NODE_COLS = [NAME, _col("Status"), _col("Roles"), AGE, _col("Version"), _col("Internal-IP", priority=1),
             _col("External-IP", priority=1), _col("OS-Image", priority=1), _col("Kernel-Version", priority=1),
             _col("Container-Runtime", priority=1)]


def _pod(o: Obj, now: float) -> list:
    st, spec, md = o.get("status") or {}, o.get("spec") or {}, o["metadata"]
    cstats = st.get("containerStatuses") or []
    total = len(spec.get("containers") or [])
    ready = sum(1 for c in cstats if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in cstats)
    last_restart = None
    reason = st.get("reason") or st.get("phase") or "Unknown"
    for c in cstats:
        term = (c.get("lastState") or {}).get("terminated") or {}
        t = parse_ts(term.get("finishedAt"))
        if t is not None and (last_restart is None or t > last_restart):
            last_restart = t
        state = c.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
    inits = spec.get("initContainers") or []
    for i, c in enumerate(st.get("initContainerStatuses") or []):
        state = c.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term and term.get("exitCode", 0) == 0:
            continue
        if term:
            reason = f'Init:{term.get("reason") or "ExitCode:" + str(term.get("exitCode"))}'
        elif wait and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = f'Init:{wait["reason"]}'
        else:
            reason = f"Init:{i}/{len(inits)}"
        break
    if md.get("deletionTimestamp"):
        reason = "Terminating"
    rs = str(restarts)
    if restarts and last_restart is not None:
        rs = f"{restarts} ({human_duration(now - last_restart)} ago)"
    gates = spec.get("readinessGates") or []
    conds = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
    gate_txt = f"{sum(1 for g in gates if conds.get(g.get('conditionType')) == 'True')}/{len(gates)}" if gates else "<none>"
    return [md["name"], f"{ready}/{total}", reason, rs, _age(o, now), st.get("podIP") or "<none>",
            spec.get("nodeName") or "<none>", st.get("nominatedNodeName") or "<none>", gate_txt]


POD_COLS = [NAME, _col("Ready", desc="The aggregate readiness state of this pod for accepting traffic."),
            _col("Status", desc="The aggregate status of the containers in this pod."),
            _col("Restarts", desc="The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
            AGE, _col("IP", priority=1), _col("Node", priority=1), _col("Nominated Node", priority=1),
            _col("Readiness Gates", priority=1)]


def _namespace(o: Obj, now: float) -> list:
    return [o["metadata"]["name"], (o.get("status") or {}).get("phase", "Active"), _age(o, now)]


def _event(o: Obj, now: float) -> list:
    inv = o.get("involvedObject") or {}
    last = parse_ts(o.get("lastTimestamp") or o.get("eventTime") or o["metadata"].get("creationTimestamp"))
    first = parse_ts(o.get("firstTimestamp") or o.get("eventTime") or o["metadata"].get("creationTimestamp"))
    count = int(o.get("count") or 1)
    last_seen = "<unknown>" if last is None else human_duration(now - last)
    if count > 1 and first is not None and last is not None:
        last_seen = f"{last_seen} (x{count} over {human_duration(last - first)})"
    obj = f'{(inv.get("kind") or "").lower()}/{inv.get("name", "")}'
    src = o.get("source") or {}
    source = ", ".join(x for x in (src.get("component"), src.get("host")) if x) or (o.get("reportingComponent") or "")
    return [last_seen, o.get("type", ""), o.get("reason", ""), obj, (o.get("message") or "").strip(),
            inv.get("fieldPath", ""), source,
            "<unknown>" if first is None else human_duration(now - first), count, o["metadata"]["name"]]


EVENT_COLS = [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message"),
              _col("Subobject", priority=1), _col("Source", priority=1), _col("First Seen", priority=1),
              _col("Count", "integer", priority=1), _col("Name", priority=1)]


def _quota_side(o: Obj, limits: bool) -> str:
    hard = (o.get("status") or {}).get("hard") or (o.get("spec") or {}).get("hard") or {}
    used = (o.get("status") or {}).get("used") or {}
    parts = []
    for k in sorted(hard):
        if k.startswith("limits.") != limits:
            continue
        parts.append(f"{k}: {used.get(k, '0')}/{hard[k]}")
    return ", ".join(parts)


def _quota(o: Obj, now: float) -> list:
    return [o["metadata"]["name"], _age(o, now), _quota_side(o, False), _quota_side(o, True)]


def _limitrange(o: Obj, now: float) -> list:
    return [o["metadata"]["name"], o["metadata"].get("creationTimestamp", "")]


def _service(o: Obj, now: float) -> list:
    spec = o.get("spec") or {}
    ports = ",".join(
        f'{p.get("port")}{":" + str(p["nodePort"]) if p.get("nodePort") else ""}/{p.get("protocol", "TCP")}'
        for p in spec.get("ports") or []) or "<none>"
    lb = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    ext = ",".join(i.get("ip") or i.get("hostname", "") for i in lb) or ",".join(spec.get("externalIPs") or [])
    if not ext:
        ext = "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"
    sel = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [o["metadata"]["name"], spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", ext, ports,
            _age(o, now), sel]


def _deployment(o: Obj, now: float) -> list:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    c, i = _containers_images(spec)
    return [o["metadata"]["name"], f'{st.get("readyReplicas", 0)}/{spec.get("replicas", 1)}',
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0), _age(o, now), c, i,
            selector_string(spec.get("selector")) or "<none>"]


def _replicaset(o: Obj, now: float) -> list:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    c, i = _containers_images(spec)
    return [o["metadata"]["name"], spec.get("replicas", 1), st.get("replicas", 0), st.get("readyReplicas", 0),
            _age(o, now), c, i, selector_string(spec.get("selector")) or "<none>"]


def _statefulset(o: Obj, now: float) -> list:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    c, i = _containers_images(spec)
    return [o["metadata"]["name"], f'{st.get("readyReplicas", 0)}/{spec.get("replicas", 1)}', _age(o, now), c, i]


def _daemonset(o: Obj, now: float) -> list:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    c, i = _containers_images(spec)
    ns = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    return [o["metadata"]["name"], st.get("desiredNumberScheduled", 0), st.get("currentNumberScheduled", 0),
            st.get("numberReady", 0), st.get("updatedNumberScheduled", 0), st.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in sorted(ns.items())) or "<none>", _age(o, now), c, i,
            selector_string(spec.get("selector")) or "<none>"]


def _job(o: Obj, now: float) -> list:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    conds = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
    status = ("Complete" if conds.get("Complete") == "True" else "Failed" if conds.get("Failed") == "True"
              else "Suspended" if spec.get("suspend") else "Running")
    comp = spec.get("completions")
    completions = f'{st.get("succeeded", 0)}/{comp}' if comp is not None else f'{st.get("succeeded", 0)}/1 of {spec.get("parallelism", 1)}'
    start, end = parse_ts(st.get("startTime")), parse_ts(st.get("completionTime"))
    duration = "" if start is None else human_duration((end if end is not None else now) - start)
    c, i = _containers_images(spec)
    return [o["metadata"]["name"], status, completions, duration, _age(o, now), c, i,
            selector_string(spec.get("selector")) or "<none>"]


def _qty(v: Any) -> str:
    return "<unknown>" if v is None else str(v)


def _hpa_targets(o: Obj) -> str:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    current = st.get("currentMetrics") or []
    out = []
    for i, m in enumerate(spec.get("metrics") or []):
        cur = current[i] if i < len(current) and current[i].get("type") == m.get("type") else {}
        t = m.get("type")
        if t == "Resource" or t == "ContainerResource":
            key = "resource" if t == "Resource" else "containerResource"
            r, cr = m.get(key) or {}, (cur.get(key) or {}).get("current") or {}
            target = r.get("target") or {}
            prefix = f'{r.get("name", "")}: ' if t == "Resource" else f'{r.get("name", "")}/{r.get("container", "")}: '
            if target.get("averageUtilization") is not None:
                cv = cr.get("averageUtilization")
                out.append(f'{prefix}{"<unknown>" if cv is None else str(cv) + "%"}/{target["averageUtilization"]}%')
            else:
                out.append(f'{prefix}{_qty(cr.get("averageValue"))}/{_qty(target.get("averageValue"))}')
        elif t == "Pods":
            p = m.get("pods") or {}
            cv = ((cur.get("pods") or {}).get("current") or {}).get("averageValue")
            out.append(f'{_qty(cv)}/{_qty((p.get("target") or {}).get("averageValue"))}')
        elif t in ("Object", "External"):
            key = "object" if t == "Object" else "external"
            p = m.get(key) or {}
            target = p.get("target") or {}
            cc = (cur.get(key) or {}).get("current") or {}
            if target.get("averageValue") is not None:
                out.append(f'{_qty(cc.get("averageValue"))}/{target["averageValue"]} (avg)')
            else:
                out.append(f'{_qty(cc.get("value"))}/{_qty(target.get("value"))}')
    if not out:
        return "<none>"
    if len(out) > 2:
        return ", ".join(out[:2]) + f" + {len(out) - 2} more..."
    return ", ".join(out)


def _hpa(o: Obj, now: float) -> list:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    return [o["metadata"]["name"], f'{ref.get("kind", "")}/{ref.get("name", "")}', _hpa_targets(o),
            spec.get("minReplicas", 1), spec.get("maxReplicas", 0), st.get("currentReplicas", 0), _age(o, now)]


def _pdb(o: Obj, now: float) -> list:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    return [o["metadata"]["name"], str(spec["minAvailable"]) if "minAvailable" in spec else "N/A",
            str(spec["maxUnavailable"]) if "maxUnavailable" in spec else "N/A",
            st.get("disruptionsAllowed", 0), _age(o, now)]


def _netpol(o: Obj, now: float) -> list:
    sel = selector_string((o.get("spec") or {}).get("podSelector")) or "<none>"
    return [o["metadata"]["name"], sel, _age(o, now)]


_ACCESS_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _serviceaccount(o: Obj, now: float) -> list:
    return [o["metadata"]["name"], len(o.get("secrets") or []), _age(o, now)]


def _pvc(o: Obj, now: float) -> list:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    phase = st.get("phase") or "Pending"
    if o["metadata"].get("deletionTimestamp"):
        phase = "Terminating"
    bound = phase == "Bound"
    modes = ",".join(_ACCESS_MODES.get(m, m) for m in (st.get("accessModes") or []) if bound)
    cap = ((st.get("capacity") or {}).get("storage") or "") if bound else ""
    return [o["metadata"]["name"], phase, spec.get("volumeName") or "", cap, modes,
            spec.get("storageClassName") or "<unset>", spec.get("volumeAttributesClassName") or "<unset>",
            _age(o, now), spec.get("volumeMode") or "Filesystem"]


def _cronjob(o: Obj, now: float) -> list:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    last = parse_ts(st.get("lastScheduleTime"))
    tmpl = ((spec.get("jobTemplate") or {}).get("spec") or {})
    c, i = _containers_images(tmpl)
    return [o["metadata"]["name"], spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            "True" if spec.get("suspend") else "False", len(st.get("active") or []),
            "<none>" if last is None else human_duration(now - last), _age(o, now), c, i,
            selector_string(tmpl.get("selector")) or "<none>"]


def _clusterrole(o: Obj, now: float) -> list:
    return [o["metadata"]["name"], o["metadata"].get("creationTimestamp", "")]


def _clusterrolebinding(o: Obj, now: float) -> list:
    ref = o.get("roleRef") or {}
    subjects = o.get("subjects") or []

    def names(kind: str) -> str:
        return ",".join((f'{s.get("namespace", "")}/{s["name"]}' if kind == "ServiceAccount" else s["name"])
                        for s in subjects if s.get("kind") == kind)
    return [o["metadata"]["name"], f'{ref.get("kind", "")}/{ref.get("name", "")}', _age(o, now),
            names("User"), names("Group"), names("ServiceAccount")]


def _lease(o: Obj, now: float) -> list:
    return [o["metadata"]["name"], (o.get("spec") or {}).get("holderIdentity") or "", _age(o, now)]


def _default(o: Obj, now: float) -> list:
    return [o["metadata"]["name"], _age(o, now)]


PRINTERS: dict[str, tuple[list[Obj], Callable[[Obj, float], list]]] = {
    "nodes": (NODE_COLS, _node),
    "pods": (POD_COLS, _pod),
    "namespaces": ([NAME, _col("Status"), AGE], _namespace),
    "events": (EVENT_COLS, _event),
    "resourcequotas": ([NAME, AGE, _col("Request"), _col("Limit")], _quota),
    "limitranges": ([NAME, _col("Created At", "date")], _limitrange),
    "services": ([NAME, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), AGE,
                  _col("Selector", priority=1)], _service),
    "deployments": ([NAME, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), AGE,
                     _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)],
                    _deployment),
    "replicasets": ([NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"), AGE,
                     _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)],
                    _replicaset),
    "statefulsets": ([NAME, _col("Ready"), AGE, _col("Containers", priority=1), _col("Images", priority=1)],
                     _statefulset),
    "daemonsets": ([NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"),
                    _col("Up-to-date", "integer"), _col("Available", "integer"), _col("Node Selector"), AGE,
                    _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)],
                   _daemonset),
    "jobs": ([NAME, _col("Status"), _col("Completions"), _col("Duration"), AGE, _col("Containers", priority=1),
              _col("Images", priority=1), _col("Selector", priority=1)], _job),
    "horizontalpodautoscalers": ([NAME, _col("Reference"), _col("Targets"), _col("MinPods", "integer"),
                                  _col("MaxPods", "integer"), _col("Replicas", "integer"), AGE], _hpa),
    "poddisruptionbudgets": ([NAME, _col("Min Available"), _col("Max Unavailable"),
                              _col("Allowed Disruptions", "integer"), AGE], _pdb),
    "networkpolicies": ([NAME, _col("Pod-Selector"), AGE], _netpol),
    "serviceaccounts": ([NAME, _col("Secrets", "integer"), AGE], _serviceaccount),
    "persistentvolumeclaims": ([NAME, _col("Status"), _col("Volume"), _col("Capacity"), _col("Access Modes"),
                                _col("StorageClass"), _col("VolumeAttributesClass"), AGE,
                                _col("VolumeMode", priority=1)], _pvc),
    "cronjobs": ([NAME, _col("Schedule"), _col("Timezone"), _col("Suspend", "boolean"), _col("Active", "integer"),
                  _col("Last Schedule"), AGE, _col("Containers", priority=1), _col("Images", priority=1),
                  _col("Selector", priority=1)], _cronjob),
    "clusterroles": ([NAME, _col("Created At", "date")], _clusterrole),
    "clusterrolebindings": ([NAME, _col("Role"), AGE, _col("Users", priority=1), _col("Groups", priority=1),
                             _col("ServiceAccounts", priority=1)], _clusterrolebinding),
    "leases": ([NAME, _col("Holder"), AGE], _lease),
}


def partial_metadata(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def row(resource: str, obj: Obj, now: float, include: str = "Metadata") -> Obj:
    _, fn = PRINTERS.get(resource, ([NAME, AGE], _default))
    r: Obj = {"cells": fn(obj, now)}
    if include == "Object":
        r["object"] = obj
    elif include != "None":
        r["object"] = partial_metadata(obj)
    return r


def table(resource: str, objs: list[Obj], now: float, list_meta: Obj, include: str = "Metadata",
          headers: bool = True) -> Obj:
    cols, _ = PRINTERS.get(resource, ([NAME, AGE], _default))
    t: Obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
              "columnDefinitions": cols if headers else None,
              "rows": [row(resource, o, now, include) for o in objs]}
    if not headers:
        del t["columnDefinitions"]
    return t
