import pytest

from kubewatch_ml.analysis import gpu_view
from kubewatch_ml.metrics_snapshot import AREAS, AreaState, GpuSample, MetricsSnapshot
from kubewatch_ml.snapshot import ClusterSnapshot

from _records import GPU_TAINT, GPU_TOLERATION, node, pod

MIG = "nvidia.com/mig-1g.10gb"


def _cluster():
    nodes = [
        node("g1", "zone-a", gpu=8, product="A100-SXM4-80GB", taints=[GPU_TAINT]),
        node("g2", "zone-b", gpu=8, product="A100-SXM4-80GB", unschedulable=True),
        node("g3", "zone-b", gpu=4, product="H100-80GB", ready="False"),
        node("m1", "zone-a", gpu=0, product="A100-SXM4-80GB-MIG-1g.10gb", extended={MIG: 7}),
        node("cpu1", "zone-a"),
    ]
    pods = [
        pod("train-0", "ml-dev", "g1", gpu=3, tolerations=[GPU_TOLERATION]),
        pod("train-1", "ml-dev", "g1", gpu=2, tolerations=[GPU_TOLERATION]),
        pod("old", "ml-dev", "g1", gpu=2, phase="Succeeded"),  # finished: its GPUs are free
        pod("infer-0", "ml-prod", "g2", gpu=1),
        pod("mig-0", "ml-dev", "m1", extended={MIG: 2}),
        pod("web", "web", "cpu1"),
    ]
    return ClusterSnapshot.build(1000.0, nodes=nodes, pods=pods)


def test_gpu_nodes_requested_free_and_flags():
    v = gpu_view(_cluster(), None)
    rows = {r.node: r for r in v.rows}
    assert set(rows) == {"g1", "g2", "g3", "m1"}  # cpu1 is not a GPU node; tainted/cordoned/NotReady are shown
    g1 = rows["g1"]
    assert (g1.allocatable, g1.requested, g1.free) == (8, 5, 3)
    assert [p.name for p in g1.pods] == ["train-0", "train-1"]
    assert g1.taints == ("nvidia.com/gpu=present:NoSchedule",)
    assert rows["g2"].cordoned and rows["g2"].status == "Ready,SchedulingDisabled"
    assert rows["g3"].not_ready and rows["g3"].status == "NotReady"
    m1 = rows["m1"]
    assert [(s.profile, s.allocatable, s.requested, s.free) for s in m1.mig] == [(MIG, 7, 2, 5)]
    assert m1.pods[0].mig == ((MIG, 2),)
    # metric columns are None (not 0) without metrics, and the view says why
    assert g1.util_avg is None and g1.idle_gpus is None and "unavailable" in v.note


def test_totals_by_product_and_zone():
    v = gpu_view(_cluster(), None)
    prod = {t.group: t for t in v.by_product}
    assert (prod["A100-SXM4-80GB"].nodes, prod["A100-SXM4-80GB"].allocatable, prod["A100-SXM4-80GB"].requested) == (2, 16, 6)
    assert prod["H100-80GB"].free == 4 and prod["H100-80GB"].unavailable_nodes == 1
    zone = {t.group: t for t in v.by_zone}
    assert (zone["zone-a"].allocatable, zone["zone-a"].free, zone["zone-a"].mig_allocatable, zone["zone-a"].mig_requested) == (8, 3, 7, 2)
    assert (zone["zone-b"].allocatable, zone["zone-b"].requested, zone["zone-b"].unavailable_nodes) == (12, 1, 2)
    assert (v.total.allocatable, v.total.requested, v.total.free) == (20, 6, 14)


def test_devices_utilisation_memory_power_and_idle():
    ok = {a: AreaState(ok=True) for a in AREAS}
    samples = (
        GpuSample(node="g1", gpu="0", uuid="GPU-0", util=80.0, fb_used_mib=30000.0, fb_free_mib=10000.0, power_w=300.0,
                  namespace="ml-dev", pod="train-0", container="main", util_avg_30m=75.0),
        GpuSample(node="g1", gpu="1", uuid="GPU-1", util=1.0, fb_used_mib=1000.0, fb_free_mib=39000.0, power_w=60.0,
                  namespace="ml-dev", pod="train-1", container="main", util_avg_30m=2.0),
        GpuSample(node="g1", gpu="2", uuid="GPU-2", util=0.0, fb_used_mib=0.0, fb_free_mib=40000.0, power_w=50.0,
                  util_avg_30m=0.0),  # free, not allocated: not "idle allocated"
        GpuSample(node="g1", gpu="3", uuid="GPU-3", util=0.0, namespace="ml-dev", pod="train-0", util_avg_30m=None, xid=79),
    )
    v = gpu_view(_cluster(), MetricsSnapshot(taken_at=1000.0, areas=ok, gpus=samples))
    g1 = {r.node: r for r in v.rows}["g1"]
    assert [d.gpu for d in g1.devices] == ["0", "1", "2", "3"]
    assert g1.devices[0].mem_percent == pytest.approx(75.0)
    assert g1.util_avg == pytest.approx((80 + 1 + 0 + 0) / 4)
    assert g1.power_w == pytest.approx(410.0)
    assert g1.idle_gpus == 1  # GPU-1 only: GPU-2 unallocated, GPU-3 without 30-min history
    assert g1.xid_gpus == 1
    assert {r.node: r for r in v.rows}["g2"].idle_gpus == 0
    assert v.note == ""


