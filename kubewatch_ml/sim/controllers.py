"""The control-plane half of the dynamics: the HPA controller, the Deployment controller (spec.replicas ->
its ReplicaSet, a first ReplicaSet for Deployments created through the API), the ReplicaSet / StatefulSet /
Job / DaemonSet controllers (create or delete pods, quota admission, garbage collection) and the scheduler
binding. A mixin of Dynamics (dynamics.py), which owns the indexes these methods read and write."""
from __future__ import annotations

import copy
from typing import Any

from . import manifests as mf
from .builder import PodPlan, hpa_failure_events, hpa_readings, hpa_status
from .hpa_controller import History, decide, spec_from_object
from .manifests import rfc3339
from .objects import ApiError
from .scheduler import pod_requests
from .units import QUOTA_KEYS, format_quantity, parse_quantity, quota_usage
from .dynamics_state import Obj, OwnerKey, PodInfo


class WorkloadControllers:
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
            blind = next((c for c in d.conditions if c.type == "ScalingActive" and c.status == "False"), None)
            if blind is not None and blind.reason != "ScalingDisabled":
                for reason, msg in hpa_failure_events(blind, len(spec.metrics), d):
                    self._event(hpa, reason, msg, type_="Warning", component="horizontal-pod-autoscaler")
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
