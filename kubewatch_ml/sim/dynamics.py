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

import heapq
import math
import random
from typing import Any

from . import manifests as mf
from .builder import PodPlan, deployment_status, pdb_status, quota_status, rs_status, sts_status
from .controllers import WorkloadControllers
from .cronjobs import CronJobController
from .dynamics_state import STEP, WATCHED, Obj, OwnerKey, PodInfo  # noqa: F401 (STEP re-exported for cluster.py)
from .dynamics_state import owner_of as _owner_of, state_of as _state_of, ts as _ts
from .hpa_controller import History
from .kubelet import Kubelet
from .manifests import rfc3339
from .objects import ApiError, ObjectStore
from .readings import Readings
from .scheduler import pod_requests
from .telemetry import Telemetry
from .units import quota_usage


class Dynamics(WorkloadControllers, Kubelet, Readings, CronJobController):
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
        self._hb_cursor = 0
        self._node_names = [n["metadata"]["name"] for n in store.list("nodes")[0]]
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
        self._cronjobs()
        self._reconcile_owners()
        self._retry_pending()
        self._kubelet()
        self._heartbeats()
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
        read = getattr(store, "events_after", store.events_since)  # O(new events) where the store has it
        for res in WATCHED:
            try:
                evs = read(res, start_rv)
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
        elif res == "namespaces" and type_ == "ADDED":
            self._default_service_account(obj)
        elif res == "cronjobs" and type_ == "DELETED":  # cascade: its Jobs (and their pods) go too
            for j in self.store.list("jobs", ns)[0]:
                if any(r.get("uid") == md.get("uid") for r in j["metadata"].get("ownerReferences") or []):
                    try:
                        self.store.delete("jobs", ns, j["metadata"]["name"])
                    except ApiError:
                        pass
                    self._collect_garbage("Job", ns, j["metadata"]["name"])  # (this step's events are not replayed)

    def _default_service_account(self, ns_obj: Obj) -> None:
        """The ServiceAccount controller: a new namespace gets its "default" ServiceAccount."""
        name = ns_obj["metadata"]["name"]
        if self.store.get("serviceaccounts", name, "default") is not None:
            return
        try:
            self.store.create("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                  "metadata": {"name": "default", "namespace": name}})
        except ApiError:
            pass  # created meanwhile

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
                st = self._job_completion(wl, owner, st)
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
    AGGREGATED = ("FailedCreate", "FailedScheduling", "BackOff", "Unhealthy", "FailedGetPodsMetric",
                  "FailedGetResourceMetric", "FailedGetExternalMetric", "FailedComputeMetricsReplicas")

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
