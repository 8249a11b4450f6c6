"""The simulated cluster's controllers, run in 15-second steps of simulated time.

Each step: read what changed in the store since the last step (our own writes and users' writes
through the API alike), run the HPA controller on each autoscaler, the Deployment controller
(spec.replicas -> its ReplicaSet), the ReplicaSet / StatefulSet / Job / DaemonSet controllers (create
or delete pods, recreate deleted or evicted ones, quota admission), the scheduler for new and Pending
pods, the kubelet (ContainerCreating -> Running -> Ready, crash loops, probe failures, restart
counts, events), workload / quota / PDB status, and the telemetry (GPU readings, CPU seconds, memory,
probe counters). Work is proportional to what changed; the per-container counters advance over a
bounded slice per step. Every write re-reads the object and replaces it with expect_rv, so a user's
concurrent change (cordon, label, scale) is never overwritten: on a conflict the step retries later.
"""
from __future__ import annotations

import copy
import heapq
import math
import calendar
import random
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

from . import manifests as mf
from .builder import (
    PodPlan, deployment_status, hpa_readings, hpa_status, pdb_status, quota_status, rs_status, sts_status,
)
from .hpa_controller import History, decide, spec_from_object
from .manifests import rfc3339
from .objects import ApiError, ObjectStore
from .scheduler import pod_requests
from .telemetry import Telemetry
from .units import QUOTA_KEYS, format_quantity, parse_quantity, quota_usage

Obj = dict[str, Any]
STEP = 15.0
WATCHED = ("pods", "deployments", "replicasets", "statefulsets", "jobs", "daemonsets", "nodes",
           "horizontalpodautoscalers", "resourcequotas")
OwnerKey = tuple[str, str, str]  # (namespace, kind, name)


@dataclass
class PodInfo:
    owner: OwnerKey | None
    node: str
    req: dict[str, float]
    usage: dict[str, float]  # quota usage
    state: str  # unscheduled | creating | running | ready | done
    devices: dict[str, list] = field(default_factory=dict)
    created: float = 0.0
    containers: tuple[str, ...] = ()


def _ts(s: str) -> float:
    return float(calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ")))


def _dur(seconds: float) -> str:
    """A Go duration as the kubelet prints back-off: 10s, 1m20s, 5m0s."""
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s}s" if m else f"{s}s"


def _owner_of(obj: Obj) -> OwnerKey | None:
    for r in obj["metadata"].get("ownerReferences") or ():
        if r.get("controller"):
            return (obj["metadata"].get("namespace", ""), r["kind"], r["name"])
    return None


def _state_of(pod: Obj) -> str:
    st = pod.get("status", {})
    phase = st.get("phase")
    if phase in ("Succeeded", "Failed"):
        return "done"
    if not pod["spec"].get("nodeName"):
        return "unscheduled"
    conds = {c["type"]: c["status"] for c in st.get("conditions", ())}
    if conds.get("Ready") == "True":
        return "ready"
    if phase == "Running":
        return "running"
    return "creating"


