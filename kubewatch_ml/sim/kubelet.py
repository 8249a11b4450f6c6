"""The node half of the dynamics: containers start (ContainerCreating -> Running -> Ready after the
readiness delay; GPU serving pods load weights first), and the planted failures keep failing — crash loops
with growing back-off, liveness / startup kills, readiness failures — with restart counts, probe counters
and Events that grow. A mixin of Dynamics (dynamics.py)."""
from __future__ import annotations

import heapq
import zlib
from typing import Any

from . import manifests as mf
from .control_plane import NODE_LEASE_NS, is_ready, micro_time
from .manifests import rfc3339
from .objects import ApiError
from .dynamics_state import STEP, Obj, PodInfo, dur as _dur, owner_of as _owner_of


class Kubelet:
    HEARTBEAT_S = 300  # nodeStatusReportFrequency: an unchanged node status is re-posted every 5 minutes

    def _renew_leases(self) -> None:
        """Each Ready node's kubelet renews its Lease in kube-node-lease (every 10 s in a real cluster: at
        every 15 s step here, stamped within the last 10 s; above 500 nodes half of them per step, so a lease
        is never older than 40 s, its duration); a NotReady node's lease stays stale."""
        names = self._node_names
        if len(names) > 500:
            self._lease_half = 1 - getattr(self, "_lease_half", 0)
            names = names[self._lease_half::2]
        for name in names:
            node = self.store.get("nodes", "", name)
            if node is None or not is_ready(node):
                continue
            lease = self.store.get("leases", NODE_LEASE_NS, name)
            if lease is None:
                continue
            new = dict(lease)
            new["metadata"] = dict(lease["metadata"])
            new["spec"] = dict(lease["spec"], renewTime=micro_time(self.now - (zlib.crc32(name.encode()) % 10000) / 1000.0))
            try:
                self.store.replace("leases", new, expect_rv=lease["metadata"]["resourceVersion"])
            except ApiError:
                pass  # a concurrent write wins; renewed again next step

    def _heartbeats(self) -> None:
        """Ready nodes re-post their status every 5 minutes: a slice of the nodes per step."""
        self._renew_leases()
        names = self._node_names
        if not names:
            return
        per_step = max(1, -(-len(names) * 15 // self.HEARTBEAT_S))
        start = self._hb_cursor
        self._hb_cursor = (start + per_step) % len(names)
        hb = rfc3339(self.now)
        for i in range(start, start + per_step):
            node = self.store.get("nodes", "", names[i % len(names)])
            if node is None:
                continue
            conds = (node.get("status") or {}).get("conditions") or []
            ready = next((c for c in conds if c["type"] == "Ready"), None)
            if ready is None or ready["status"] != "True":
                continue  # a NotReady node's kubelet is not posting
            new = dict(node)
            new["status"] = dict(node["status"], conditions=[dict(c, lastHeartbeatTime=hb) for c in conds])
            new["metadata"] = dict(node["metadata"])
            try:
                self.store.replace("nodes", new, expect_rv=node["metadata"]["resourceVersion"])
            except ApiError:
                pass  # a user's concurrent change (cordon, label) wins; next round posts again

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
            elif stage == "succeed" and info.state in ("running", "ready"):
                self._succeed_pod(ns, name, pod)

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
            self._cronjob_pod_started(ns, name, info)
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