def test_gpu_given_only_as_a_limit_counts_as_requested():
    """The API server defaults an extended resource's request to its limit; a record may carry only the limit."""
    from kubewatch_ml.model import Pod, Resources
    lim_only = Pod(uid="u1", name="nb", namespace="ml-dev", node_name="m1", phase="Running",
                   requests=Resources(cpu_m=100), limits=Resources(cpu_m=200, extended={MIG: 1}))
    gpu_lim = Pod(uid="u2", name="dbg", namespace="ml-dev", node_name="g1", phase="Running",
                  requests=Resources(cpu_m=100), limits=Resources(gpu=2))
    c = ClusterSnapshot.build(1000.0, nodes=[node("m1", extended={MIG: 7}, product="A100-MIG"), node("g1", gpu=8)],
                              pods=[lim_only, gpu_lim])
    rows = {r.node: r for r in gpu_view(c, None).rows}
    assert rows["m1"].mig[0].requested == 1 and rows["m1"].pods[0].mig == ((MIG, 1),)
    assert rows["g1"].requested == 2 and rows["g1"].free == 6


def test_gpu_node_without_allocatable_gpus_is_a_finding():
    from kubewatch_ml.analysis import analyze
    c = ClusterSnapshot.build(1000.0, nodes=[node("broken", gpu=0, product="H100-80GB"), node("ok", gpu=8, product="H100-80GB"),
                                              node("mig", gpu=0, product="A100-MIG", extended={MIG: 7})])
    found = [f.name for f in analyze(c, None, 1000.0).findings if f.id == "KW-G005"]
    assert found == ["broken"]
    assert {r.node: r for r in gpu_view(c, None).rows}["broken"].allocatable == 0  # shown, not hidden


def test_mig_instances_of_one_gpu_have_their_own_keys():
    """DCGM labels every MIG instance with its parent GPU's index, UUID and (often) the same profile;
    only GPU_I_ID differs. Each instance is one device row with a key of its own."""
    from kubewatch_ml.queries.results import build_gpu

    def lb(gi: str, pod: str = "") -> dict:
        return {"Hostname": "m1", "gpu": "0", "UUID": "GPU-m1-0", "modelName": "NVIDIA A100-SXM4-80GB",
                "GPU_I_PROFILE": "1g.10gb", "GPU_I_ID": gi, "namespace": "ml-dev" if pod else "", "pod": pod}
    engine = [(lb("7", "mig-0"), 0.01), (lb("8", "mig-0"), 0.6), (lb("9"), 0.0)]
    avg = [(lb("7", "mig-0"), 1.0), (lb("8", "mig-0"), 60.0), (lb("9"), 0.0)]
    cover = [(labels, 1.0) for labels, _ in avg]
    parts = build_gpu({"gpu_engine_active": engine, "gpu_util_avg_30m": avg, "gpu_util_coverage_30m": cover}, {})
    ok = {a: AreaState(ok=True) for a in AREAS}
    m = MetricsSnapshot(taken_at=1000.0, areas=ok, gpus=parts["gpus"])
    c = ClusterSnapshot.build(1000.0, nodes=[node("m1", "zone-a", gpu=0, product="A100-SXM4-80GB-MIG-1g.10gb",
                                                   extended={MIG: 7})],
                              pods=[pod("mig-0", "ml-dev", "m1", extended={MIG: 2})])
    devs = {r.node: r for r in gpu_view(c, m).rows}["m1"].devices
    keys = [d.key for d in devs]
    assert len(keys) == 3 and len(set(keys)) == 3, keys
    assert keys == ["m1/0/1g.10gb/gi7/GPU-m1-0", "m1/0/1g.10gb/gi8/GPU-m1-0", "m1/0/1g.10gb/gi9/GPU-m1-0"]
    assert [d.idle for d in devs] == [True, False, False]  # the idle slice is told apart from its busy sibling
    assert {r.node: r for r in gpu_view(c, m).rows}["m1"].idle_gpus == 1