class Dynamics:
    def __init__(self, store: ObjectStore, telemetry: Telemetry, scenario: Any, seed: int = 7):
        self.store = store
        self.telemetry = telemetry
        self.scenario = scenario
        self.sched = scenario.builder.scheduler
        self.loads = scenario.loads
        self.plans: dict[OwnerKey, PodPlan] = scenario.plans
        self.rng = random.Random(seed * 7919 + 1)
        self.now = scenario.start
        self.pods: dict[tuple[str, str], PodInfo] = {}
        self.by_owner: dict[OwnerKey, set[str]] = {}
        self.rs_of: dict[tuple[str, str], str] = {}  # (ns, deployment) -> replicaset
        self.ns_usage: dict[str, dict[str, float]] = {}
        self.history: dict[tuple[str, str], History] = {}
        self.last_scale: dict[tuple[str, str], float] = {}
        self.dirty_owners: set[OwnerKey] = set()
        self.dirty_status: set[OwnerKey] = set()
        self.dirty_ns: set[str] = set()
        self.due: list[tuple[float, int, str, str, str]] = []  # (when, seq, ns, pod, stage)
        self._seq = 0
        self.faulty: dict[tuple[str, str], tuple[Any, float]] = {}  # pod -> (Fault, next action time)
        self.event_ix: dict[tuple[str, str, str], str] = {}  # (ns, involved, reason) -> event name
        self._req_cache: dict[int, tuple[dict, dict]] = {}
        self._telemetry_cursor = 0
        self._telemetry_keys: list[tuple[str, str, str]] = []
        self._last_telemetry: dict[tuple[str, str, str], float] = {}
        self._gpu_last = scenario.start
        self._pending_retry_at = 0.0
        self._events_gc_at = scenario.start + 300
        self.unscheduled: set[tuple[str, str]] = set()
        self._counts: dict[OwnerKey, tuple[int, int, int]] = {}
        self._tick_cache: dict = {}
        self._explained: dict = {}
        self._stale = 0
        self.stats = {"ticks": 0, "pods_created": 0, "pods_deleted": 0, "rescales": 0, "conflicts": 0}
        self._index_all()
        # the controller has been running: each HPA remembers its current size for the window
        for hpa in store.list("horizontalpodautoscalers")[0]:
            ns, name = hpa["metadata"]["namespace"], hpa["metadata"]["name"]
            cur = hpa.get("status", {}).get("desiredReplicas")
            if cur:
                self.history[(ns, name)] = History(recommendations=((self.now, int(cur)),))
        self.last_rv = store.resource_version

    # --- indexes ---------------------------------------------------------------------------------
    def _costs(self, pod: Obj) -> tuple[dict, dict]:
        cs = pod["spec"]["containers"]
        c = self._req_cache.get(id(cs))
        if c is None or c[2] is not cs:
            c = (pod_requests(pod["spec"]), quota_usage(pod), cs)
            self._req_cache[id(cs)] = c
        return c[0], c[1]

    def _index_all(self) -> None:
        self.pods.clear()
        self.by_owner.clear()
        self.ns_usage.clear()
        self.unscheduled.clear()
        self._counts.clear()
        for rs in self.store.list("replicasets")[0]:
            o = _owner_of(rs)
            if o and o[1] == "Deployment":
                self.rs_of[(o[0], o[2])] = rs["metadata"]["name"]
        devs = self.scenario.pod_devices
        for pod in self.store.list("pods")[0]:
            self._add_pod(pod, devs.get((pod["metadata"]["namespace"], pod["metadata"]["name"])), bind=False)
            fault = self._fault_for(pod)
            if fault and _state_of(pod) in ("running", "ready"):
                self.faulty[(pod["metadata"]["namespace"], pod["metadata"]["name"])] = (fault, self.now + self.rng.uniform(30, 300))
        for ev in self.store.list("events")[0]:
            io = ev["involvedObject"]
            self.event_ix[(io.get("namespace", ""), io["name"], ev["reason"])] = ev["metadata"]["name"]
        self._telemetry_keys = sorted(self.telemetry.container_cpu_seconds)
        self._last_telemetry = {k: self.now for k in self._telemetry_keys}
        for dev in self.telemetry.gpus.values():
            if dev.node == self.scenario.cordoned_node and dev.index == 3 and not dev.mig_profile:
                dev.xid = 79

    def _add_pod(self, pod: Obj, devices: dict | None = None, bind: bool = True) -> PodInfo:
        md = pod["metadata"]
        key = (md["namespace"], md["name"])
        req, usage = self._costs(pod)
        info = PodInfo(_owner_of(pod), pod["spec"].get("nodeName", ""), req, usage, _state_of(pod),
                       devices or {}, self.now, tuple(c["name"] for c in pod["spec"]["containers"]))
        self.pods[key] = info
        if info.state == "unscheduled":
            self.unscheduled.add(key)
        if info.owner:
            self.by_owner.setdefault(info.owner, set()).add(md["name"])
            self._counts.pop(info.owner, None)
        if info.state != "done":
            u = self.ns_usage.setdefault(key[0], {})
            for k, v in usage.items():
                u[k] = u.get(k, 0.0) + v
        return info

    def _forget_pod(self, ns: str, name: str) -> PodInfo | None:
        info = self.pods.pop((ns, name), None)
        if info is None:
            return None
        self.unscheduled.discard((ns, name))
        self._stale += len(info.containers)
        if info.owner:
            self._counts.pop(info.owner, None)
            self.by_owner.get(info.owner, set()).discard(name)
            self.dirty_owners.add(info.owner)
            self.dirty_status.add(info.owner)
        if info.state != "done":
            u = self.ns_usage.setdefault(ns, {})
            for k, v in info.usage.items():
                u[k] = max(0.0, u.get(k, 0.0) - v)
            self.dirty_ns.add(ns)
        if info.node:
            self.sched.release(info.node, info.req, info.devices)
        for dev_ids in info.devices.values():
            for d in dev_ids:
                dev = self.telemetry.gpus.get((info.node, d))
                if dev is not None:
                    dev.holder = None
        t = self.telemetry
        with t.lock:
            for k in [(ns, name, c) for c in info.containers]:
                t.container_cpu_seconds.pop(k, None)
                t.container_memory_bytes.pop(k, None)
                self._last_telemetry.pop(k, None)
                for probe in ("Liveness", "Readiness", "Startup"):
                    for res in ("successful", "failed"):
                        t.probe_counts.pop((ns, name, k[2], probe, res), None)
            t.pod_uids.pop((ns, name), None)
        self.faulty.pop((ns, name), None)
        return info

    def _fault_for(self, pod: Obj) -> Any:
        o = _owner_of(pod)
        plan = None
        if o:
            plan = self.plans.get(o)
        else:
            plan = self.plans.get((pod["metadata"]["namespace"], "Pod", pod["metadata"]["name"]))
        if plan is None or plan.fault is None:
            return None
        f = plan.fault
        cs = {s["name"]: s for s in (pod.get("status") or {}).get("containerStatuses", ())}
        s = cs.get(f.container)
        if f.scope == "one" and s is not None and s["restartCount"] == 0 and f.kind != "readiness":
            return None
        if f.scope == "one" and f.kind == "readiness" and s is not None and s["ready"]:
            return None
        return f

    # --- the step ---------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        steps = max(1, int(math.ceil(seconds / STEP - 1e-9))) if seconds > 0 else 0
        for _ in range(steps):
            self.tick(self.now + STEP)

    def tick(self, now: float) -> None:
        self.now = now
        self._tick_cache = {}
        self._explained = {}
        self.stats["ticks"] += 1
        self._consume_changes()
        self._hpas()
        self._deployments()
        self._reconcile_owners()
        self._retry_pending()
        self._kubelet()
        self._faults()
        self._statuses()
        self._telemetry_step()
        if now >= self._events_gc_at:
            self._events_gc()
            self._events_gc_at = now + 300

    def _consume_changes(self) -> None:
        store = self.store
        start_rv = self.last_rv
        top = store.resource_version
        for res in WATCHED:
            try:
                evs = store.events_since(res, start_rv)
            except ApiError:  # the history moved past us: rebuild what we know
                self._index_all()
                for o in list(self.by_owner):
                    self.dirty_owners.add(o)
                self.last_rv = top
                return
            for e in evs:
                self._on_change(res, e.type, e.obj)
        self.last_rv = max(top, store.resource_version)

    def _on_change(self, res: str, type_: str, obj: Obj) -> None:
        md = obj["metadata"]
        ns, name = md.get("namespace", ""), md["name"]
        if res == "pods":
            key = (ns, name)
            if type_ == "DELETED":
                if self._forget_pod(ns, name) is not None:
                    self.stats["pods_deleted"] += 1
            elif type_ == "ADDED" and key not in self.pods:
                info = self._add_pod(obj)  # created by a user through the API: schedule it
                if info.state == "unscheduled":
                    self._push(self.now, ns, name, "schedule")
                self.dirty_ns.add(ns)
            elif type_ == "MODIFIED" and key in self.pods and md.get("deletionTimestamp"):
                self._push(self.now, ns, name, "delete")
        elif res == "nodes":
            if type_ != "DELETED":
                self.sched.update_node(obj)
        elif res in ("deployments", "replicasets", "statefulsets", "jobs", "daemonsets"):
            kind = obj.get("kind") or {"deployments": "Deployment", "replicasets": "ReplicaSet", "statefulsets": "StatefulSet",
                                       "jobs": "Job", "daemonsets": "DaemonSet"}[res]
            if res == "replicasets" and type_ == "ADDED":
                o = _owner_of(obj)
                if o and o[1] == "Deployment":
                    self.rs_of[(ns, o[2])] = name
            if type_ != "DELETED":
                self.dirty_owners.add((ns, kind, name))
            else:
                self._collect_garbage(kind, ns, name)
        elif res == "resourcequotas" and type_ != "DELETED":
            self.dirty_ns.add(ns)

    def _set_state(self, key: tuple[str, str], info: PodInfo, state: str) -> None:
        info.state = state
        if state == "unscheduled":
            self.unscheduled.add(key)
        else:
            self.unscheduled.discard(key)
        if info.owner:
            self._counts.pop(info.owner, None)

    def _explain(self, req: dict, tol: list, sel: dict | None) -> str:
        """The FitError message, computed once per pod shape per step (it scans every node)."""
        key = (tuple(sorted(req.items())), tuple(tuple(sorted(t.items())) for t in tol), tuple(sorted((sel or {}).items())))
        msg = self._explained.get(key)
        if msg is None:
            msg = self._explained[key] = self.sched.explain(req, tol, sel)
        return msg

    def _push(self, when: float, ns: str, name: str, stage: str) -> None:
        self._seq += 1
        heapq.heappush(self.due, (when, self._seq, ns, name, stage))

    # --- HPA ---------------------------------------------------------------------------------------
    def _ready_counts(self, owner: OwnerKey) -> tuple[int, int, int]:
        """(ready, running but not ready, all non-terminated) pods of an owner (memoised until one changes)."""
        hit = self._counts.get(owner)
        if hit is not None:
            return hit
        ready = running = total = 0
        ns = owner[0]
        for n in self.by_owner.get(owner, ()):
            st = self.pods[(ns, n)].state
            if st == "done":
                continue
            total += 1
            if st == "ready":
                ready += 1
            elif st == "running":
                running += 1
        self._counts[owner] = (ready, running, total)
        return ready, running, total

    def _hpas(self) -> None:
        store = self.store
        for hpa in store.list("horizontalpodautoscalers")[0]:
            ns, name = hpa["metadata"]["namespace"], hpa["metadata"]["name"]
            ref = hpa["spec"]["scaleTargetRef"]
            if ref.get("kind") != "Deployment":
                continue
            dep = store.get("deployments", ns, ref["name"])
            if dep is None:
                self._hpa_without_target(hpa, ref)
                continue
            current = int(dep["spec"].get("replicas", 1))
            rs = self.rs_of.get((ns, ref["name"]))
            ready, unready, total = self._ready_counts((ns, "ReplicaSet", rs)) if rs else (0, 0, 0)
            load = self.loads.get((ns, ref["name"]))
            try:
                spec = spec_from_object(hpa)
            except (KeyError, ValueError, TypeError):
                continue
            readings = hpa_readings(hpa, load, self.now, current, ready, unready)
            hkey = (ns, name)
            d = decide(spec, current, readings, self.history.get(hkey, History()), self.now)
            self.history[hkey] = d.history
            if d.rescale:
                new = copy.copy(dep)
                new["spec"] = dict(dep["spec"], replicas=d.desired)
                new["metadata"] = dict(dep["metadata"], generation=dep["metadata"].get("generation", 1) + 1)
                try:
                    store.replace("deployments", new, expect_rv=dep["metadata"]["resourceVersion"])
                except ApiError:
                    self.stats["conflicts"] += 1
                    continue
                self.stats["rescales"] += 1
                self.last_scale[hkey] = self.now
                self.dirty_owners.add((ns, "Deployment", ref["name"]))
                self._event(hpa, "SuccessfulRescale", f"New size: {d.desired}; reason: {d.reason}",
                            component="horizontal-pod-autoscaler")
            last = self.last_scale.get(hkey)
            if last is None and hpa.get("status", {}).get("lastScaleTime"):
                last_s = hpa["status"]["lastScaleTime"]
            else:
                last_s = rfc3339(last) if last is not None else None
            status = hpa_status(d, total, d.desired, self.now, None,
                                self.now, old=hpa.get("status"))
            if last_s:
                status["lastScaleTime"] = last_s
            if status != hpa.get("status"):
                new_h = dict(hpa, status=status)
                new_h["metadata"] = dict(hpa["metadata"])
                try:
                    store.replace("horizontalpodautoscalers", new_h, expect_rv=hpa["metadata"]["resourceVersion"])
                except ApiError:
                    self.stats["conflicts"] += 1

    def _hpa_without_target(self, hpa: Obj, ref: Obj) -> None:
        old = hpa.get("status") or {}
        msg = f'the HPA controller was unable to get the target\'s current scale: deployments.apps "{ref.get("name")}" not found'
        conds = [c for c in old.get("conditions", ()) if c["type"] != "AbleToScale"]
        prev = next((c for c in old.get("conditions", ()) if c["type"] == "AbleToScale"), None)
        since = prev["lastTransitionTime"] if prev and prev["status"] == "False" else rfc3339(self.now)
        conds.insert(0, {"type": "AbleToScale", "status": "False", "reason": "FailedGetScale", "message": msg,
                         "lastTransitionTime": since})
        status = dict(old, conditions=conds)
        if status != old:
            new = dict(hpa, status=status)
            new["metadata"] = dict(hpa["metadata"])
            try:
                self.store.replace("horizontalpodautoscalers", new, expect_rv=hpa["metadata"]["resourceVersion"])
            except ApiError:
                self.stats["conflicts"] += 1

    # --- Deployment -> ReplicaSet --------------------------------------------------------------------
    def _deployments(self) -> None:
        for owner in [o for o in self.dirty_owners if o[1] == "Deployment"]:
            self.dirty_owners.discard(owner)
            ns, _, name = owner
            dep = self.store.get("deployments", ns, name)
            if dep is None:
                continue
            rs_name = self.rs_of.get((ns, name))
            rs = self.store.get("replicasets", ns, rs_name) if rs_name else None
            if rs is None:  # a Deployment created through the API: its first ReplicaSet
                self._new_replicaset(dep)
                continue
            want = int(dep["spec"].get("replicas", 1))
            have = int(rs["spec"].get("replicas", 0))
            self.dirty_status.add(owner)
            if want == have:
                self.dirty_owners.add((ns, "ReplicaSet", rs_name))
                continue
            new = dict(rs)
            new["spec"] = dict(rs["spec"], replicas=want)
            ann = dict(rs["metadata"].get("annotations") or {})
            ann["deployment.kubernetes.io/desired-replicas"] = str(want)
            ann["deployment.kubernetes.io/max-replicas"] = str(want + max(1, -(-want // 4)))
            new["metadata"] = dict(rs["metadata"], annotations=ann)
            try:
                self.store.replace("replicasets", new, expect_rv=rs["metadata"]["resourceVersion"])
            except ApiError:
                self.stats["conflicts"] += 1
                self.dirty_owners.add(owner)
                continue
            self._event(dep, "ScalingReplicaSet",
                        f"Scaled {'up' if want > have else 'down'} replica set {rs_name} from {have} to {want}",
                        component="deployment-controller")
            self.dirty_owners.add((ns, "ReplicaSet", rs_name))

    def _new_replicaset(self, dep: Obj) -> None:
        md = dep["metadata"]
        ns, name = md["namespace"], md["name"]
        tmpl = dep["spec"].get("template") or {}
        h = mf.template_hash(self.rng)
        labels = {**((tmpl.get("metadata") or {}).get("labels") or {}), "pod-template-hash": h}
        replicas = int(dep["spec"].get("replicas", 1))
        sel = dict(dep["spec"].get("selector") or {})
        sel["matchLabels"] = {**(sel.get("matchLabels") or {}), "pod-template-hash": h}
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{name}-{h}", "namespace": ns, "uid": mf.new_uid(self.rng), "labels": labels,
                           "generation": 1, "ownerReferences": [mf.owner_ref(dep)],
                           "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas),
                                           "deployment.kubernetes.io/max-replicas": str(replicas + max(1, -(-replicas // 4))),
                                           "deployment.kubernetes.io/revision": "1"}},
              "spec": {"replicas": replicas, "selector": sel,
                       "template": {"metadata": dict(tmpl.get("metadata") or {}, labels=labels), "spec": tmpl.get("spec") or {}}},
              "status": {"replicas": 0}}
        try:
            self.store.create("replicasets", rs)
        except ApiError:
            return
        self.rs_of[(ns, name)] = rs["metadata"]["name"]
        plan = self.plans.get((ns, "Deployment", name))
        if plan is not None:
            self.plans[(ns, "ReplicaSet", rs["metadata"]["name"])] = plan
        self.dirty_owners.add((ns, "ReplicaSet", rs["metadata"]["name"]))
        self.dirty_status.add((ns, "Deployment", name))
        self._event(dep, "ScalingReplicaSet", f"Scaled up replica set {rs['metadata']['name']} from 0 to {replicas}",
                    component="deployment-controller")

    def _collect_garbage(self, kind: str, ns: str, name: str) -> None:
        """Foreground-less cascading delete: the owner is gone, so are its dependents."""
        if kind == "Deployment":
            rs = self.rs_of.pop((ns, name), None)
            if rs:
                try:
                    self.store.delete("replicasets", ns, rs)
                except ApiError:
                    pass
                self._collect_garbage("ReplicaSet", ns, rs)
            return
        for pod in sorted(self.by_owner.pop((ns, kind, name), set())):
            try:
                self.store.delete("pods", ns, pod)
            except ApiError:
                pass
            self._forget_pod(ns, pod)
        self.dirty_owners.discard((ns, kind, name))
        self.dirty_status.discard((ns, kind, name))

    # --- pod owners ----------------------------------------------------------------------------------
    def _template_obj(self, owner: OwnerKey) -> Obj | None:
        res = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets", "Job": "jobs", "DaemonSet": "daemonsets",
               "Deployment": "deployments"}.get(owner[1])
        return self.store.get(res, owner[0], owner[2]) if res else None

    def _reconcile_owners(self) -> None:
        owners = [o for o in self.dirty_owners if o[1] != "Deployment"]
        for owner in owners:
            self.dirty_owners.discard(owner)
            wl = self._template_obj(owner)
            if wl is None:
                continue
            self.dirty_status.add(owner)
            kind = owner[1]
            ns = owner[0]
            names = self.by_owner.get(owner, set())
            live = [n for n in names if self.pods[(ns, n)].state != "done"]
            if kind == "DaemonSet":
                self._reconcile_daemonset(wl, owner, live)
                continue
            if kind == "Job":
                if wl.get("status", {}).get("completionTime"):
                    continue
                want = int(wl["spec"].get("parallelism", 1))
            else:
                want = int(wl["spec"].get("replicas", 1))
            if len(live) < want:
                self._create_pods(wl, owner, live, want - len(live))
            elif len(live) > want and kind != "Job":
                self._delete_pods(wl, owner, live, len(live) - want)

    def _create_pods(self, wl: Obj, owner: OwnerKey, live: list[str], n: int) -> None:
        ns, kind, name = owner
        plan = self.plans.get(owner) or PodPlan()
        tmpl = mf.PodTemplate.from_workload(wl, self.rng)
        probe = {"metadata": {"namespace": ns}, "spec": wl["spec"]["template"]["spec"], "status": {}}
        req = pod_requests(probe["spec"])
        usage = quota_usage(probe)
        events = 0
        for i in range(n):
            if kind == "StatefulSet":
                taken = set(live)
                ordinal = next(k for k in range(len(live) + n + 1) if f"{name}-{k}" not in taken)
                pod_name = f"{name}-{ordinal}"
                live.append(pod_name)
            else:
                while True:
                    pod_name = f"{name}-{mf.suffix(self.rng)}"
                    if (ns, pod_name) not in self.pods and self.store.get("pods", ns, pod_name) is None:
                        break
            refused = self._quota_refusal(ns, usage, pod_name)
            if refused:
                if events < 1:
                    self._event(wl, "FailedCreate", f"Error creating: {refused}", type_="Warning",
                                component="replicaset-controller" if kind == "ReplicaSet" else f"{kind.lower()}-controller")
                    events += 1
                return
            labels = None
            if kind == "StatefulSet":
                labels = {**tmpl.labels, "apps.kubernetes.io/pod-index": str(ordinal),
                          "statefulset.kubernetes.io/pod-name": pod_name}
            uid = mf.new_uid(self.rng)
            gen = f"{name}-" if kind in ("ReplicaSet", "Job", "DaemonSet") else ""
            pod = tmpl.pod(pod_name, uid, self.now, None, "", "", [], "Pending",
                           [], None, labels=labels, generate_name=gen,
                           hostname=pod_name if kind == "StatefulSet" else "")
            pod["status"] = {"phase": "Pending", "qosClass": tmpl.qos}
            try:
                pod = self.store.create("pods", pod)
            except ApiError:
                continue
            self.stats["pods_created"] += 1
            info = self._add_pod(pod)
            self.dirty_ns.add(ns)
            if events < 3:
                self._event(wl, "SuccessfulCreate", f"Created pod: {pod_name}",
                            component="replicaset-controller" if kind == "ReplicaSet" else f"{kind.lower()}-controller")
                events += 1
            self._schedule(ns, pod_name, info, plan)

    def _quota_refusal(self, ns: str, usage: dict[str, float], pod_name: str) -> str:
        used = self.ns_usage.get(ns, {})
        for q in self.store.list("resourcequotas", ns)[0]:
            hard = q["spec"].get("hard", {})
            over = []
            for key, hv in hard.items():
                if key != "pods" and key not in QUOTA_KEYS:
                    continue
                add = usage.get(key, 0.0)
                if not add:
                    continue
                if used.get(key, 0.0) + add > parse_quantity(hv) + 1e-9:
                    over.append(key)
            if over:
                req = ",".join(f"{k}={format_quantity(k, usage.get(k, 0.0))}" for k in over)
                u = ",".join(f"{k}={format_quantity(k, used.get(k, 0.0))}" for k in over)
                lim = ",".join(f"{k}={hard[k]}" for k in over)
                return (f'pods "{pod_name}" is forbidden: exceeded quota: {q["metadata"]["name"]}, '
                        f"requested: {req}, used: {u}, limited: {lim}")
        return ""

    def _delete_pods(self, wl: Obj, owner: OwnerKey, live: list[str], n: int) -> None:
        ns, kind, name = owner
        rank = {"unscheduled": 0, "creating": 1, "running": 2, "ready": 3}
        if kind == "StatefulSet":
            victims = sorted(live, key=lambda p: -int(p.rsplit("-", 1)[1]) if p.rsplit("-", 1)[1].isdigit() else 0)[:n]
        else:
            victims = sorted(live, key=lambda p: (rank.get(self.pods[(ns, p)].state, 0), -self.pods[(ns, p)].created))[:n]
        for i, p in enumerate(victims):
            try:
                self.store.delete("pods", ns, p)
            except ApiError:
                continue
            self._forget_pod(ns, p)
            self.stats["pods_deleted"] += 1
            if i < 3:
                self._event(wl, "SuccessfulDelete", f"Deleted pod: {p}",
                            component="replicaset-controller" if kind == "ReplicaSet" else f"{kind.lower()}-controller")

    def _reconcile_daemonset(self, ds: Obj, owner: OwnerKey, live: list[str]) -> None:
        ns = owner[0]
        have = {self.pods[(ns, n)].node for n in live}
        spec = ds["spec"]["template"]["spec"]
        sel = spec.get("nodeSelector") or {}
        for s in self.sched.order:
            if s.name in have or any(s.labels.get(k) != v for k, v in sel.items()):
                continue
            tmpl = mf.PodTemplate.from_workload(ds, self.rng)
            pod_name = f"{owner[2]}-{mf.suffix(self.rng)}"
            pod = tmpl.pod(pod_name, mf.new_uid(self.rng), self.now, None, "", "", [], "Pending", [], None,
                           generate_name=f"{owner[2]}-")
            pod["status"] = {"phase": "Pending", "qosClass": tmpl.qos}
            pod["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [s.name]}]}]}}}
            try:
                pod = self.store.create("pods", pod)
            except ApiError:
                continue
            info = self._add_pod(pod)
            self._bind(ns, pod_name, info, s)

    # --- scheduling and the kubelet -----------------------------------------------------------------
    def _schedule(self, ns: str, name: str, info: PodInfo, plan: PodPlan | None = None) -> bool:
        pod = self.store.get("pods", ns, name)
        if pod is None:
            return False
        spec = pod["spec"]
        tol = spec.get("tolerations", [])
        sel = spec.get("nodeSelector")
        zone = plan.preferred_zone if plan else ""
        slot = self.sched.place(info.req, tol, sel, zone)
        if slot is None:
            msg = self._explain(info.req, tol, sel)
            new = dict(pod)
            new["status"] = dict(pod.get("status") or {}, phase="Pending",
                                 conditions=mf.pod_conditions(self.now, None, None, unschedulable_msg=msg))
            self._replace_pod(pod, new)
            self._event(pod, "FailedScheduling", msg, type_="Warning", component="default-scheduler")
            self._set_state((ns, name), info, "unscheduled")
            return False
        self._bind(ns, name, info, slot, pod)
        return True

    def _bind(self, ns: str, name: str, info: PodInfo, slot: Any, pod: Obj | None = None) -> None:
        pod = pod or self.store.get("pods", ns, name)
        if pod is None:
            return
        devices = self.sched.bind(slot, info.req)
        info.node, info.devices = slot.name, devices
        self._set_state((ns, name), info, "creating")
        tmpl_cs = pod["spec"]["containers"]
        statuses = [mf.waiting_status(c, "ContainerCreating") for c in tmpl_cs]
        for s in statuses:
            s.pop("imageID", None)
            s["imageID"] = ""
        conds = [{"type": "PodReadyToStartContainers", "status": "False", "lastProbeTime": None, "lastTransitionTime": rfc3339(self.now)},
                 {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": rfc3339(self.now)},
                 {"type": "Ready", "status": "False", "lastProbeTime": None, "lastTransitionTime": rfc3339(self.now),
                  "reason": "ContainersNotReady", "message": f"containers with unready status: [{' '.join(c['name'] for c in tmpl_cs)}]"},
                 {"type": "ContainersReady", "status": "False", "lastProbeTime": None, "lastTransitionTime": rfc3339(self.now),
                  "reason": "ContainersNotReady", "message": f"containers with unready status: [{' '.join(c['name'] for c in tmpl_cs)}]"},
                 {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": rfc3339(self.now)}]
        new = dict(pod)
        new["spec"] = dict(pod["spec"], nodeName=slot.name)
        new["status"] = {"phase": "Pending", "conditions": conds, "hostIP": slot.host_ip, "hostIPs": [{"ip": slot.host_ip}],
                         "startTime": rfc3339(self.now), "containerStatuses": statuses,
                         "qosClass": (pod.get("status") or {}).get("qosClass", "Burstable")}
        if not self._replace_pod(pod, new):
            return
        self._event(new, "Scheduled", f"Successfully assigned {ns}/{name} to {slot.name}", component="default-scheduler")
        with self.telemetry.lock:
            self.telemetry.pod_uids[(ns, name)] = pod["metadata"]["uid"]
            cname = tmpl_cs[0]["name"]
            for ids in devices.values():
                for d in ids:
                    dev = self.telemetry.gpus.get((slot.name, d))
                    if dev is not None:
                        dev.holder = (ns, name, cname)
        self._push(self.now + self.rng.uniform(3, 12), ns, name, "run")

    def _replace_pod(self, old: Obj, new: Obj) -> bool:
        try:
            self.store.replace("pods", new, expect_rv=old["metadata"]["resourceVersion"])
            return True
        except ApiError:
            self.stats["conflicts"] += 1
            return False

    def _retry_pending(self) -> None:
        if self.now < self._pending_retry_at:
            return
        self._pending_retry_at = self.now + 60
        budget = 200
        for ns, name in sorted(self.unscheduled):
            info = self.pods.get((ns, name))
            if info is None or info.state != "unscheduled":
                self.unscheduled.discard((ns, name))
                continue
            budget -= 1
            if budget < 0:
                break
            plan = self.plans.get(info.owner) if info.owner else None
            pod = self.store.get("pods", ns, name)
            if pod is None:
                continue
            spec = pod["spec"]
            slot = self.sched.place(info.req, spec.get("tolerations", []), spec.get("nodeSelector"),
                                    plan.preferred_zone if plan else "")
            if slot is not None:
                self._bind(ns, name, info, slot, pod)
            else:
                msg = self._explain(info.req, spec.get("tolerations", []), spec.get("nodeSelector"))
                self._event(pod, "FailedScheduling", msg, type_="Warning", component="default-scheduler")

    def _kubelet(self) -> None:
        while self.due and self.due[0][0] <= self.now:
            _, _, ns, name, stage = heapq.heappop(self.due)
            info = self.pods.get((ns, name))
            pod = self.store.get("pods", ns, name)
            if info is None or pod is None:
                continue
            if stage == "schedule":
                if info.state == "unscheduled":
                    self._schedule(ns, name, info, self.plans.get(info.owner) if info.owner else None)
            elif stage == "delete":
                try:
                    self.store.delete("pods", ns, name)
                except ApiError:
                    pass
                self._forget_pod(ns, name)
            elif stage == "run" and info.state == "creating":
                self._start_containers(ns, name, info, pod)
            elif stage == "ready" and info.state == "running":
                self._mark_ready(ns, name, info, pod)

    def _start_containers(self, ns: str, name: str, info: PodInfo, pod: Obj) -> None:
        fault = self._fault_for_new(pod)
        statuses = []
        for c in pod["spec"]["containers"]:
            ref = mf.image_id(c["image"], self.rng)
            if fault and fault.container == c["name"] and fault.kind == "crashloop":
                cid = f"containerd://{mf.hex_id(self.rng, 64)}"
                last = mf.terminated_state(fault.reason, fault.exit_code, self.now, self.now + 5, cid)
                statuses.append(mf.waiting_status(c, "CrashLoopBackOff",
                                                  f"back-off 10s restarting failed container={c['name']} pod={name}_{ns}({pod['metadata']['uid']})",
                                                  ref, 1, last, cid))
            else:
                statuses.append(mf.running_status(c, ref, self.rng, self.now, ready=False))
        new = dict(pod)
        new["status"] = dict(pod.get("status") or {}, phase="Running", podIP=self.sched.next_pod_ip(self.sched.nodes[info.node]) if info.node in self.sched.nodes else "",
                             containerStatuses=statuses)
        new["status"]["podIPs"] = [{"ip": new["status"]["podIP"]}]
        conds = [dict(c) for c in (pod.get("status") or {}).get("conditions", ())]
        for c in conds:
            if c["type"] == "PodReadyToStartContainers":
                c["status"] = "True"
                c["lastTransitionTime"] = rfc3339(self.now)
        new["status"]["conditions"] = conds
        if not self._replace_pod(pod, new):
            self._push(self.now + STEP, ns, name, "run")
            return
        self._set_state((ns, name), info, "running")
        if info.owner:
            self.dirty_status.add(info.owner)
        with self.telemetry.lock:
            for c in pod["spec"]["containers"]:
                k = (ns, name, c["name"])
                self.telemetry.container_cpu_seconds[k] = 0.0
                self.telemetry.container_memory_bytes[k] = 0.0
                self._telemetry_keys.append(k)
                self._last_telemetry[k] = self.now
                for probe, f in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"), ("Startup", "startupProbe")):
                    if c.get(f):
                        self.telemetry.probe_counts[(ns, name, c["name"], probe, "successful")] = 0
        if fault:
            self.faulty[(ns, name)] = (fault, self.now + 10)
            if fault.kind in ("crashloop", "startup"):
                return  # never becomes ready
        delay = 10.0
        spec_c = pod["spec"]["containers"][0]
        if (spec_c.get("resources", {}).get("limits") or {}).get("nvidia.com/gpu"):
            delay = self.rng.uniform(60, 150)  # model weights load onto the GPU
        elif spec_c.get("readinessProbe"):
            delay = spec_c["readinessProbe"].get("initialDelaySeconds", 0) + spec_c["readinessProbe"].get("periodSeconds", 10)
        self._push(self.now + delay, ns, name, "ready")

    def _fault_for_new(self, pod: Obj) -> Any:
        o = _owner_of(pod)
        plan = self.plans.get(o) if o else None
        if plan is None or plan.fault is None or plan.fault.scope != "all":
            return None
        return plan.fault

    def _mark_ready(self, ns: str, name: str, info: PodInfo, pod: Obj) -> None:
        new = dict(pod)
        conds = []
        for c in (pod.get("status") or {}).get("conditions", ()):
            c = dict(c)
            if c["type"] in ("Ready", "ContainersReady"):
                c = {"type": c["type"], "status": "True", "lastProbeTime": None, "lastTransitionTime": rfc3339(self.now)}
            conds.append(c)
        statuses = []
        for s in (pod.get("status") or {}).get("containerStatuses", ()):
            s = dict(s)
            if "running" in s.get("state", {}):
                s["ready"] = True
            statuses.append(s)
        new["status"] = dict(pod.get("status") or {}, conditions=conds, containerStatuses=statuses)
        if not self._replace_pod(pod, new):
            self._push(self.now + STEP, ns, name, "ready")
            return
        self._set_state((ns, name), info, "ready")
        if info.owner:
            self.dirty_status.add(info.owner)
        self.dirty_ns.add(ns)

    # --- planted failures keep failing ---------------------------------------------------------------
    def _faults(self) -> None:
        for (ns, name), (fault, when) in list(self.faulty.items()):
            if when > self.now:
                continue
            pod = self.store.get("pods", ns, name)
            info = self.pods.get((ns, name))
            if pod is None or info is None:
                self.faulty.pop((ns, name), None)
                continue
            node = pod["spec"].get("nodeName", "")
            fp = f"spec.containers{{{fault.container}}}"
            t = self.telemetry
            if fault.kind == "readiness":
                self._bump_event(pod, "Unhealthy", fault.probe_message or "Readiness probe failed: HTTP probe failed with statuscode: 503",
                                 fp, node, 3)
                with t.lock:
                    k = (ns, name, fault.container, "Readiness", "failed")
                    t.probe_counts[k] = t.probe_counts.get(k, 0) + 3
                self.faulty[(ns, name)] = (fault, self.now + 30)
                continue
            # a restart: crash loops back off up to 5 minutes, probe kills follow failureThreshold x period
            new = dict(pod)
            statuses = []
            restarts = 0
            for s in (pod.get("status") or {}).get("containerStatuses", ()):
                s = dict(s)
                if s["name"] == fault.container:
                    restarts = s["restartCount"] + 1
                    cid = s.get("containerID") or f"containerd://{mf.hex_id(self.rng, 64)}"
                    started = self.now - (20 if fault.kind == "crashloop" else 120)
                    reason = fault.reason if fault.kind == "crashloop" else "Error"
                    code = fault.exit_code if fault.kind == "crashloop" else 137
                    s["lastState"] = {"terminated": mf.terminated_state(reason, code, started, self.now - 1, cid)}
                    s["restartCount"] = restarts
                    new_cid = f"containerd://{mf.hex_id(self.rng, 64)}"
                    s["containerID"] = new_cid
                    if fault.kind == "crashloop":
                        backoff = min(300, 10 * 2 ** min(5, restarts - 1))
                        s["state"] = {"waiting": {"reason": "CrashLoopBackOff",
                                                  "message": f"back-off {_dur(backoff)} restarting failed container={s['name']} pod={name}_{ns}({pod['metadata']['uid']})"}}
                        s["ready"] = False
                        s["started"] = False
                    else:
                        s["state"] = {"running": {"startedAt": rfc3339(self.now)}}
                        s["started"] = fault.kind != "startup"
                statuses.append(s)
            new["status"] = dict(pod.get("status") or {}, containerStatuses=statuses)
            if not self._replace_pod(pod, new):
                continue
            with t.lock:
                if fault.kind in ("liveness", "startup"):
                    probe = fault.kind.capitalize()
                    k = (ns, name, fault.container, probe, "failed")
                    t.probe_counts[k] = t.probe_counts.get(k, 0) + 3
                mem = t.container_memory_bytes
                if fault.reason == "OOMKilled":
                    mem[(ns, name, fault.container)] = 0.0
            if fault.kind == "crashloop":
                self._bump_event(pod, "BackOff", f"Back-off restarting failed container {fault.container} in pod {name}_{ns}({pod['metadata']['uid']})",
                                 fp, node, 2)
                nxt = self.now + min(300, 10 * 2 ** min(5, restarts - 1)) + 20
            else:
                probe = fault.kind.capitalize()
                msg = fault.probe_message or f"{probe} probe failed: HTTP probe failed with statuscode: 500"
                self._bump_event(pod, "Unhealthy", msg, fp, node, 3)
                self._bump_event(pod, "Killing", f"Container {fault.container} failed {fault.kind} probe, will be restarted",
                                 fp, node, 1, type_="Normal")
                nxt = self.now + (600 if fault.kind == "liveness" else 150)
            self.faulty[(ns, name)] = (fault, nxt)

    # --- status -----------------------------------------------------------------------------------------
    def _statuses(self) -> None:
        owners, self.dirty_status = self.dirty_status, set()
        deps_touched: set[tuple[str, str]] = set()
        for owner in owners:
            ns, kind, name = owner
            if kind == "Deployment":
                deps_touched.add((ns, name))
                continue
            wl = self._template_obj(owner)
            if wl is None:
                continue
            ready, running, total = self._ready_counts(owner)
            gen = wl["metadata"].get("generation", 1)
            if kind == "ReplicaSet":
                st = rs_status(wl["spec"].get("replicas", 0), total, ready, gen)
                o = _owner_of(wl)
                if o:
                    deps_touched.add((ns, o[2]))
            elif kind == "StatefulSet":
                rev = wl.get("status", {}).get("currentRevision", f"{name}-0")
                st = sts_status(wl["spec"].get("replicas", 1), total, ready, rev, gen)
            elif kind == "Job":
                st = dict(wl.get("status", {}))
                if st.get("completionTime"):
                    continue
                st["active"] = total
                st["ready"] = ready
            elif kind == "DaemonSet":
                st = dict(wl.get("status", {}))
                st["currentNumberScheduled"] = total
                st["numberReady"] = st["numberAvailable"] = ready
                if total - ready > 0:
                    st["numberUnavailable"] = total - ready
                else:
                    st.pop("numberUnavailable", None)
            else:
                continue
            self._write_status(wl, st)
            self.dirty_ns.add(ns)
        for ns, name in deps_touched:
            dep = self.store.get("deployments", ns, name)
            rs_name = self.rs_of.get((ns, name))
            if dep is None or rs_name is None:
                continue
            ready, running, total = self._ready_counts((ns, "ReplicaSet", rs_name))
            created = _ts(dep["metadata"]["creationTimestamp"])
            st = deployment_status(dep["spec"].get("replicas", 1), total, ready, created, rs_name, self.now,
                                   dep["metadata"].get("generation", 1))
            old = dep.get("status", {})
            # keep transition times of unchanged conditions
            prev = {c["type"]: c for c in old.get("conditions", ())}
            for c in st["conditions"]:
                p = prev.get(c["type"])
                if p and p["status"] == c["status"]:
                    c["lastTransitionTime"] = p["lastTransitionTime"]
                    if c["type"] == "Available":
                        c["lastUpdateTime"] = p.get("lastUpdateTime", c["lastUpdateTime"])
            self._write_status(dep, st)
        dirty_ns, self.dirty_ns = self.dirty_ns, set()
        for ns in dirty_ns:
            used = self.ns_usage.get(ns, {})
            for q in self.store.list("resourcequotas", ns)[0]:
                self._write_status(q, quota_status(q, used))
            for pdb in self.store.list("poddisruptionbudgets", ns)[0]:
                healthy, expected = self._pdb_counts(pdb)
                st = pdb_status(pdb, healthy, expected, self.now)
                old = pdb.get("status", {})
                if old.get("conditions") and old["conditions"][0]["status"] == st["conditions"][0]["status"]:
                    st["conditions"][0]["lastTransitionTime"] = old["conditions"][0]["lastTransitionTime"]
                self._write_status(pdb, st)

    def _pdb_counts(self, pdb: Obj) -> tuple[int, int]:
        ns = pdb["metadata"]["namespace"]
        sel = pdb["spec"].get("selector", {}).get("matchLabels", {})
        name = sel.get("app.kubernetes.io/name")
        for kind, res in (("Deployment", "deployments"), ("StatefulSet", "statefulsets")):
            wl = self.store.get(res, ns, name) if name else None
            if wl is None:
                continue
            owner = (ns, "ReplicaSet", self.rs_of.get((ns, name), "")) if kind == "Deployment" else (ns, kind, name)
            ready, _, _ = self._ready_counts(owner)
            return ready, int(wl["spec"].get("replicas", 1))
        return 0, 0

    def _write_status(self, obj: Obj, status: Obj) -> None:
        if obj.get("status") == status:
            return
        res = {"Deployment": "deployments", "ReplicaSet": "replicasets", "StatefulSet": "statefulsets", "Job": "jobs",
               "DaemonSet": "daemonsets", "ResourceQuota": "resourcequotas",
               "PodDisruptionBudget": "poddisruptionbudgets"}[obj["kind"]]
        new = dict(obj, status=status)
        new["metadata"] = dict(obj["metadata"])
        try:
            self.store.replace(res, new, expect_rv=obj["metadata"]["resourceVersion"])
        except ApiError:
            self.stats["conflicts"] += 1
            if obj["kind"] in ("ResourceQuota", "PodDisruptionBudget"):
                self.dirty_ns.add(obj["metadata"]["namespace"])

    # --- events --------------------------------------------------------------------------------------------
    AGGREGATED = ("FailedCreate", "FailedScheduling", "BackOff", "Unhealthy")

    def _event(self, involved: Obj, reason: str, message: str, type_: str = "Normal", component: str = "kubelet",
               host: str = "", field_path: str = "") -> None:
        if reason in self.AGGREGATED:  # the event correlator folds repeats into one event's count
            md = involved["metadata"]
            name = self.event_ix.get((md.get("namespace", ""), md["name"], reason))
            ev = self.store.get("events", md.get("namespace") or "default", name) if name else None
            if ev is not None:
                new = dict(ev, count=ev.get("count", 1) + 1, lastTimestamp=rfc3339(self.now), message=message)
                new["metadata"] = dict(ev["metadata"])
                try:
                    self.store.replace("events", new, expect_rv=ev["metadata"]["resourceVersion"])
                    return
                except ApiError:
                    pass
        ev = mf.event(self.rng, involved, reason, message, self.now, self.now, type_=type_, component=component,
                      host=host, field_path=field_path)
        try:
            self.store.create("events", ev)
        except ApiError:
            return
        md = involved["metadata"]
        self.event_ix[(md.get("namespace", ""), md["name"], reason)] = ev["metadata"]["name"]

    def _bump_event(self, pod: Obj, reason: str, message: str, field_path: str, host: str, by: int,
                    type_: str = "Warning") -> None:
        md = pod["metadata"]
        name = self.event_ix.get((md["namespace"], md["name"], reason))
        ev = self.store.get("events", md["namespace"], name) if name else None
        if ev is None:
            self._event(pod, reason, message, type_=type_, host=host, field_path=field_path)
            return
        new = dict(ev, count=ev.get("count", 1) + by, lastTimestamp=rfc3339(self.now), message=message)
        new["metadata"] = dict(ev["metadata"])
        try:
            self.store.replace("events", new, expect_rv=ev["metadata"]["resourceVersion"])
        except ApiError:
            pass

    def _events_gc(self) -> None:
        """Events live an hour after their last occurrence (the apiserver's --event-ttl)."""
        cutoff = rfc3339(self.now - 3600)
        for ev in self.store.list("events")[0]:
            if (ev.get("lastTimestamp") or ev["metadata"]["creationTimestamp"]) < cutoff:
                io = ev["involvedObject"]
                if self.pods.get((io.get("namespace", ""), io["name"])) is not None and (io.get("namespace", ""), io["name"]) in self.faulty:
                    continue  # a still-failing container keeps its event alive
                try:
                    self.store.delete("events", ev["metadata"]["namespace"], ev["metadata"]["name"])
                except ApiError:
                    pass

    # --- telemetry -------------------------------------------------------------------------------------------
    def _telemetry_step(self) -> None:
        t = self.telemetry
        now = self.now
        dt_gpu = max(0.0, now - self._gpu_last)
        self._gpu_last = now
        models = self.scenario.builder.gpu_models
        with t.lock:
            for (node, _), dev in t.gpus.items():
                target, fb_frac = self._gpu_target(dev)
                r = random.Random(zlib.crc32(f"{dev.uuid}/{dev.mig_instance}/{int(now // STEP)}".encode()))
                dev.util = max(0.0, min(100.0, 0.6 * dev.util + 0.4 * target + r.uniform(-2, 2) * (target > 5)))
                if target < 5:
                    dev.util = min(dev.util, 4.0)
                m = models.get(node)
                idle, mx = (m.idle_w, m.max_w) if m else (50.0, 300.0)
                if dev.mig_profile:
                    share = int(dev.mig_profile.split("g.")[0]) / 7.0
                    idle, mx = idle * share, mx * share
                dev.power_w = round(idle + (mx - idle) * dev.util / 100.0 + r.uniform(-1, 1), 3)
                dev.fb_used_mib = float(int(dev.fb_total_mib * fb_frac)) if dev.holder else 0.0
                dev.temp_c = round(30.0 + dev.util * 0.45 + r.uniform(-0.5, 0.5), 1)
                dev.energy_mj += dev.power_w * dt_gpu * 1000.0
            self._containers_step()

    def _gpu_target(self, dev: Any) -> tuple[float, float]:
        if dev.holder is None:
            return 0.0, 0.0
        ns, pod, _ = dev.holder
        info = self.pods.get((ns, pod))
        plan = self.plans.get(info.owner) if info and info.owner else self.plans.get((ns, "Pod", pod))
        use = plan.gpu_use if plan else "train"
        if info is None or info.state not in ("running", "ready"):
            return 0.0, 0.05
        if use == "train":
            return 93.0, 0.9
        if use == "eval":
            return 55.0, 0.6
        if use == "notebook":
            return 1.5, 0.18
        if use == "stalled":
            return 0.5, 0.72
        if use == "serve" and info.owner:
            dep = self._deployment_of(info.owner)
            load = self.loads.get((ns, dep)) if dep else None
            if load:
                return min(97.0, 15.0 + 0.9 * 100.0 * self._busy(info, self._tick_cache)), 0.7
        return 50.0, 0.7

    def _deployment_of(self, owner: OwnerKey) -> str:
        if owner[1] != "ReplicaSet":
            return ""
        return owner[2].rsplit("-", 1)[0]

    def _containers_step(self) -> None:
        """CPU seconds and memory over a bounded slice of containers per step (exact at update time)."""
        t = self.telemetry
        keys = self._telemetry_keys
        n = len(keys)
        if not n:
            return
        chunk = n if n <= 20000 else max(20000, n // 8)
        i = self._telemetry_cursor
        end = min(n, i + chunk)
        cpu, mem, last = t.container_cpu_seconds, t.container_memory_bytes, self._last_telemetry
        util_cache = self._tick_cache
        pc = t.probe_counts
        rnd = self.rng.random
        for j in range(i, end):
            k = keys[j]
            if k not in cpu:
                continue
            ns, pod, cname = k
            info = self.pods.get((ns, pod))
            if info is None:
                continue
            dt = self.now - last.get(k, self.now)
            last[k] = self.now
            if info.state not in ("running", "ready") or dt <= 0:
                continue
            cores = info.req.get("cpu", 0.1) or 0.1
            busy = self._busy(info, util_cache)
            cpu[k] = cpu[k] + cores * busy * dt
            target = (info.req.get("memory", 268435456.0) or 268435456.0) * (0.45 + 0.3 * min(1.0, busy))
            mem[k] = float(int(mem[k] * 0.9 + target * 0.1)) if mem[k] else float(int(target * 0.8))
            # successful probes since the last update, one per 10 s period (counters only grow)
            n_probes = int(dt / 10.0 + rnd())
            for probe in ("Liveness", "Readiness"):
                pk = (ns, pod, cname, probe, "successful")
                if pk in pc:
                    pc[pk] += n_probes
        self._telemetry_cursor = 0 if end >= n else end
        if self._stale > max(1000, n // 10) and self._telemetry_cursor == 0:
            # compact the key list once deleted pods' keys pile up (only between full passes)
            self._telemetry_keys = [k for k in keys if k in cpu]
            self._stale = 0

    def _busy(self, info: PodInfo, cache: dict) -> float:
        if info.owner is None:
            return 0.05
        b = cache.get(info.owner)
        if b is None:
            plan = self.plans.get(info.owner)
            dep = self._deployment_of(info.owner)
            load = self.loads.get((info.owner[0], dep)) if dep else None
            if load:
                ready, _, _ = self._ready_counts(info.owner)
                b = min(2.0, load.utilization(self.now, max(1, ready)) / 100.0)
            else:
                b = plan.cpu_busy if plan else 0.3
            cache[info.owner] = b
        return b
