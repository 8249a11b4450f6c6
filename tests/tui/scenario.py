"""A fixed small ML cluster built from records (no simulator): 6 nodes in 2 zones (4 with GPUs),
quotas near and over their limits, a maxed-out and a blind HPA, a crash-looping container, a GPU
pod pending, idle GPUs, and a pod whose name and event message carry markup and escape codes.
Deterministic: the clock is NOW."""
from __future__ import annotations

from kubewatch_ml.feed import StaticFeed
from kubewatch_ml.metrics_snapshot import AreaState, GpuSample, HpaHistory, MetricsSnapshot, AREAS
from kubewatch_ml.model import (
    Condition, ContainerSpec, ContainerStatus, Event, Hpa, HpaMetric, LabelSelector, Namespace, Node, OwnerRef, Pod,
    ResourceQuota, Resources, Taint, Workload,
)
from kubewatch_ml.snapshot import ClusterInfo, ClusterSnapshot, KindState

NOW = 1_790_000_000.0
GiB = 1 << 30
EVIL_POD = "evil-[red]pod[/red]"  # (not a valid k8s name: proves names are rendered inert)
EVIL_MESSAGE = "probe failed: [bold magenta]boom[/] \x1b[31mred\x1b[0m \x1b]52;c;aGk=\x07done"


def _node(name, zone, gpus=0, product="", cordoned=False, ready="True", taints=()):
    labels = {"topology.kubernetes.io/zone": zone, "node.kubernetes.io/instance-type": "p4d.24xlarge" if gpus else "m5.4xlarge",
              "kubernetes.io/hostname": name}
    if product:
        labels["nvidia.com/gpu.product"] = product
    res = Resources(cpu_m=96000 if gpus else 16000, memory=1024 * GiB if gpus else 64 * GiB, gpu=gpus, pods=110)
    return Node(name=name, uid=f"uid-{name}", labels=labels, created=NOW - 86400 * 30, unschedulable=cordoned,
                taints=tuple(taints), capacity=res, allocatable=res, ready=ready,
                conditions=(Condition("Ready", ready, "KubeletReady" if ready == "True" else "NodeStatusUnknown"),))


def _pod(name, ns, node, *, gpu=0, cpu=1000, mem=4 * GiB, owner=None, phase="Running", ready=True,
         statuses=None, liveness=True, readiness=True, conditions=None, created=NOW - 7200, labels=None):
    spec = ContainerSpec(name="main", image="registry.example/ml:1.4", requests=Resources(cpu_m=cpu, memory=mem, gpu=gpu),
                         limits=Resources(cpu_m=cpu, memory=mem, gpu=gpu), liveness=liveness, readiness=readiness)
    st = statuses if statuses is not None else (ContainerStatus(name="main", ready=ready, started=True, state="running",
                                                                started_at=created + 30),)
    conds = conditions if conditions is not None else (
        Condition("PodScheduled", "True"), Condition("Ready", "True" if ready else "False"))
    return Pod(uid=f"uid-{ns}-{name}", name=name, namespace=ns, labels=labels or {"app": name.rsplit("-", 2)[0]},
               created=created, owner=owner, node_name=node, phase=phase, start_time=created + 5, containers=(spec,),
               statuses=st, requests=Resources(cpu_m=cpu, memory=mem, gpu=gpu), limits=Resources(cpu_m=cpu, memory=mem, gpu=gpu),
               tolerations=(), conditions=conds)


