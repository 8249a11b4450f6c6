"""A small, hand-filled simulated cluster for the metrics tests: an ObjectStore with standard
Kubernetes JSON and a Telemetry, plus a ticker that moves the counters like the dynamics would.

Known by construction (the tests assert against these, never against exporter output):
GPU nodes gpu-a-1 (4x A100, zone a) and gpu-b-1 (4x A100, zone b, cordoned, GPU-tainted), a MIG
node mig-a-2 (zone a) and a NotReady CPU node cpu-c-1 (zone c)."""
from __future__ import annotations

import threading
import time

from kubewatch_ml.sim.objects import ObjectStore
from kubewatch_ml.sim.telemetry import GpuDevice, Telemetry

ZONES = {"gpu-a-1": "us-east-1a", "gpu-b-1": "us-east-1b", "mig-a-2": "us-east-1a", "cpu-c-1": "us-east-1c"}
MODEL = "NVIDIA A100-SXM4-80GB"
# (namespace, pod, container) -> cores used; the ticker adds cores*dt CPU seconds
CPU_CORES = {("llm-prod", "trainer-0", "trainer"): 3.5, ("llm-prod", "infer-7d9f-abc12", "server"): 0.5,
             ("vision-dev", "notebook-0", "jupyter"): 1.25, ("vision-dev", "mig-job-0", "worker"): 0.75}
MEMORY = {("llm-prod", "trainer-0", "trainer"): 40 * 2**30, ("llm-prod", "infer-7d9f-abc12", "server"): 3 * 2**30,
          ("vision-dev", "notebook-0", "jupyter"): 6 * 2**30, ("vision-dev", "mig-job-0", "worker"): 2**30}
# probe failures per second for the failing container
FAILS_PER_SECOND = 2.0
RESTARTS = 7


def node(name: str, gpus: int = 0, mig: bool = False, cordoned: bool = False, ready: bool = True) -> dict:
    labels = {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": ZONES[name],
              "topology.kubernetes.io/region": "us-east-1", "node.kubernetes.io/instance-type": "p4de.24xlarge" if gpus or mig else "m6i.8xlarge"}
    alloc = {"cpu": "95", "memory": str(1000 * 2**30), "pods": "110", "ephemeral-storage": "500Gi"}
    taints = []
    if gpus:
        labels.update({"nvidia.com/gpu.product": "A100-SXM4-80GB", "nvidia.com/gpu.count": str(gpus), "nvidia.com/gpu.memory": "81920"})
        alloc["nvidia.com/gpu"] = str(gpus)
        taints.append({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"})
    if mig:
        labels.update({"nvidia.com/gpu.product": "A100-SXM4-80GB-MIG-1g.10gb", "nvidia.com/mig.strategy": "mixed"})
        alloc["nvidia.com/mig-1g.10gb"] = "2"
    if cordoned:
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    spec = {"podCIDR": "10.0.0.0/24", "providerID": f"aws:///{ZONES[name]}/i-{name}"}
    if taints:
        spec["taints"] = taints
    if cordoned:
        spec["unschedulable"] = True
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": spec,
            "status": {"allocatable": alloc, "capacity": dict(alloc),
                       "conditions": [{"type": "Ready", "status": "True" if ready else "Unknown",
                                       "reason": "KubeletReady" if ready else "NodeStatusUnknown"},
                                      {"type": "MemoryPressure", "status": "False"}],
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.4", "kernelVersion": "6.1.0", "osImage": "Ubuntu 22.04",
                                    "containerRuntimeVersion": "containerd://1.7.22", "systemUUID": "ec2-" + name}}}


def pod(ns: str, name: str, node_name: str | None, containers: list[dict], phase: str = "Running",
        owner: tuple[str, str] | None = None, statuses: list[dict] | None = None) -> dict:
    md = {"name": name, "namespace": ns}
    if owner:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "uid": "u-" + owner[1],
                                  "controller": True, "blockOwnerDeletion": True}]
    conds = [{"type": "PodScheduled", "status": "True" if node_name else "False",
              **({} if node_name else {"reason": "Unschedulable"})}]
    if node_name:
        conds.append({"type": "Ready", "status": "True"})
    spec = {"containers": containers}
    if node_name:
        spec["nodeName"] = node_name
    status = {"phase": phase, "conditions": conds}
    if node_name:
        status.update(hostIP="10.0.0.1", podIP="10.1.0.5")
        status["containerStatuses"] = statuses or [
            {"name": c["name"], "ready": True, "restartCount": 0, "image": c["image"],
             "containerID": f"containerd://{name}-{c['name']}", "state": {"running": {}}} for c in containers]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": status}


