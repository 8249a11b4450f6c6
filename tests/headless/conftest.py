"""Hand-made clusters for the headless tests: GPU nodes in two zones, a quota near its limit, an HPA
pinned at max, a crash-looping container, a pending GPU pod, and names that try to break markup."""
from __future__ import annotations

import os
import shutil

import pytest

from kubewatch_ml.metrics_snapshot import AreaState, GpuSample, HpaHistory, MetricsSnapshot
from kubewatch_ml.model import (
    Condition,
    ContainerSpec,
    ContainerStatus,
    Hpa,
    HpaMetric,
    Namespace,
    Node,
    OwnerRef,
    Pod,
    Resources,
    ResourceQuota,
    Taint,
    Workload,
)
from kubewatch_ml.snapshot import ClusterInfo, ClusterSnapshot

T0 = 1_780_000_000.0  # 2026-05-28T20:26:40Z
HOSTILE = "<script>alert(1)</script>|*x*"


def need_binary(name: str) -> str:
    """The path of an external binary; FAIL under CI when it is missing, skip otherwise."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required under CI but not installed")
        pytest.skip(f"{name} not installed")
    return path


def make_node(name, zone, gpus=0, *, cordoned=False, taints=(), labels=None, ready="True"):
    lab = {"topology.kubernetes.io/zone": zone, "kubernetes.io/hostname": name}
    if gpus:
        lab["nvidia.com/gpu.product"] = "NVIDIA-A100-SXM4-80GB"
    lab.update(labels or {})
    res = Resources(cpu_m=64000, memory=512 * 2**30, gpu=gpus, pods=110)
    return Node(name=name, uid=f"uid-{name}", labels=lab, created=T0 - 86400, unschedulable=cordoned,
                taints=tuple(taints), capacity=res, allocatable=res,
                conditions=(Condition("Ready", ready),), ready=ready, kubelet_version="v1.32.0")


def make_pod(name, ns, node="", *, gpu=0, phase="Running", owner=None, crash=False, restarts=0, unschedulable=False):
    req = Resources(cpu_m=2000, memory=8 * 2**30, gpu=gpu)
    st = ContainerStatus(name="main", ready=not crash, started=not crash, restart_count=restarts,
                         state="waiting" if crash else "running", reason="CrashLoopBackOff" if crash else "",
                         last_term_reason="Error" if crash else "", last_term_exit_code=1 if crash else None)
    conds = (Condition("PodScheduled", "False", "Unschedulable", "0/4 nodes are available: 4 Insufficient nvidia.com/gpu."),) \
        if unschedulable else (Condition("Ready", "False" if crash else "True"),)
    return Pod(uid=f"uid-{ns}-{name}", name=name, namespace=ns, created=T0 - 3600, owner=owner, node_name=node,
               phase="Pending" if unschedulable else phase, start_time=T0 - 3600,
               containers=(ContainerSpec(name="main", image="registry/ml:1", requests=req, liveness=True, readiness=True),),
               statuses=() if unschedulable else (st,), requests=req, conditions=conds)


def sample_cluster(taken_at: float = T0, *, cordon_gpu_b: bool = False, replicas: int = 4, quota_used_gpu: int = 7,
                   hostile: bool = True) -> ClusterSnapshot:
    nodes = [
        make_node("gpu-a", "us-east-1a", 8),
        make_node("gpu-b", "us-east-1b", 8, cordoned=cordon_gpu_b,
                  taints=(Taint("nvidia.com/gpu", "present", "NoSchedule"),)),
        make_node("cpu-a", "us-east-1a"),
        make_node("cpu-b", "us-east-1b"),
    ]
    rs_owner = OwnerRef(kind="ReplicaSet", name="serve-abc", controller=True)
    pods = [make_pod(f"serve-abc-{i}", "team-nlp", "cpu-a" if i % 2 else "cpu-b", owner=rs_owner) for i in range(replicas)]
    pods += [make_pod("train-0", "team-vision", "gpu-a", gpu=4), make_pod("train-1", "team-vision", "gpu-b", gpu=3)]
    pods += [make_pod("flaky-0", "team-nlp", "cpu-a", crash=True, restarts=14)]
    pods += [make_pod("big-train-0", "team-vision", gpu=8, unschedulable=True)]
    namespaces = [Namespace(name="team-nlp", uid="ns1"), Namespace(name="team-vision", uid="ns2")]
    quotas = [
        ResourceQuota(uid="q1", name="gpu-quota", namespace="team-vision",
                      hard={"requests.nvidia.com/gpu": 8, "requests.cpu": 64000},
                      used={"requests.nvidia.com/gpu": quota_used_gpu, "requests.cpu": 4000}),
        ResourceQuota(uid="q2", name="compute", namespace="team-nlp",
                      hard={"requests.cpu": 32000, "requests.memory": 128 * 2**30},
                      used={"requests.cpu": 2000 * (replicas + 1), "requests.memory": 8 * 2**30 * (replicas + 1)}),
    ]
    workloads = [
        Workload(kind="Deployment", uid="d1", name="serve", namespace="team-nlp", replicas=replicas,
                 ready_replicas=replicas, available_replicas=replicas),
        Workload(kind="ReplicaSet", uid="rs1", name="serve-abc", namespace="team-nlp", replicas=replicas,
                 owner=OwnerRef(kind="Deployment", name="serve", controller=True)),
    ]
    hpas = [Hpa(uid="h1", name="serve", namespace="team-nlp", target_kind="Deployment", target_name="serve",
                min_replicas=2, max_replicas=4, current_replicas=replicas, desired_replicas=replicas,
                metrics=(HpaMetric(type="Resource", name="cpu", target_type="Utilization", target=60, current=95),),
                conditions=(Condition("ScalingLimited", "True", "TooManyReplicas"),))]
    if hostile:
        namespaces.append(Namespace(name="evil", uid="ns3"))
        pods.append(make_pod(HOSTILE, "evil", "cpu-b", crash=True, restarts=3))
        quotas.append(ResourceQuota(uid="q3", name=HOSTILE, namespace="evil", hard={"pods": 10}, used={"pods": 10}))
    info = ClusterInfo(context="prod-ml", server="https://10.0.0.1:6443", version="v1.32.0", user="sre")
    return ClusterSnapshot.build(taken_at, cluster=info, nodes=nodes, pods=pods, namespaces=namespaces,
                                 quotas=quotas, hpas=hpas, workloads=workloads)


def sample_metrics(taken_at: float = T0) -> MetricsSnapshot:
    ok = AreaState(ok=True, fetched_at=taken_at)
    gpus = tuple(
        GpuSample(node=node, gpu=str(i), uuid=f"GPU-{node}-{i}", model="NVIDIA A100-SXM4-80GB",
                  util=(85.0 if i < 2 else 1.0) if pod else 0.0, fb_used_mib=40000.0 if pod else 0.0,
                  namespace="team-vision" if pod else "", pod=pod, container="main" if pod else "",
                  util_avg_30m=(80.0 if i < 2 else 1.5) if pod else 0.0,
                  util_history=tuple(float((i * 7 + k * 13) % 100) for k in range(20)))
        for node, held in (("gpu-a", 4), ("gpu-b", 3)) for i in range(8)
        for pod in [("train-0" if node == "gpu-a" else "train-1") if i < held else ""]
    )
    return MetricsSnapshot(
        taken_at=taken_at, source="direct", areas={a: ok for a in ("gpu", "usage", "probes", "restarts", "hpa_history", "quota", "ksm")},
        gpus=gpus, container_cpu={("team-nlp", "serve-abc-0", "main"): 1.5}, namespace_cpu={"team-nlp": 3.0},
        namespace_memory={"team-nlp": 9e9}, probe_failures_5m={("team-nlp", "flaky-0", "main", "Liveness"): 6.0},
        restarts_1h={("team-nlp", "flaky-0", "main"): 5.0}, crashlooping=frozenset({("team-nlp", "flaky-0", "main")}),
        hpa_history={("team-nlp", "serve"): HpaHistory(times=(taken_at - 60, taken_at), current=(3.0, 4.0), desired=(4.0, 4.0))},
    )


@pytest.fixture
def cluster() -> ClusterSnapshot:
    return sample_cluster()


@pytest.fixture
def metrics() -> MetricsSnapshot:
    return sample_metrics()