def build_cluster() -> ClusterSnapshot:
    nodes = [
        _node("gpu-a100-1", "us-east-1a", 8, "NVIDIA-A100-SXM4-80GB", taints=(Taint("nvidia.com/gpu", "present", "NoSchedule"),)),
        _node("gpu-a100-2", "us-east-1a", 8, "NVIDIA-A100-SXM4-80GB"),
        _node("gpu-h100-1", "us-east-1b", 8, "NVIDIA-H100-80GB-HBM3", cordoned=True),
        _node("gpu-t4-1", "us-east-1b", 4, "Tesla-T4", ready="Unknown"),
        _node("cpu-1", "us-east-1a"),
        _node("cpu-2", "us-east-1b"),
    ]
    namespaces = [Namespace(name=n, uid=f"ns-{n}", labels={"env": "prod"} if n.endswith("prod") else {})
                  for n in ("ml-prod", "ml-dev", "research", "serving-prod", "kube-system")]
    quotas = [
        ResourceQuota(uid="q1", name="compute", namespace="ml-prod",
                      hard={"requests.cpu": 40000, "requests.memory": 256 * GiB, "requests.nvidia.com/gpu": 16},
                      used={"requests.cpu": 38000, "requests.memory": 120 * GiB, "requests.nvidia.com/gpu": 16}),
        ResourceQuota(uid="q2", name="compute", namespace="ml-dev",
                      hard={"requests.cpu": 20000, "requests.memory": 64 * GiB, "requests.nvidia.com/gpu": 4},
                      used={"requests.cpu": 6000, "requests.memory": 70 * GiB, "requests.nvidia.com/gpu": 2}),
        ResourceQuota(uid="q3", name="gpus", namespace="research",
                      hard={"requests.nvidia.com/gpu": 8, "pods": 50}, used={"requests.nvidia.com/gpu": 5, "pods": 12}),
    ]
    dep = Workload(kind="Deployment", uid="d1", name="trainer", namespace="ml-prod", replicas=4, ready_replicas=4,
                   available_replicas=4, selector=LabelSelector(match_labels={"app": "trainer"}),
                   template_labels={"app": "trainer"})
    rs = Workload(kind="ReplicaSet", uid="rs1", name="trainer-7d9f", namespace="ml-prod", replicas=4, ready_replicas=4,
                  owner=OwnerRef("Deployment", "trainer", "d1", True))
    api = Workload(kind="Deployment", uid="d2", name="inference-api", namespace="serving-prod", replicas=3, ready_replicas=2,
                   selector=LabelSelector(match_labels={"app": "inference-api"}), template_labels={"app": "inference-api"})
    rs2 = Workload(kind="ReplicaSet", uid="rs2", name="inference-api-5c", namespace="serving-prod", replicas=3, ready_replicas=2,
                   owner=OwnerRef("Deployment", "inference-api", "d2", True))
    nb = Workload(kind="StatefulSet", uid="s1", name="notebook", namespace="research", replicas=2, ready_replicas=2,
                  selector=LabelSelector(match_labels={"app": "notebook"}), template_labels={"app": "notebook"})
    workloads = [dep, rs, api, rs2, nb]
    own_rs = OwnerRef("ReplicaSet", "trainer-7d9f", "rs1", True)
    own_api = OwnerRef("ReplicaSet", "inference-api-5c", "rs2", True)
    own_nb = OwnerRef("StatefulSet", "notebook", "s1", True)
    crash = (ContainerStatus(name="main", ready=False, started=False, restart_count=14, state="waiting",
                             reason="CrashLoopBackOff", message="back-off 5m0s restarting failed container",
                             last_term_reason="OOMKilled", last_term_exit_code=137, last_term_finished_at=NOW - 120),)
    pods = [
        _pod("trainer-7d9f-a1", "ml-prod", "gpu-a100-1", gpu=4, cpu=8000, owner=own_rs, labels={"app": "trainer"}),
        _pod("trainer-7d9f-b2", "ml-prod", "gpu-a100-1", gpu=4, cpu=8000, owner=own_rs, labels={"app": "trainer"}),
        _pod("trainer-7d9f-c3", "ml-prod", "gpu-a100-2", gpu=4, cpu=8000, owner=own_rs, labels={"app": "trainer"}),
        _pod("trainer-7d9f-d4", "ml-prod", "gpu-a100-2", gpu=4, cpu=8000, owner=own_rs, labels={"app": "trainer"}),
        _pod("inference-api-5c-x1", "serving-prod", "cpu-1", cpu=2000, owner=own_api, labels={"app": "inference-api"}),
        _pod("inference-api-5c-x2", "serving-prod", "cpu-1", cpu=2000, owner=own_api, labels={"app": "inference-api"}),
        _pod("inference-api-5c-x3", "serving-prod", "cpu-1", cpu=2000, owner=own_api, ready=False, statuses=crash,
             labels={"app": "inference-api"}),
        _pod("notebook-0", "research", "gpu-h100-1", gpu=2, cpu=4000, owner=own_nb, labels={"app": "notebook"}),
        _pod("notebook-1", "research", "gpu-h100-1", gpu=3, cpu=4000, owner=own_nb, labels={"app": "notebook"}),
        _pod("finetune-big", "ml-dev", "", gpu=8, cpu=16000, phase="Pending", ready=False, statuses=(),
             conditions=(Condition("PodScheduled", "False", "Unschedulable",
                                   "0/6 nodes are available: 2 Insufficient nvidia.com/gpu, 1 node(s) were unschedulable, "
                                   "1 node(s) had untolerated taint {nvidia.com/gpu: present}, 2 node(s) didn't match "
                                   "Pod's node affinity/selector."),), created=NOW - 1800),
        _pod("eval-job-1", "ml-dev", "gpu-t4-1", gpu=2, cpu=2000),
        _pod(EVIL_POD, "ml-dev", "cpu-2", cpu=500, ready=False, statuses=(
            ContainerStatus(name="main", ready=False, started=True, restart_count=3, state="running", started_at=NOW - 600),)),
        _pod("coredns-1", "kube-system", "cpu-2", cpu=100, mem=128 << 20),
    ]
    hpas = [
        Hpa(uid="h1", name="inference-api", namespace="serving-prod", target_kind="Deployment", target_name="inference-api",
            min_replicas=2, max_replicas=3, current_replicas=3, desired_replicas=3,
            metrics=(HpaMetric("Resource", "cpu", "Utilization", 60.0, 95.0),),
            conditions=(Condition("AbleToScale", "True", "ReadyForNewScale"),
                        Condition("ScalingActive", "True", "ValidMetricFound"),
                        Condition("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count")),
            last_scale_time=NOW - 900),
        Hpa(uid="h2", name="trainer", namespace="ml-prod", target_kind="Deployment", target_name="trainer",
            min_replicas=2, max_replicas=8, current_replicas=4, desired_replicas=4,
            metrics=(HpaMetric("Pods", "queue_depth", "AverageValue", 30.0, None),),
            conditions=(Condition("ScalingActive", "False", "FailedGetPodsMetric", "unable to get metric queue_depth"),),
            last_scale_time=NOW - 7200),
    ]
    events = [
        Event(uid="e1", name="e1", namespace="serving-prod", involved_kind="Pod", involved_name="inference-api-5c-x3",
              field_path="spec.containers{main}", reason="BackOff", message="Back-off restarting failed container main",
              type="Warning", count=40, first_seen=NOW - 3000, last_seen=NOW - 60, source="kubelet"),
        Event(uid="e2", name="e2", namespace="serving-prod", involved_kind="Pod", involved_name="inference-api-5c-x3",
              field_path="spec.containers{main}", reason="Unhealthy", message="Liveness probe failed: HTTP probe failed with statuscode: 500",
              type="Warning", count=25, first_seen=NOW - 3300, last_seen=NOW - 90, source="kubelet"),
        Event(uid="e3", name="e3", namespace="ml-dev", involved_kind="Pod", involved_name=EVIL_POD,
              field_path="spec.containers{main}", reason="Unhealthy", message=EVIL_MESSAGE,
              type="Warning", count=7, first_seen=NOW - 500, last_seen=NOW - 30, source="kubelet"),
        Event(uid="e4", name="e4", namespace="ml-dev", involved_kind="Pod", involved_name="finetune-big",
              reason="FailedScheduling", message="0/6 nodes are available: 2 Insufficient nvidia.com/gpu.",
              type="Warning", count=12, first_seen=NOW - 1800, last_seen=NOW - 20, source="default-scheduler"),
    ]
    kinds = {k: KindState(kind=k, listed=n, pages=1, complete=True, synced_at=NOW)
             for k, n in (("nodes", 6), ("pods", len(pods)), ("namespaces", 5), ("resourcequotas", 3),
                          ("horizontalpodautoscalers", 2), ("deployments", 2), ("events", len(events)))}
    kinds["networkpolicies"] = KindState(kind="networkpolicies", forbidden=True)
    return ClusterSnapshot.build(NOW, cluster=ClusterInfo(context="ml-staging", server="https://10.0.0.1:6443",
                                                          version="v1.32.2", user="sre"),
                                 nodes=nodes, pods=pods, namespaces=namespaces, quotas=quotas, hpas=hpas,
                                 workloads=workloads, events=events, kinds=kinds)