def ctr(name: str, image: str, cpu: str, mem: str, gpu: int = 0, gpu_key: str = "nvidia.com/gpu") -> dict:
    req = {"cpu": cpu, "memory": mem}
    lim = {"memory": mem}
    if gpu:
        req[gpu_key] = str(gpu)
        lim[gpu_key] = str(gpu)
    return {"name": name, "image": image, "resources": {"requests": req, "limits": lim}}


def hpa(current: int, desired: int, cpu_now: int = 80) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "infer", "namespace": "llm-prod"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "infer"},
                     "minReplicas": 1, "maxReplicas": 5,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
                                 {"type": "Pods", "pods": {"metric": {"name": "inference_queue_depth"}, "target": {"type": "AverageValue", "averageValue": "30"}}}]},
            "status": {"currentReplicas": current, "desiredReplicas": desired,
                       "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": cpu_now, "averageValue": "400m"}}},
                                          {"type": "Pods", "pods": {"metric": {"name": "inference_queue_depth"}, "current": {"averageValue": "12"}}}],
                       "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"},
                                      {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"},
                                      {"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange"}]}}


class World:
    """store + telemetry + the facts the tests check against."""

    def __init__(self):
        self.store = ObjectStore()
        self.telemetry = Telemetry()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fails = 0.0
        self.hpa_changed = False  # currentReplicas moved at some point (mixin mismatch alert needs 15 m still)
        s = self.store
        s.load("nodes", [node("gpu-a-1", gpus=4), node("gpu-b-1", gpus=4, cordoned=True), node("mig-a-2", mig=True),
                         node("cpu-c-1", ready=False)])
        failing = [{"name": "server", "ready": False, "restartCount": RESTARTS, "image": "infer:1.4",
                    "containerID": "containerd://infer-server",
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
                    "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}]
        pods = [
            pod("llm-prod", "trainer-0", "gpu-a-1", [ctr("trainer", "trainer:2.1", "8", "64Gi", gpu=2)], owner=("StatefulSet", "trainer")),
            pod("llm-prod", "infer-7d9f-abc12", "gpu-b-1", [ctr("server", "infer:1.4", "2", "8Gi", gpu=1)],
                owner=("ReplicaSet", "infer-7d9f"), statuses=failing),
            pod("llm-prod", "infer-7d9f-def34", "gpu-a-1", [ctr("server", "infer:1.4", "2", "8Gi", gpu=1)], owner=("ReplicaSet", "infer-7d9f")),
            pod("vision-dev", "notebook-0", "cpu-c-1", [ctr("jupyter", "jupyter:4", "2", "8Gi")], owner=("StatefulSet", "notebook")),
            pod("vision-dev", "mig-job-0", "mig-a-2", [ctr("worker", "mig:1", "1", "4Gi", gpu=1, gpu_key="nvidia.com/mig-1g.10gb")]),
            pod("vision-dev", "pending-gpu", None, [ctr("worker", "train:1", "4", "16Gi", gpu=8)], phase="Pending"),
        ]
        s.load("pods", pods)
        s.load("resourcequotas", [
            {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute", "namespace": "llm-prod"},
             "spec": {"hard": {"requests.cpu": "16", "requests.memory": "128Gi", "requests.nvidia.com/gpu": "4", "pods": "10"}},
             "status": {"hard": {"requests.cpu": "16", "requests.memory": "128Gi", "requests.nvidia.com/gpu": "4", "pods": "10"},
                        "used": {"requests.cpu": "12", "requests.memory": "80Gi", "requests.nvidia.com/gpu": "4", "pods": "3"}}},
            {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "team", "namespace": "vision-dev"},
             "spec": {"hard": {"requests.cpu": "4", "limits.memory": "16Gi"}},
             "status": {"hard": {"requests.cpu": "4", "limits.memory": "16Gi"},
                        "used": {"requests.cpu": "3500m", "limits.memory": "12Gi"}}},
        ])
        s.load("horizontalpodautoscalers", [hpa(2, 3)])
        s.load("deployments", [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "infer", "namespace": "llm-prod"},
                                "spec": {"replicas": 2}, "status": {"replicas": 2, "availableReplicas": 1, "updatedReplicas": 2,
                                                                    "unavailableReplicas": 1}}])
        s.load("statefulsets", [{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "trainer", "namespace": "llm-prod"},
                                 "spec": {"replicas": 1}, "status": {"replicas": 1, "readyReplicas": 1}}])
        t = self.telemetry
        holders = {("gpu-a-1", 0): ("llm-prod", "trainer-0", "trainer"), ("gpu-a-1", 1): ("llm-prod", "trainer-0", "trainer"),
                   ("gpu-a-1", 2): ("llm-prod", "infer-7d9f-def34", "server"), ("gpu-b-1", 0): ("llm-prod", "infer-7d9f-abc12", "server")}
        # utilisation: trainer GPUs busy (90, 88), infer-def34's GPU allocated but idle (1), others 0
        utils = {("gpu-a-1", 0): 90.0, ("gpu-a-1", 1): 88.0, ("gpu-a-1", 2): 1.0, ("gpu-b-1", 0): 40.0}
        for n in ("gpu-a-1", "gpu-b-1"):
            for i in range(4):
                u = utils.get((n, i), 0.0)
                t.gpus[(n, i)] = GpuDevice(node=n, index=i, uuid=f"GPU-{n}-{i:04d}", model=MODEL, util=u,
                                           fb_used_mib=70000.0 if (n, i) in holders else 0.0, power_w=60 + 3 * u,
                                           temp_c=35 + u / 3, holder=holders.get((n, i)),
                                           xid=79 if (n, i) == ("gpu-b-1", 3) else 0)
        for gi in (1, 2):
            t.gpus[("mig-a-2", f"0/{gi}")] = GpuDevice(node="mig-a-2", index=0, uuid="GPU-mig-a-2-0000", model=MODEL,
                                                        mig_profile="1g.10gb", mig_instance=gi, util=55.0 if gi == 1 else 0.0,
                                                        fb_used_mib=5000.0 if gi == 1 else 0.0, fb_total_mib=9856.0,
                                                        holder=("vision-dev", "mig-job-0", "worker") if gi == 1 else None)
        for k in CPU_CORES:
            t.container_cpu_seconds[k] = 1000.0
            t.container_memory_bytes[k] = float(MEMORY[k])
        for (ns, p, c) in CPU_CORES:
            t.probe_counts[(ns, p, c, "Liveness", "successful")] = 100
            t.probe_counts[(ns, p, c, "Liveness", "failed")] = 0
        t.probe_counts[("llm-prod", "infer-7d9f-abc12", "server", "Readiness", "failed")] = 0

    # --- changes the tests make ---------------------------------------------------------
    def tick(self, dt: float) -> None:
        """What dynamics does in dt seconds: CPU seconds, energy and failed probes accumulate."""
        t = self.telemetry
        with t.lock:
            for k, cores in CPU_CORES.items():
                t.container_cpu_seconds[k] += cores * dt
            for d in t.gpus.values():
                d.energy_mj += d.power_w * dt * 1000
            key = ("llm-prod", "infer-7d9f-abc12", "server", "Liveness", "failed")
            self._fails += FAILS_PER_SECOND * dt  # whole probe runs only; the fraction carries over
            whole = int(self._fails)
            self._fails -= whole
            t.probe_counts[key] += whole

    def set_hpa(self, current: int, desired: int) -> None:
        self.hpa_changed = True
        self.store.replace("horizontalpodautoscalers", hpa(current, desired))

    def start_ticking(self, every: float = 0.5) -> None:
        def run():
            while not self._stop.wait(every):
                self.tick(every)
        self._thread = threading.Thread(target=run, daemon=True, name="world-ticker")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


def wait_until(fn, timeout: float = 20.0, every: float = 0.25):
    """Poll fn() until it returns something truthy; returns it, or the last value on timeout."""
    end = time.monotonic() + timeout
    v = fn()
    while not v and time.monotonic() < end:
        time.sleep(every)
        v = fn()
    return v
