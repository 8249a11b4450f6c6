"""The mechanics of assembling a cluster: node pools, workloads with their ReplicaSets and pods
(scheduled, started, failing as asked), HPAs, PDBs, Services, quotas computed from the pods, and the
telemetry each pod starts with. scenario.py decides *what* to plant; this module knows *how*."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from . import manifests as mf
from .hpa_controller import History, Reading, decide, spec_from_object
from .kinds import BY_RESOURCE
from .load import ServiceLoad
from .manifests import rfc3339
from .scheduler import Scheduler, pod_requests
from .telemetry import GpuDevice, Telemetry
from .units import format_quantity, pod_terminated, quota_usage

Obj = dict[str, Any]


@dataclass(frozen=True)
class GpuModel:
    name: str  # modelName as DCGM reports it
    product: str  # GFD nvidia.com/gpu.product
    memory_mib: int
    family: str
    idle_w: float
    max_w: float


A100_40 = GpuModel("NVIDIA A100-SXM4-40GB", "NVIDIA-A100-SXM4-40GB", 40960, "ampere", 55.0, 400.0)
A100_80 = GpuModel("NVIDIA A100-SXM4-80GB", "NVIDIA-A100-SXM4-80GB", 81920, "ampere", 60.0, 400.0)
H100 = GpuModel("NVIDIA H100 80GB HBM3", "NVIDIA-H100-80GB-HBM3", 81559, "hopper", 70.0, 700.0)
A10G = GpuModel("NVIDIA A10G", "NVIDIA-A10G", 23028, "ampere", 25.0, 300.0)

# MIG layout of the mixed-strategy node: physical GPU -> (profile, GPU instance ids, MiB per slice)
MIG_LAYOUT = {0: ("1g.10gb", range(7, 14), 9856), 1: ("1g.10gb", range(7, 14), 9856),
              2: ("2g.20gb", range(3, 6), 19968), 3: ("2g.20gb", range(3, 6), 19968),
              4: ("3g.40gb", range(1, 3), 40192), 5: ("3g.40gb", range(1, 3), 40192)}


@dataclass(frozen=True)
class Pool:
    name: str
    instance_type: str
    cpu: int
    memory_gi: int
    gpus: int = 0
    gpu: GpuModel | None = None
    mig: bool = False


@dataclass
class Fault:
    """A planted container failure the dynamics keep alive: crashloop | liveness | readiness | startup."""

    kind: str
    container: str
    reason: str = "Error"  # lastState.terminated.reason
    exit_code: int = 1
    scope: str = "all"  # "all" pods of the workload, or "one"
    probe_message: str = ""


@dataclass
class PodPlan:
    """Per-workload things the pods and the dynamics need."""

    fault: Fault | None = None
    gpu_use: str = ""  # train | serve | notebook | stalled | eval
    preferred_zone: str = ""
    cpu_busy: float = 0.3  # fraction of the CPU request in use (non-HPA workloads)
    mem_busy: float = 0.6


@dataclass
class ClusterBuilder:
    seed: int
    start: float
    rng: random.Random = field(init=False)
    objects: dict[str, list[Obj]] = field(default_factory=lambda: {r: [] for r in BY_RESOURCE})
    telemetry: Telemetry = field(default_factory=Telemetry)
    scheduler: Scheduler = field(default_factory=Scheduler)
    loads: dict[tuple[str, str], ServiceLoad] = field(default_factory=dict)
    plans: dict[tuple[str, str, str], PodPlan] = field(default_factory=dict)  # (ns, kind, name)
    pod_devices: dict[tuple[str, str], dict[str, list]] = field(default_factory=dict)
    gpu_models: dict[str, GpuModel] = field(default_factory=dict)  # node -> model
    namespaces: dict[str, Obj] = field(default_factory=dict)
    _explain_cache: dict = field(default_factory=dict)
    _costs_cache: dict = field(default_factory=dict)
    _names: set = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # --- time helpers ---------------------------------------------------------------------------
    def ago(self, lo: float, hi: float) -> float:
        return self.start - self.rng.uniform(lo, hi)

    # --- nodes -----------------------------------------------------------------------------------
    def node(self, pool: Pool, index: int, zone: str, seq: int) -> Obj:
        rng = self.rng
        zi = mf.ZONES.index(zone) if zone in mf.ZONES else 0
        ip = f"10.{zi * 32 + (seq // 60000) % 32}.{(seq // 240) % 250}.{seq % 240 + 10}"
        name = f"ip-{ip.replace('.', '-')}.ec2.internal"
        created = self.ago(86400 * 6, 86400 * 40)
        labels = {
            "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/instance-type": pool.instance_type,
            "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "kubernetes.io/hostname": name,
            "node.kubernetes.io/instance-type": pool.instance_type,
            "topology.kubernetes.io/region": mf.REGION, "topology.kubernetes.io/zone": zone,
            "failure-domain.beta.kubernetes.io/region": mf.REGION, "failure-domain.beta.kubernetes.io/zone": zone,
            "eks.amazonaws.com/nodegroup": pool.name, "eks.amazonaws.com/capacityType": "ON_DEMAND",
            "node-role.kubernetes.io/worker": "", "kubewatch.example/pool": pool.name,
        }
        max_pods = 110
        cpu_alloc = pool.cpu * 1000 - (70 + 10 * pool.cpu)
        mem_cap_ki = pool.memory_gi * 1024 * 1024 - 2_000_000 - seq % 7 * 4096
        mem_alloc_ki = mem_cap_ki - (255 + 11 * max_pods) * 1024 - 100 * 1024
        cap = {"cpu": str(pool.cpu), "memory": f"{mem_cap_ki}Ki", "pods": str(max_pods),
               "ephemeral-storage": "209702892Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
        alloc = {"cpu": f"{cpu_alloc}m", "memory": f"{mem_alloc_ki}Ki", "pods": str(max_pods),
                 "ephemeral-storage": "192188443124", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
        taints: list[Obj] = []
        devices: dict[str, list] = {}
        if pool.gpu:
            g = pool.gpu
            self.gpu_models[name] = g
            labels.update({
                "nvidia.com/gpu.present": "true", "nvidia.com/gpu.product": g.product,
                "nvidia.com/gpu.memory": str(g.memory_mib), "nvidia.com/gpu.count": str(pool.gpus),
                "nvidia.com/gpu.family": g.family, "nvidia.com/gpu.machine": pool.instance_type,
                "nvidia.com/gpu.replicas": "1", "nvidia.com/gpu.sharing-strategy": "none",
                "nvidia.com/cuda.driver.major": "550", "nvidia.com/cuda.driver.minor": "90",
                "nvidia.com/cuda.driver.rev": "07", "nvidia.com/cuda.runtime.major": "12",
                "nvidia.com/cuda.runtime.minor": "4",
                "nvidia.com/mig.capable": "true" if g.family in ("ampere", "hopper") and "A10G" not in g.name else "false",
                "nvidia.com/mig.strategy": "mixed" if pool.mig else "none",
                "nvidia.com/gfd.timestamp": str(int(created)),
            })
            taints.append(dict(mf.GPU_TAINT))
            whole = [i for i in range(pool.gpus) if not (pool.mig and i in MIG_LAYOUT)]
            devices["nvidia.com/gpu"] = whole
            cap["nvidia.com/gpu"] = alloc["nvidia.com/gpu"] = str(len(whole))
            bus = [f"00000000:{b:02X}:00.0" for b in (0x10, 0x16, 0x49, 0x4D, 0x88, 0x8D, 0xC7, 0xCA)]
            for i in range(pool.gpus):
                uuid = "GPU-" + mf.new_uid(rng)
                if pool.mig and i in MIG_LAYOUT:
                    prof, gis, mib = MIG_LAYOUT[i]
                    res = f"nvidia.com/mig-{prof}"
                    for gi in gis:
                        key = f"{i}/{gi}"
                        devices.setdefault(res, []).append(key)
                        self.telemetry.gpus[(name, key)] = GpuDevice(name, i, uuid, g.name, bus[i % 8], prof, gi,
                                                                     fb_total_mib=float(mib), power_w=g.idle_w, temp_c=33.0)
                else:
                    self.telemetry.gpus[(name, i)] = GpuDevice(name, i, uuid, g.name, bus[i % 8],
                                                               fb_total_mib=float(g.memory_mib), power_w=g.idle_w,
                                                               temp_c=31.0 + rng.random() * 4)
            if pool.mig:
                for res, ids in devices.items():
                    if res.startswith("nvidia.com/mig-"):
                        cap[res] = alloc[res] = str(len(ids))
                        prof = res.split("mig-")[1]
                        labels[f"nvidia.com/mig-{prof}.count"] = str(len(ids))
                        labels[f"nvidia.com/mig-{prof}.memory"] = str(int(prof.split("g.")[1].rstrip("gb")) * 1024 - 256)
        instance = f"i-0{mf.hex_id(rng, 16)}"
        hb = rfc3339(self.start - rng.uniform(5, 40))
        since = rfc3339(created + 60)
        conds = [
            {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": hb, "lastTransitionTime": since,
             "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available"},
            {"type": "DiskPressure", "status": "False", "lastHeartbeatTime": hb, "lastTransitionTime": since,
             "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure"},
            {"type": "PIDPressure", "status": "False", "lastHeartbeatTime": hb, "lastTransitionTime": since,
             "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available"},
            {"type": "Ready", "status": "True", "lastHeartbeatTime": hb, "lastTransitionTime": since,
             "reason": "KubeletReady", "message": "kubelet is posting ready status"},
        ]
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": mf.new_uid(rng), "creationTimestamp": rfc3339(created), "labels": labels,
                         "annotations": {"alpha.kubernetes.io/provided-node-ip": ip,
                                         "node.alpha.kubernetes.io/ttl": "0",
                                         "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": {"providerID": f"aws:///{zone}/{instance}", **({"taints": taints} if taints else {})},
            "status": {
                "capacity": cap, "allocatable": alloc, "conditions": conds,
                "addresses": [{"type": "InternalIP", "address": ip}, {"type": "InternalDNS", "address": name},
                              {"type": "Hostname", "address": name}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {"machineID": mf.hex_id(rng, 32), "systemUUID": "ec2" + mf.hex_id(rng, 5) + "-" + mf.hex_id(rng, 4) + "-" + mf.hex_id(rng, 4) + "-" + mf.hex_id(rng, 4) + "-" + mf.hex_id(rng, 12),
                             "bootID": mf.new_uid(rng), "kernelVersion": "5.10.234-225.910.amzn2.x86_64",
                             "osImage": "Amazon Linux 2", "containerRuntimeVersion": "containerd://1.7.27",
                             "kubeletVersion": mf.KUBELET_VERSION, "kubeProxyVersion": mf.KUBELET_VERSION,
                             "operatingSystem": "linux", "architecture": "amd64"},
            },
        }
        self.objects["nodes"].append(node)
        self.scheduler.add_node(node, devices)
        return node

    def mark_cordoned(self, node: Obj) -> None:
        node["spec"]["unschedulable"] = True
        node["spec"].setdefault("taints", []).append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule",
                                                      "timeAdded": rfc3339(self.start - 5400)})
        node["metadata"]["annotations"]["kubewatch.example/cordon-reason"] = "GPU maintenance: XID 79 (fallen off the bus)"
        self.scheduler.update_node(node)

    def mark_not_ready(self, node: Obj, since: float) -> None:
        for c in node["status"]["conditions"]:
            c["status"] = "Unknown"
            c["reason"] = "NodeStatusUnknown"
            c["message"] = "Kubelet stopped posting node status."
            c["lastHeartbeatTime"] = rfc3339(since - 20)
            c["lastTransitionTime"] = rfc3339(since)
        node["spec"].setdefault("taints", []).extend([
            {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": rfc3339(since)},
            {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": rfc3339(since + 5)},
        ])
        self.scheduler.update_node(node)

    # --- namespaces -------------------------------------------------------------------------------
    def namespace(self, name: str, labels: dict | None = None) -> Obj:
        ns = {"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": name, "uid": mf.new_uid(self.rng), "creationTimestamp": rfc3339(self.ago(86400 * 60, 86400 * 400)),
                           "labels": {"kubernetes.io/metadata.name": name, **(labels or {})}},
              "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
        self.objects["namespaces"].append(ns)
        self.namespaces[name] = ns
        return ns

    def _meta(self, ns: str, name: str, created: float, labels: dict | None = None, **extra: Any) -> Obj:
        md = {"name": name, "namespace": ns, "uid": mf.new_uid(self.rng), "creationTimestamp": rfc3339(created)}
        if labels:
            md["labels"] = labels
        md.update(extra)
        return md

    # --- pods ---------------------------------------------------------------------------------------
    def _unique(self, ns: str, base: str) -> str:
        while True:
            name = f"{base}-{mf.suffix(self.rng)}"
            if (ns, name) not in self._names:
                self._names.add((ns, name))
                return name

    def make_pods(self, wl: Obj, names: list[str], plan: PodPlan, labels_for: Any = None,
                  created: float | None = None, phase_done: bool = False) -> list[Obj]:
        """Pods for a workload: scheduled, started (or failing, or Pending with the scheduler's reason)."""
        rng = self.rng
        tmpl = mf.PodTemplate.from_workload(wl, rng)
        req = pod_requests(wl["spec"]["template"]["spec"])
        tol = tmpl.tolerations
        sel = tmpl.node_selector
        wl_created = created if created is not None else self._ts(wl["metadata"]["creationTimestamp"])
        out = []
        fault = plan.fault
        # pods come in up to three waves (the rollout, then scale-ups): pods of a wave share their
        # timestamps, so their conditions and container states are shared objects (memory at 150k pods)
        waves: dict[int, tuple[float, float]] = {}
        shared: dict[Any, Any] = {}
        for i, name in enumerate(names):
            w = i if i < 3 else rng.randrange(3)
            if w not in waves:
                # pods are younger than the nodes (6-40 days): the last rollout was at most 5 days ago
                base = max(wl_created + rng.uniform(1, 20), self.start - rng.uniform(3600, 86400 * 5))
                pc = min(self.start - 30, base + (0 if w == 0 else rng.uniform(0, 3600)))
                waves[w] = (pc, pc + rng.uniform(2, 25))
            pcreated, started = waves[w]
            labels = labels_for(i, name) if labels_for else None
            gen = name.rsplit("-", 1)[0] + "-" if wl["kind"] in ("ReplicaSet", "DaemonSet", "Job") else ""
            hostname = name if wl["kind"] == "StatefulSet" else ""
            if wl["kind"] == "DaemonSet":
                slot = labels_for.node_for(i) if hasattr(labels_for, "node_for") else None
            else:
                slot = self.scheduler.place(req, tol, sel, plan.preferred_zone, key=(wl["metadata"]["namespace"], wl["metadata"]["name"]) if plan.preferred_zone else None)
            uid = mf.new_uid(rng)
            if slot is None:
                key = (tuple(sorted(req.items())), tuple(sorted((sel or {}).items())), tuple(t["key"] for t in tol))
                msg = self._explain_cache.get(key)
                if msg is None:
                    msg = self._explain_cache[key] = self.scheduler.explain(req, tol, sel)
                pod = tmpl.pod(name, uid, pcreated, None, "", "", [], "Pending",
                               mf.pod_conditions(pcreated, None, None, unschedulable_msg=msg), None,
                               labels=labels, generate_name=gen, hostname=hostname)
                self.objects["pods"].append(pod)
                n = max(1, int((self.start - pcreated) / 60))
                self.objects["events"].append(mf.event(rng, pod, "FailedScheduling", msg, pcreated, self.start - rng.uniform(5, 55),
                                                       count=min(n, 500), type_="Warning", component="default-scheduler"))
                out.append(pod)
                continue
            devices = self.scheduler.bind(slot, req)
            pod_ip = self.scheduler.next_pod_ip(slot)
            run_state = shared.get(("state", w))
            if run_state is None:
                run_state = shared[("state", w)] = {"running": {"startedAt": rfc3339(started + 3)}}
            statuses, ready, phase = self._statuses(tmpl, name, started, fault, i, phase_done, run_state)
            not_ready_names = tuple(s["name"] for s in statuses if not s["ready"])
            ck = ("conds", w, ready, not_ready_names, phase_done)
            conds = shared.get(ck)
            if conds is None and phase_done:
                conds = mf.pod_conditions(pcreated, started, None, not_ready_reason="PodCompleted", not_ready_msg="")
                for c in conds:
                    if c["type"] in ("Ready", "ContainersReady"):
                        c.pop("message", None)
            elif conds is None:
                conds = mf.pod_conditions(pcreated, started, started + 8 if ready else None,
                                          not_ready_msg=f"containers with unready status: [{' '.join(not_ready_names)}]")
            shared[ck] = conds
            pod = tmpl.pod(name, uid, pcreated, slot.name, slot.host_ip, pod_ip, statuses, phase, conds, started,
                           labels=labels, generate_name=gen, hostname=hostname)
            self.objects["pods"].append(pod)
            out.append(pod)
            ns = tmpl.namespace
            self.telemetry.pod_uids[(ns, name)] = uid
            if devices:
                self.pod_devices[(ns, name)] = devices
                cname = tmpl.containers[0]["name"]
                for res, ids in devices.items():
                    for d in ids:
                        dev = self.telemetry.gpus.get((slot.name, d))
                        if dev is not None:
                            dev.holder = (ns, name, cname)
            if not phase_done:
                self._container_telemetry(tmpl, ns, name, started, plan, statuses)
            if fault:
                self._fault_events(pod, tmpl, fault, i, slot.name, statuses)
        return out

    @staticmethod
    def _ts(s: str) -> float:
        import calendar
        import time
        return float(calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ")))

    def _statuses(self, tmpl: mf.PodTemplate, pod_name: str, started: float, fault: Fault | None, i: int,
                  done: bool, run_state: Obj | None = None) -> tuple[list[Obj], bool, str]:
        rng = self.rng
        out = []
        ready = True
        for c, ref in zip(tmpl.containers, tmpl.image_refs):
            hit = fault and fault.container == c["name"] and (fault.scope == "all" or i == 0)
            if done:
                cid = f"containerd://{mf.hex_id(rng, 64)}"
                s = {"name": c["name"], "ready": False, "started": False, "restartCount": 0, "image": c["image"],
                     "imageID": ref, "containerID": cid, "lastState": {},
                     "state": {"terminated": mf.terminated_state("Completed", 0, started + 3, started + rng.uniform(300, 3000), cid)}}
                out.append(s)
                ready = False
                continue
            if not hit:
                out.append(mf.running_status(c, ref, rng, started + 3, state=run_state))
                continue
            restarts = rng.randint(6, 40)
            cid = f"containerd://{mf.hex_id(rng, 64)}"
            last_start = self.start - rng.uniform(200, 280)
            if fault.kind == "crashloop":
                last = mf.terminated_state(fault.reason, fault.exit_code, last_start, last_start + rng.uniform(5, 40), cid)
                msg = f"back-off 5m0s restarting failed container={c['name']} pod={pod_name}_{tmpl.namespace}(UID)"
                out.append(mf.waiting_status(c, "CrashLoopBackOff", msg, ref, restarts, last, cid))
                ready = False
            elif fault.kind == "liveness":
                last = mf.terminated_state("Error", 137, last_start - 600, last_start, cid)
                out.append(mf.running_status(c, ref, rng, last_start, ready=True, restarts=restarts // 3, last_terminated=last))
            elif fault.kind == "readiness":
                out.append(mf.running_status(c, ref, rng, started + 3, ready=False))
                ready = False
            elif fault.kind == "startup":
                last = mf.terminated_state("Error", 137, last_start - 300, last_start, cid)
                s = mf.running_status(c, ref, rng, last_start, ready=False, restarts=restarts // 2, last_terminated=last)
                s["started"] = False
                out.append(s)
                ready = False
        phase = "Succeeded" if done else "Running"
        return out, ready, phase

    def _fault_events(self, pod: Obj, tmpl: mf.PodTemplate, fault: Fault, i: int, node: str, statuses: list[Obj]) -> None:
        if fault.scope == "one" and i != 0:
            return
        rng = self.rng
        uid = pod["metadata"]["uid"]
        name, ns = pod["metadata"]["name"], pod["metadata"]["namespace"]
        st = next(s for s in statuses if s["name"] == fault.container)
        # the waiting message carries the pod uid
        w = st["state"].get("waiting")
        if w and "(UID)" in w.get("message", ""):
            w["message"] = w["message"].replace("(UID)", f"({uid})")
        fp = f"spec.containers{{{fault.container}}}"
        first = self._ts(pod["metadata"]["creationTimestamp"]) + 40
        last = self.start - rng.uniform(5, 50)
        restarts = max(1, st["restartCount"])
        ev = self.objects["events"]
        if fault.kind == "crashloop":
            ev.append(mf.event(rng, pod, "BackOff", f"Back-off restarting failed container {fault.container} in pod {name}_{ns}({uid})",
                               first, last, count=restarts * 4 + 3, type_="Warning", host=node, field_path=fp))
            if fault.reason == "OOMKilled":
                pass  # OOM kills show in lastState, not as a separate event from the kubelet
        elif fault.kind in ("liveness", "readiness", "startup"):
            probe = fault.kind.capitalize()
            msg = fault.probe_message or f"{probe} probe failed: HTTP probe failed with statuscode: 500"
            count = restarts * 3 if fault.kind != "readiness" else int((self.start - first) / 10)
            ev.append(mf.event(rng, pod, "Unhealthy", msg, first, last, count=max(1, count), type_="Warning", host=node, field_path=fp))
            if fault.kind != "readiness":
                ev.append(mf.event(rng, pod, "Killing", f"Container {fault.container} failed {fault.kind} probe, will be restarted",
                                   first + 30, last, count=restarts, type_="Normal", host=node, field_path=fp))

    def _container_costs(self, containers: list[Obj]) -> list[tuple[str, float, float, list[tuple[str, int]]]]:
        """(name, cores, memory bytes, [(probe type, period)]) per container, parsed once per template."""
        from .units import parse_quantity
        hit = self._costs_cache.get(id(containers))
        if hit is not None and hit[0] is containers:
            return hit[1]
        out = []
        for c in containers:
            req = (c.get("resources") or {}).get("requests") or {}
            lim = (c.get("resources") or {}).get("limits") or {}
            probes = [(probe, (c[f] or {}).get("periodSeconds", 10))
                      for probe, f in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"), ("Startup", "startupProbe"))
                      if c.get(f)]
            out.append((c["name"], parse_quantity(req.get("cpu", lim.get("cpu", "100m"))),
                        parse_quantity(req.get("memory", lim.get("memory", "256Mi"))), probes))
        self._costs_cache[id(containers)] = (containers, out)
        return out

    def _container_telemetry(self, tmpl: mf.PodTemplate, ns: str, pod: str, started: float, plan: PodPlan,
                             statuses: list[Obj]) -> None:
        t = self.telemetry
        up = max(0.0, self.start - started)
        rnd = self.rng.random
        fault = plan.fault
        pc = t.probe_counts
        for (name, cores, mem, probes), st in zip(self._container_costs(tmpl.containers), statuses):
            key = (ns, pod, name)
            running = "running" in st["state"]
            t.container_cpu_seconds[key] = round(cores * plan.cpu_busy * up * (0.8 + 0.4 * rnd()), 3)
            t.container_memory_bytes[key] = float(int(mem * plan.mem_busy * (0.85 + 0.3 * rnd()))) if running else 0.0
            for probe, period in probes:
                n = int(up / period)
                if probe == "Startup":
                    n = min(n, 3)
                failed = 0
                if fault and fault.container == name and fault.kind == probe.lower():
                    failed = max(1, n // 4 if probe != "Readiness" else n // 2)
                pc[(ns, pod, name, probe, "successful")] = max(0, n - failed)
                if failed:
                    pc[(ns, pod, name, probe, "failed")] = failed

    # --- workloads ---------------------------------------------------------------------------------------
    def pod_spec(self, containers: list[Obj], tolerations: list[Obj] | None = None, node_selector: dict | None = None,
                 affinity: Obj | None = None, restart: str = "Always", sa: str = "default", priority_class: str = "") -> Obj:
        spec: Obj = {"containers": containers, "restartPolicy": restart, "terminationGracePeriodSeconds": 30,
                     "dnsPolicy": "ClusterFirst", "serviceAccountName": sa, "securityContext": {},
                     "schedulerName": "default-scheduler"}
        if tolerations:
            spec["tolerations"] = tolerations
        if node_selector:
            spec["nodeSelector"] = node_selector
        if affinity:
            spec["affinity"] = affinity
        if priority_class:
            spec["priorityClassName"] = priority_class
        return spec

    def deployment(self, ns: str, name: str, replicas: int, spec: Obj, labels: dict, plan: PodPlan,
                   hpa: Obj | None = None, pdb: Obj | None = None, service_port: int | None = 8080,
                   load: ServiceLoad | None = None, age: float | None = None) -> Obj:
        rng = self.rng
        created = self.start - (age if age is not None else rng.uniform(86400 * 2, 86400 * 90))
        sel = {"app.kubernetes.io/name": name}
        tlabels = {**sel, **labels}
        dep = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": self._meta(ns, name, created, dict(tlabels), generation=1,
                                      annotations={"deployment.kubernetes.io/revision": "1"}),
               "spec": {"replicas": replicas, "selector": {"matchLabels": sel},
                        "template": {"metadata": {"labels": tlabels}, "spec": spec},
                        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                        "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
               "status": {}}
        h = mf.template_hash(rng)
        rs_name = f"{name}-{h}"
        rlabels = {**tlabels, "pod-template-hash": h}
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": self._meta(ns, rs_name, created + 1, dict(rlabels), generation=1,
                                     annotations={"deployment.kubernetes.io/desired-replicas": str(replicas),
                                                  "deployment.kubernetes.io/max-replicas": str(replicas + max(1, -(-replicas // 4))),
                                                  "deployment.kubernetes.io/revision": "1"},
                                     ownerReferences=[mf.owner_ref(dep)]),
              "spec": {"replicas": replicas, "selector": {"matchLabels": {**sel, "pod-template-hash": h}},
                       "template": {"metadata": {"labels": rlabels}, "spec": spec}},
              "status": {}}
        self.plans[(ns, "Deployment", name)] = plan
        self.plans[(ns, "ReplicaSet", rs_name)] = plan
        names = [self._unique(ns, rs_name) for _ in range(replicas)]
        pods = self.make_pods(rs, names, plan, created=created + 2)
        ready = sum(1 for p in pods if _ready(p))
        rs["status"] = rs_status(replicas, len(pods), ready)
        dep["status"] = deployment_status(replicas, len(pods), ready, created, rs_name, self.start)
        self.objects["deployments"].append(dep)
        self.objects["replicasets"].append(rs)
        if service_port:
            self.service(ns, name, sel, service_port)
        if load:
            self.loads[(ns, name)] = load
        if hpa:
            self.hpa(dep, replicas, hpa, load)
        if pdb:
            self.pdb(ns, name, sel, pdb, pods, replicas)
        return dep

    def statefulset(self, ns: str, name: str, replicas: int, spec: Obj, labels: dict, plan: PodPlan,
                    pdb: Obj | None = None, age: float | None = None) -> Obj:
        rng = self.rng
        created = self.start - (age if age is not None else rng.uniform(86400, 86400 * 60))
        sel = {"app.kubernetes.io/name": name}
        tlabels = {**sel, **labels}
        rev = f"{name}-{mf.template_hash(rng)}"
        sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": self._meta(ns, name, created, dict(tlabels), generation=1),
               "spec": {"replicas": replicas, "selector": {"matchLabels": sel}, "serviceName": name,
                        "template": {"metadata": {"labels": tlabels}, "spec": spec},
                        "podManagementPolicy": "OrderedReady", "revisionHistoryLimit": 10,
                        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"}},
               "status": {}}
        self.plans[(ns, "StatefulSet", name)] = plan
        names = [f"{name}-{i}" for i in range(replicas)]

        def labels_for(i: int, pod_name: str) -> dict:
            return {**tlabels, "apps.kubernetes.io/pod-index": str(i), "controller-revision-hash": rev,
                    "statefulset.kubernetes.io/pod-name": pod_name}
        pods = self.make_pods(sts, names, plan, labels_for=labels_for, created=created + 2)
        ready = sum(1 for p in pods if _ready(p))
        sts["status"] = sts_status(replicas, len(pods), ready, rev)
        self.objects["statefulsets"].append(sts)
        self.service(ns, name, sel, None, headless=True)
        if pdb:
            self.pdb(ns, name, sel, pdb, pods, replicas)
        return sts

    def job(self, ns: str, name: str, parallelism: int, spec: Obj, labels: dict, plan: PodPlan,
            completions: int | None = None, done: bool = False, age: float | None = None) -> Obj:
        rng = self.rng
        created = self.start - (age if age is not None else rng.uniform(3600, 86400 * 3))
        uid = mf.new_uid(rng)
        sel = {"batch.kubernetes.io/controller-uid": uid}
        tlabels = {**sel, "batch.kubernetes.io/job-name": name, "controller-uid": uid, "job-name": name, **labels}
        spec = dict(spec, restartPolicy="Never")
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {**self._meta(ns, name, created, dict(labels)), "uid": uid, "generation": 1},
               "spec": {"parallelism": parallelism, "completions": completions or parallelism, "backoffLimit": 6,
                        "completionMode": "NonIndexed", "suspend": False, "manualSelector": False,
                        "podReplacementPolicy": "TerminatingOrFailed",
                        "selector": {"matchLabels": sel},
                        "template": {"metadata": {"labels": tlabels}, "spec": spec}},
               "status": {}}
        self.plans[(ns, "Job", name)] = plan
        names = [self._unique(ns, name) for _ in range(parallelism)]
        pods = self.make_pods(job, names, plan, created=created + 1, phase_done=done)
        if done:
            job["status"] = {"startTime": rfc3339(created + 1), "completionTime": rfc3339(created + 3500),
                             "succeeded": parallelism, "ready": 0, "terminating": 0,
                             "uncountedTerminatedPods": {},
                             "conditions": [
                                 {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": rfc3339(created + 3500),
                                  "lastTransitionTime": rfc3339(created + 3500), "reason": "CompletionsReached",
                                  "message": "Reached expected number of succeeded pods"},
                                 {"type": "Complete", "status": "True", "lastProbeTime": rfc3339(created + 3500),
                                  "lastTransitionTime": rfc3339(created + 3500), "reason": "CompletionsReached",
                                  "message": "Reached expected number of succeeded pods"}]}
        else:
            job["status"] = {"startTime": rfc3339(created + 1), "active": len(pods),
                             "ready": sum(1 for p in pods if _ready(p)), "terminating": 0,
                             "uncountedTerminatedPods": {}}
        self.objects["jobs"].append(job)
        return job

    def daemonset(self, ns: str, name: str, spec: Obj, labels: dict, plan: PodPlan, node_filter: Any) -> Obj:
        rng = self.rng
        created = self.start - rng.uniform(86400 * 30, 86400 * 120)
        sel = {"app.kubernetes.io/name": name}
        tlabels = {**sel, **labels}
        rev = mf.template_hash(rng)
        ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
              "metadata": self._meta(ns, name, created, dict(tlabels), generation=1,
                                     annotations={"deprecated.daemonset.template.generation": "1"}),
              "spec": {"selector": {"matchLabels": sel}, "template": {"metadata": {"labels": tlabels}, "spec": spec},
                       "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                       "revisionHistoryLimit": 10},
              "status": {}}
        self.plans[(ns, "DaemonSet", name)] = plan
        nodes = [s for s in self.scheduler.order if node_filter(s)]
        plabels = {**tlabels, "controller-revision-hash": rev, "pod-template-generation": "1"}

        class _Labels:
            def __call__(self, i: int, pod_name: str) -> dict:
                return plabels

            def node_for(self, i: int):
                return nodes[i]
        names = [self._unique(ns, name) for _ in nodes]
        pods = self.make_pods(ds, names, plan, labels_for=_Labels(), created=created + 5)
        # the DaemonSet controller pins each pod to its node
        for p, s in zip(pods, nodes):
            p["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [s.name]}]}]}}}
        ready = sum(1 for p in pods if _ready(p))
        ds["status"] = {"currentNumberScheduled": len(nodes), "desiredNumberScheduled": len(nodes), "numberMisscheduled": 0,
                        "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": len(nodes),
                        "observedGeneration": 1, **({"numberUnavailable": len(nodes) - ready} if ready < len(nodes) else {})}
        self.objects["daemonsets"].append(ds)
        return ds

    def bare_pod(self, ns: str, name: str, spec: Obj, labels: dict, plan: PodPlan, age: float = 1800) -> Obj:
        holder = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "creationTimestamp": rfc3339(self.start - age)},
                  "spec": {"template": {"metadata": {"labels": labels}, "spec": spec}}}
        pods = self.make_pods(holder, [name], plan, created=self.start - age)
        pods[0]["metadata"].pop("ownerReferences", None)
        self.plans[(ns, "Pod", name)] = plan
        return pods[0]

    # --- satellites -----------------------------------------------------------------------------------
    def service(self, ns: str, name: str, selector: dict, port: int | None, headless: bool = False) -> Obj:
        rng = self.rng
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": self._meta(ns, name, self.ago(86400, 86400 * 90), {"app.kubernetes.io/name": name}),
               "spec": {"selector": selector, "type": "ClusterIP", "sessionAffinity": "None",
                        "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
                        "clusterIP": "None" if headless else f"172.20.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                        "ports": [{"name": "http", "port": port or 8080, "targetPort": port or 8080, "protocol": "TCP"}]},
               "status": {"loadBalancer": {}}}
        svc["spec"]["clusterIPs"] = [svc["spec"]["clusterIP"]]
        self.objects["services"].append(svc)
        return svc

    def hpa(self, dep: Obj, replicas: int, spec_extra: Obj, load: ServiceLoad | None) -> Obj:
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}, **spec_extra}
        if spec.get("behavior") is not None:
            spec["behavior"] = default_behavior(spec["behavior"])
        created = self._ts(dep["metadata"]["creationTimestamp"]) + 30
        obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
               "metadata": self._meta(ns, name, created, dict(dep["metadata"].get("labels", {}))),
               "spec": spec, "status": {}}
        hs = spec_from_object(obj)
        readings = hpa_readings(obj, load, self.start, replicas, replicas, 0)
        d = decide(hs, replicas, readings, History(), self.start)
        obj["status"] = hpa_status(d, replicas, replicas, self.start, None, self.start - 3600)
        blind = next((c for c in d.conditions if c.type == "ScalingActive" and c.status == "False"), None)
        if blind is not None:  # blind since it was created: the controller has been complaining every 15 s
            for reason, msg in hpa_failure_events(blind, len(hs.metrics), d):
                self.objects["events"].append(mf.event(self.rng, obj, reason, msg, self.start - 3600, self.start - 10,
                                                       count=240, type_="Warning", component="horizontal-pod-autoscaler"))
        self.objects["horizontalpodautoscalers"].append(obj)
        return obj

    def pdb(self, ns: str, name: str, sel: dict, spec_extra: Obj, pods: list[Obj], replicas: int) -> Obj:
        obj = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
               "metadata": self._meta(ns, name, self.ago(86400, 86400 * 60), {"app.kubernetes.io/name": name}, generation=1),
               "spec": {"selector": {"matchLabels": sel}, **spec_extra}, "status": {}}
        healthy = sum(1 for p in pods if _ready(p))
        obj["status"] = pdb_status(obj, healthy, replicas, self.start)
        self.objects["poddisruptionbudgets"].append(obj)
        return obj

    def quota(self, ns: str, hard_factor: dict[str, float], override: dict[str, float] | None = None,
              name: str = "compute-resources", used: dict[str, float] | None = None) -> Obj:
        """A ResourceQuota whose hard values sit at used x factor (rounded), status.used from the pods."""
        if used is None:
            used = namespace_usage(self.objects["pods"], ns)
        hard: dict[str, float] = {}
        for key, f in hard_factor.items():
            u = used.get(key, 0.0)
            if key in ("requests.cpu", "limits.cpu"):
                hard[key] = max(4.0, -(-u * f // 1))
            elif key in ("requests.memory", "limits.memory"):
                gi = 1024 ** 3
                hard[key] = max(8 * gi, -(-u * f // (4 * gi)) * 4 * gi)
            else:
                hard[key] = max(2.0, -(-u * f // 1))
        hard.update(override or {})
        obj = {"apiVersion": "v1", "kind": "ResourceQuota",
               "metadata": self._meta(ns, name, self.ago(86400 * 30, 86400 * 200)),
               "spec": {"hard": {k: format_quantity(k, v) for k, v in hard.items()}},
               "status": {}}
        obj["status"] = quota_status(obj, used)
        self.objects["resourcequotas"].append(obj)
        return obj


# --- status computations shared with dynamics.py ------------------------------------------------------
def _ready(pod: Obj) -> bool:
    for c in pod.get("status", {}).get("conditions", ()):
        if c["type"] == "Ready":
            return c["status"] == "True"
    return False


pod_ready = _ready


def usage_by_namespace(pods: list[Obj]) -> dict[str, dict[str, float]]:
    """Quota usage per namespace over non-terminated pods, in one pass (pods of one workload share
    their container list, so each distinct list is costed once)."""
    out: dict[str, dict[str, float]] = {}
    costs: dict[int, dict[str, float]] = {}
    for p in pods:
        if pod_terminated(p):
            continue
        cs = p["spec"]["containers"]
        u = costs.get(id(cs))
        if u is None:
            u = costs[id(cs)] = quota_usage(p)
        used = out.setdefault(p["metadata"]["namespace"], {})
        for k, v in u.items():
            used[k] = used.get(k, 0.0) + v
    return out


def namespace_usage(pods: list[Obj], ns: str) -> dict[str, float]:
    return usage_by_namespace([p for p in pods if p["metadata"]["namespace"] == ns]).get(ns, {})


def quota_status(quota: Obj, used: dict[str, float]) -> Obj:
    hard = quota["spec"]["hard"]
    return {"hard": dict(hard), "used": {k: format_quantity(k, used.get(k, 0.0)) for k in hard}}


def rs_status(replicas: int, pods: int, ready: int, generation: int = 1) -> Obj:
    s = {"replicas": pods, "fullyLabeledReplicas": pods, "observedGeneration": generation}
    if ready:
        s["readyReplicas"] = ready
        s["availableReplicas"] = ready
    return s


def sts_status(replicas: int, pods: int, ready: int, rev: str, generation: int = 1) -> Obj:
    return {"observedGeneration": generation, "replicas": pods, "readyReplicas": ready, "currentReplicas": pods,
            "updatedReplicas": pods, "availableReplicas": ready, "currentRevision": rev, "updateRevision": rev,
            "collisionCount": 0}


def deployment_status(replicas: int, pods: int, ready: int, created: float, rs_name: str, now: float,
                      generation: int = 1) -> Obj:
    avail_ok = ready >= replicas - max(0, replicas // 4)
    s: Obj = {"observedGeneration": generation, "replicas": pods, "updatedReplicas": pods,
              "conditions": [
                  {"type": "Available", "status": "True" if avail_ok else "False",
                   "lastUpdateTime": rfc3339(now), "lastTransitionTime": rfc3339(created + 60),
                   "reason": "MinimumReplicasAvailable" if avail_ok else "MinimumReplicasUnavailable",
                   "message": "Deployment has minimum availability." if avail_ok else "Deployment does not have minimum availability."},
                  {"type": "Progressing", "status": "True", "lastUpdateTime": rfc3339(created + 90),
                   "lastTransitionTime": rfc3339(created), "reason": "NewReplicaSetAvailable",
                   "message": f'ReplicaSet "{rs_name}" has successfully progressed.'}]}
    if ready:
        s["readyReplicas"] = ready
        s["availableReplicas"] = ready
    if pods - ready > 0:
        s["unavailableReplicas"] = pods - ready
    return s


def pdb_status(pdb: Obj, healthy: int, expected: int, now: float) -> Obj:
    spec = pdb["spec"]

    def resolve(v: Any, round_up: bool) -> int:
        if isinstance(v, str) and v.endswith("%"):
            x = int(v[:-1]) * expected / 100.0
            return int(-(-x // 1)) if round_up else int(x)
        return int(v)
    if "minAvailable" in spec:
        desired = resolve(spec["minAvailable"], True)
    else:
        desired = max(0, expected - resolve(spec.get("maxUnavailable", 1), True))
    allowed = max(0, healthy - desired)
    return {"observedGeneration": 1, "disruptionsAllowed": allowed, "currentHealthy": healthy,
            "desiredHealthy": desired, "expectedPods": expected,
            "conditions": [{"type": "DisruptionAllowed", "status": "True" if allowed > 0 else "False",
                            "reason": "SufficientPods" if allowed > 0 else "InsufficientPods", "message": "",
                            "observedGeneration": 1, "lastTransitionTime": rfc3339(now - 600)}]}


def default_behavior(b: Obj) -> Obj:
    """The API server's defaulting of a given `behavior` (autoscaling/v2 SetDefaults): missing rules and
    fields get the controller defaults; scaleDown's window stays unset (the controller uses 300 s)."""
    up_default = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                  "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                               {"type": "Percent", "value": 100, "periodSeconds": 15}]}
    down_default = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    out = {}
    for side, d in (("scaleUp", up_default), ("scaleDown", down_default)):
        r = dict(b.get(side) or {})
        for k, v in d.items():
            r.setdefault(k, v)
        out[side] = r
    return out


def hpa_failure_events(cond: Any, n_metrics: int, d: Any) -> list[tuple[str, str]]:
    """The Warning events the HPA controller records when a metric cannot be read."""
    invalid = sum(1 for _, u, a in d.current_metrics if u is None and a is None)
    detail = cond.message.split("the HPA was unable to compute the replica count: ", 1)[-1]
    kind = {"FailedGetPodsMetric": "pods metric", "FailedGetResourceMetric": "resource metric",
            "FailedGetExternalMetric": "external metric"}.get(cond.reason, "metric")
    return [(cond.reason, detail),
            ("FailedComputeMetricsReplicas",
             f"invalid metrics ({max(1, invalid)} invalid out of {n_metrics}), first error is: failed to get {kind} value: {detail}")]


def hpa_readings(hpa: Obj, load: ServiceLoad | None, now: float, current: int, ready: int, unready: int) -> list[Reading]:
    """What the metrics APIs answer for this HPA right now, derived from the service's load curve."""
    out = []
    for m in hpa["spec"].get("metrics") or [{"type": "Resource", "resource": {"name": "cpu"}}]:
        kind = m["type"]
        if load is None:
            out.append(Reading(None, error_reason="FailedGetResourceMetric",
                               error_message="the HPA was unable to compute the replica count: no metrics returned from resource metrics API"))
            continue
        if kind == "Resource" and ready <= 0:
            out.append(Reading(None, error_reason="FailedGetResourceMetric",
                               error_message=f"the HPA was unable to compute the replica count: failed to get {m['resource']['name']} "
                                             "utilization: did not receive metrics for targeted pods (pods might be unready)"))
        elif kind == "Resource":
            name = m["resource"]["name"]
            if name == "cpu":
                util = load.utilization(now, ready)
                out.append(Reading(usage=util / 100.0 * load.cpu_request * ready, ready=ready, unready=unready,
                                   request=load.cpu_request))
            else:
                out.append(Reading(usage=load.memory_request * 0.6 * ready, ready=ready, unready=unready,
                                   request=load.memory_request))
        elif kind == "Pods":
            mname = m["pods"]["metric"]["name"]
            if ready + unready <= 0 and not (load.metric_missing or mname != load.custom_metric):
                out.append(Reading(None, error_reason="FailedGetPodsMetric",
                                   error_message=f"the HPA was unable to compute the replica count: unable to get metric {mname}: "
                                                 "no metrics returned from custom metrics API"))
            elif load.metric_missing or mname != load.custom_metric:
                out.append(Reading(None, error_reason="FailedGetPodsMetric",
                                   error_message=f"the HPA was unable to compute the replica count: unable to get metric {mname}: "
                                                 f"unable to fetch metrics from custom metrics API: the server could not find the metric {mname} for pods"))
            else:
                out.append(Reading(usage=load.curve.rps(now), ready=max(ready, 0) + unready))
        else:
            out.append(Reading(None, error_reason="FailedGetExternalMetric",
                               error_message="the HPA was unable to compute the replica count: unable to get external metric"))
    return out


def hpa_status(d: Any, current: int, desired_shown: int, now: float, last_scale: float | None,
               conditions_since: float, old: Obj | None = None) -> Obj:
    from .units import format_cpu
    metrics = []
    for target, util, avg in d.current_metrics:
        if util is None and avg is None:
            metrics.append({"type": ""})  # the controller leaves a failed metric's entry empty
            continue
        if target.kind == "Resource":
            cur: Obj = {}
            if util is not None:
                cur["averageUtilization"] = int(round(util))
            if avg is not None:
                cur["averageValue"] = format_cpu(avg) if target.name == "cpu" else str(int(avg))
            metrics.append({"type": "Resource", "resource": {"name": target.name, "current": cur}})
        elif target.kind == "Pods":
            v = avg or 0.0
            q = f"{int(round(v * 1000))}m" if abs(v - round(v)) > 1e-6 else str(int(round(v)))
            metrics.append({"type": "Pods", "pods": {"metric": {"name": target.name}, "current": {"averageValue": q}}})
    prev = {c["type"]: c for c in (old or {}).get("conditions", ())}
    conds = []
    fresh = {c.type for c in d.conditions}
    # the controller sets conditions one by one: those this sync did not touch keep their last value
    kept = [p for t, p in prev.items() if t not in fresh]
    for c in d.conditions:
        p = prev.get(c.type)
        since = p["lastTransitionTime"] if p and p["status"] == c.status else rfc3339(conditions_since)
        conds.append({"type": c.type, "status": c.status, "reason": c.reason, "message": c.message,
                      "lastTransitionTime": since})
    order = {"AbleToScale": 0, "ScalingActive": 1, "ScalingLimited": 2}
    conds = sorted(conds + kept, key=lambda c: order.get(c["type"], 3))
    s: Obj = {"currentReplicas": current, "desiredReplicas": desired_shown, "conditions": conds}
    if metrics:
        s["currentMetrics"] = metrics
    if last_scale is not None:
        s["lastScaleTime"] = rfc3339(last_scale)
    return s