def _hist(base: float, amp: float, n: int = 30) -> tuple[float, ...]:
    return tuple(max(0.0, min(100.0, base + amp * (((i * 7) % 11) / 10 - 0.5))) for i in range(n))


def build_metrics() -> MetricsSnapshot:
    gpus = []
    holders = {("gpu-a100-1", i): ("ml-prod", "trainer-7d9f-a1" if i < 4 else "trainer-7d9f-b2") for i in range(8)}
    holders.update({("gpu-a100-2", i): ("ml-prod", "trainer-7d9f-c3" if i < 4 else "trainer-7d9f-d4") for i in range(8)})
    holders.update({("gpu-h100-1", i): ("research", "notebook-0" if i < 2 else "notebook-1") for i in range(5)})
    holders.update({("gpu-t4-1", i): ("ml-dev", "eval-job-1") for i in range(2)})
    for node, count, model in (("gpu-a100-1", 8, "NVIDIA A100-SXM4-80GB"), ("gpu-a100-2", 8, "NVIDIA A100-SXM4-80GB"),
                               ("gpu-h100-1", 8, "NVIDIA H100 80GB HBM3"), ("gpu-t4-1", 4, "Tesla T4")):
        for i in range(count):
            ns, pod = holders.get((node, i), ("", ""))
            idle = node == "gpu-h100-1" and pod != ""  # notebooks hold GPUs and do nothing
            util = 1.0 if idle else (85.0 + i if pod else 0.0)
            gpus.append(GpuSample(node=node, gpu=str(i), uuid=f"GPU-{node}-{i}", model=model, util=util,
                                  fb_used_mib=60000.0 if pod else 0.0, fb_free_mib=21920.0 if pod else 81920.0,
                                  power_w=350.0 if pod and not idle else 60.0, temp_c=70.0 if pod else 35.0,
                                  xid=79 if (node == "gpu-t4-1" and i == 1) else 0, namespace=ns, pod=pod,
                                  container="main" if pod else "", util_avg_30m=util,
                                  util_history=_hist(util, 0 if idle else 20)))
    ok = AreaState(ok=True, fetched_at=NOW - 5)
    areas = {a: ok for a in AREAS}
    return MetricsSnapshot(
        taken_at=NOW - 5, source="prometheus http://127.0.0.1:9090", areas=areas, gpus=tuple(gpus),
        namespace_cpu={"ml-prod": 30.5, "ml-dev": 1.2, "research": 0.4, "serving-prod": 5.0},
        namespace_memory={"ml-prod": 100 * GiB, "ml-dev": 10 * GiB, "research": 4 * GiB, "serving-prod": 8 * GiB},
        probe_failures_5m={("serving-prod", "inference-api-5c-x3", "main", "Liveness"): 6.0,
                           ("ml-dev", EVIL_POD, "main", "Readiness"): 4.0},
        restarts_1h={("serving-prod", "inference-api-5c-x3", "main"): 9.0, ("ml-dev", EVIL_POD, "main"): 3.0},
        crashlooping=frozenset({("serving-prod", "inference-api-5c-x3", "main")}),
        hpa_history={("serving-prod", "inference-api"): HpaHistory(
            times=tuple(NOW - 60 * (30 - i) for i in range(30)),
            current=tuple(float(2 + (i // 10)) if i < 20 else 3.0 for i in range(30)),
            desired=tuple(float(2 + (i // 8)) if i < 16 else 4.0 for i in range(30)))},
    )


def scenario_feed() -> StaticFeed:
    return StaticFeed.from_snapshot(build_cluster(), build_metrics(), NOW)
