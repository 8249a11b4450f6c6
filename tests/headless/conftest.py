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


def sample_analysis(taken_at: float = T0, *, hostile: bool = True):
    """A hand-built Analysis (independent of analysis/ code) matching sample_cluster()."""
    from kubewatch_ml.analysis import models as m

    bad = HOSTILE if hostile else "plain"
    qrow = m.QuotaRow(key="team-vision/gpu-quota/requests.nvidia.com/gpu", namespace="team-vision", quota="gpu-quota",
                      resource="requests.nvidia.com/gpu", unit="count", used=7, hard=8, ratio=0.875, percent=87.5, level="ok")
    qbad = m.QuotaRow(key=f"evil/{bad}/pods", namespace="evil", quota=bad, resource="pods", unit="count", used=10,
                      hard=10, ratio=1.0, percent=100.0, level="fully_used")
    nsq = lambda ns, rows, level, ratio: m.NamespaceQuota(
        key=ns, namespace=ns, has_quota=True, quotas=tuple(r.quota for r in rows), rows=tuple(rows), level=level,
        max_ratio=ratio, prod=False, pods=2, cpu_requested_m=4000, memory_requested=16 * 2**30, gpu_requested=7,
        cpu_limit_m=0, memory_limit=0, cpu_used_cores=3.0, memory_used=9e9, cpu_idle_reserved_m=1000,
        memory_idle_reserved=int(16 * 2**30 - 9e9), cpu_usage_ratio=0.75, memory_usage_ratio=0.52,
        gpus_allocated=7, gpus_idle=3)
    quotas = m.QuotaView(rows=(nsq("evil", [qbad], "fully_used", 1.0), nsq("team-vision", [qrow], "ok", 0.875)),
                         quota_rows=(qbad, qrow), without_quota=("team-nlp",))
    dev = lambda node, i, pod: m.GpuDeviceRow(
        key=f"{node}/{i}", node=node, gpu=str(i), uuid=f"GPU-{node}-{i}", model="NVIDIA A100-SXM4-80GB", mig_profile="",
        util=85.0 if pod else 0.0, fb_used_mib=40000.0, fb_total_mib=81920.0, mem_percent=48.8, power_w=300.0,
        temp_c=60.0, xid=0, namespace="team-vision" if pod else "", pod=pod, container="main" if pod else "",
        allocated=bool(pod), idle=False, util_avg_30m=80.0 if pod else None,
        util_history=tuple(float((i * 7 + k * 13) % 100) for k in range(20)))
    gnode = lambda node, zone, req, cordoned: m.GpuNodeRow(
        key=node, node=node, product="NVIDIA-A100-SXM4-80GB", zone=zone, instance_type="p4d.24xlarge", allocatable=8,
        requested=req, free=8 - req, mig=(), pods=(m.GpuPodRef(key=f"team-vision/{node}-pod", namespace="team-vision",
        name=f"{node}-pod", gpus=req, mig=(), phase="Running", has_gpu_toleration=True),),
        devices=tuple(dev(node, i, "train" if i < req else "") for i in range(8)), cordoned=cordoned,
        taints=("nvidia.com/gpu=present:NoSchedule",), ready="True", not_ready=False,
        status="Ready,SchedulingDisabled" if cordoned else "Ready", util_avg=42.5, mem_percent_avg=48.8,
        power_w=2400.0, idle_gpus=0, xid_gpus=0)
    tot = lambda key, group: m.GpuTotalRow(key=key, group=group, nodes=2, allocatable=16, requested=7, free=9,
                                           mig_allocatable=0, mig_requested=0, unavailable_nodes=0, idle_gpus=0, util_avg=42.5)
    gpus = m.GpuView(rows=(gnode("gpu-a", "us-east-1a", 4, False), gnode("gpu-b", "us-east-1b", 3, True)),
                     by_product=(tot("product:A100", "NVIDIA-A100-SXM4-80GB"),), by_zone=(tot("zone:us-east-1a", "us-east-1a"),),
                     total=tot("all", ""))
    hpa = m.HpaRow(key="team-nlp/serve", namespace="team-nlp", name="serve", target="Deployment/serve", min_replicas=2,
                   max_replicas=4, current=4, desired=4, computed_desired=7, why="ceil(4 * 95/60) = 7, capped at max 4",
                   state="maxed_out", states=("maxed_out",),
                   metrics=(m.HpaMetricRow(key="team-nlp/serve/Resource/cpu", type="Resource", name="cpu",
                                           target_type="Utilization", target=60, current=95, ratio=1.58, proposal=7,
                                           text="cpu 95% / 60%"),),
                   conditions=(m.ConditionRow("ScalingLimited", "True", "TooManyReplicas", "", taken_at - 600),),
                   history_times=(taken_at - 120, taken_at - 60, taken_at), history_current=(2.0, 3.0, 4.0),
                   history_desired=(3.0, 4.0, 4.0), direction_changes_per_hour=0.0, mismatch_for_s=0.0)
    prow = lambda ns, pod, n: m.ProbeRow(
        key=f"{ns}/{pod}/main", namespace=ns, pod=pod, container="main", workload=f"Pod/{pod}", node="cpu-a",
        probes=("Liveness", "Readiness"), failing=("Liveness",), failures_5m=6.0, failure_rate_per_min=1.2,
        restarts=n, restarts_1h=5.0, state="waiting", reason="CrashLoopBackOff", crashloop=True, ready=False,
        last_term_reason="Error", last_term_exit_code=1, last_event_reason="Unhealthy",
        last_event_message="Liveness probe failed: HTTP probe failed with statuscode: 500", last_event_at=taken_at - 30,
        since=taken_at - 3000)
    p1, p2 = prow("team-nlp", "flaky-0", 14), prow("evil", bad, 3)
    probes = m.ProbeView(rows=tuple(m.ProbeGroup(key=f"Pod/{p.namespace}/{p.pod}", kind="Pod", namespace=p.namespace,
                                                 name=p.pod, rows=(p,), failing_containers=1, crashlooping=1,
                                                 restarts=p.restarts) for p in (p1, p2)), containers=(p1, p2))
    zs = lambda z: m.ZoneSummary(key=z, zone=z, nodes=2, ready_nodes=2, schedulable_nodes=2, cordoned_nodes=0,
                                 gpu_allocatable=8, gpu_free=4, cpu_allocatable_m=128000, cpu_free_m=100000,
                                 memory_allocatable=2**40, memory_free=2**39, pods=5)
    spread = m.WorkloadZoneSpread(key="Deployment/team-nlp/serve", kind="Deployment", namespace="team-nlp", name="serve",
                                  replicas=4, ready=4, by_zone=(m.ZoneCount("us-east-1a", 2), m.ZoneCount("us-east-1b", 2)),
                                  zones_used=2, single_zone=False, skew=0, prod=False, spread_constraints=False)
    loss = m.ZoneLossImpact(key="us-east-1a", zone="us-east-1a", nodes_lost=2, pods_displaced=5, cpu_displaced_m=10000,
                            memory_displaced=40 * 2**30, gpu_displaced=4, workloads_down=(),
                            workloads_degraded=("Deployment/team-nlp/serve",), fits=False, unplaced_pods=1,
                            unplaced=("team-vision/train-0: Insufficient nvidia.com/gpu",),
                            summary="losing us-east-1a displaces 5 pods; 1 does not fit elsewhere")
    zones = m.ZoneView(rows=(zs("us-east-1a"), zs("us-east-1b")), workloads=(spread,), single_zone=(), losses=(loss,))
    pend = m.PendingPod(key="team-vision/big-train-0", namespace="team-vision", name="big-train-0", uid="u",
                        workload="Pod/big-train-0", created=taken_at - 900, pending_for_s=900, cpu_m=2000, memory=8 * 2**30,
                        gpu=8, mig=(), wants_gpu=True, fitting_nodes=(), fit_count=0,
                        reasons=(m.PendingReason("Insufficient nvidia.com/gpu", 4),),
                        summary="0/4 nodes are available: 4 Insufficient nvidia.com/gpu",
                        scheduler_message="0/4 nodes are available: 4 Insufficient nvidia.com/gpu.")
    pending = m.PendingView(rows=(pend,))
    findings = (
        m.Finding(id="KW-P001", severity="critical", kind="Pod", namespace="team-nlp", name="flaky-0",
                  summary="container main crash-looping (14 restarts)", action="kubectl logs -n team-nlp flaky-0 -p",
                  alert="KubePodCrashLooping", key="KW-P001/Pod/team-nlp/flaky-0", impact=14, view="probes"),
        m.Finding(id="KW-Q001", severity="warning", kind="ResourceQuota", namespace="evil", name=bad,
                  summary=f"quota {bad} pods fully used (10/10)", action="raise the quota or remove pods",
                  alert="KubeQuotaFullyUsed", key=f"KW-Q001/ResourceQuota/evil/{bad}", impact=1.0, view="quotas"),
        m.Finding(id="KW-H001", severity="warning", kind="HorizontalPodAutoscaler", namespace="team-nlp", name="serve",
                  summary="HPA pinned at max 4 (wants 7)", action="raise maxReplicas", alert="KubeHpaMaxedOut",
                  key="KW-H001/HorizontalPodAutoscaler/team-nlp/serve", impact=3, view="hpas"),
        m.Finding(id="KW-N001", severity="info", kind="Node", namespace="", name="gpu-b", summary="node cordoned",
                  action="kubectl uncordon gpu-b", key="KW-N001/Node//gpu-b", view="nodes"),
    )
    ov = m.Overview(context="prod-ml", server="https://10.0.0.1:6443", version="v1.32.0", taken_at=taken_at, now=taken_at,
                    metrics_source="direct", nodes=4, ready_nodes=4, not_ready_nodes=0, cordoned_nodes=1, namespaces=3,
                    pods=9, running_pods=8, pending_pods=1, failed_pods=0, gpu_nodes=2, gpu_allocatable=16,
                    gpu_requested=7, gpu_free=9, gpu_idle=0, gpu_util_avg=42.5, quotas_over_90=1,
                    namespaces_without_quota=1, hpas=1, hpas_maxed_out=1, hpas_blind=0, crashlooping_containers=2,
                    pending_gpu_pods=1, zones=2, findings_critical=1, findings_warning=2, findings_info=1,
                    metrics_areas=(("gpu", "ok"), ("usage", "ok"), ("hpa_history", "unavailable: no Prometheus")))
    return m.Analysis(now=taken_at, overview=ov, quotas=quotas, gpu_nodes=gpus, hpas=m.HpaView(rows=(hpa,)),
                      probes=probes, zones=zones, pending=pending, findings=findings)


@pytest.fixture
def analysis():
    return sample_analysis()
