from kubewatch_ml.analysis import zone_view
from kubewatch_ml.model import OwnerRef
from kubewatch_ml.snapshot import ClusterSnapshot

from _records import GIB, GPU_TAINT, GPU_TOLERATION, deployment, node, pod, rs_owner


def _cluster(extra_nodes=(), extra_pods=()):
    nodes = [
        node("a1", "zone-a", cpu_m=4000, memory=16 * GIB), node("a2", "zone-a", cpu_m=4000, memory=16 * GIB),
        node("b1", "zone-b", cpu_m=4000, memory=16 * GIB), node("b2", "zone-b", cpu_m=4000, memory=16 * GIB, unschedulable=True),
        node("c1", "zone-c", cpu_m=4000, memory=16 * GIB, ready="False"),
        node("ga", "zone-a", gpu=4, taints=[GPU_TAINT]), node("gb", "zone-b", gpu=4, taints=[GPU_TAINT]),
        *extra_nodes,
    ]
    api, api_rs = deployment("api", "shop-prod", replicas=2)
    spread, spread_rs = deployment("spread", "shop-prod", replicas=2)
    train, train_rs = deployment("train", "ml-dev", replicas=2)
    pods = [
        pod("api-1", "shop-prod", "a1", owner=rs_owner("api", "shop-prod"), cpu_m=1000),
        pod("api-2", "shop-prod", "a2", owner=rs_owner("api", "shop-prod"), cpu_m=1000),
        pod("spread-1", "shop-prod", "a1", owner=rs_owner("spread", "shop-prod"), cpu_m=500),
        pod("spread-2", "shop-prod", "b1", owner=rs_owner("spread", "shop-prod"), cpu_m=500),
        pod("spread-3", "shop-prod", "b1", owner=rs_owner("spread", "shop-prod"), cpu_m=500, ready=False),
        pod("train-1", "ml-dev", "ga", owner=rs_owner("train", "ml-dev"), gpu=3, tolerations=[GPU_TOLERATION]),
        pod("train-2", "ml-dev", "gb", owner=rs_owner("train", "ml-dev"), gpu=2, tolerations=[GPU_TOLERATION]),
        pod("agent-a", "kube-system", "a1", owner=OwnerRef("DaemonSet", "agent", "ds1", True), cpu_m=100),
        *extra_pods,
    ]
    return ClusterSnapshot.build(100.0, nodes=nodes, pods=pods, workloads=[api, api_rs, spread, spread_rs, train, train_rs])


def test_zone_summaries():
    rows = {z.zone: z for z in zone_view(_cluster()).rows}
    a = rows["zone-a"]
    assert (a.nodes, a.ready_nodes, a.schedulable_nodes, a.gpu_allocatable, a.gpu_free) == (3, 3, 3, 4, 1)
    # a1 + a2 (4000m each) + ga (8000m) minus api-1, api-2, spread-1, train-1 (100m), agent-a (100m)
    assert (a.cpu_allocatable_m, a.cpu_free_m, a.pods) == (16000, 16000 - (1000 + 1000 + 500 + 100 + 100), 5)
    b = rows["zone-b"]
    assert (b.nodes, b.schedulable_nodes, b.cordoned_nodes, b.gpu_free) == (3, 2, 1, 2)
    c = rows["zone-c"]
    assert (c.nodes, c.ready_nodes, c.schedulable_nodes) == (1, 0, 0)


def test_ready_replicas_per_zone_single_zone_and_skew():
    v = zone_view(_cluster())
    w = {s.key: s for s in v.workloads}
    api = w["Deployment/shop-prod/api"]
    assert [(c.zone, c.ready) for c in api.by_zone] == [("zone-a", 2), ("zone-b", 0), ("zone-c", 0)]
    assert api.single_zone and api.prod and api.skew == 2 and api.zones_used == 1
    spread = w["Deployment/shop-prod/spread"]
    assert spread.ready == 2 and not spread.single_zone and spread.zones_used == 2  # spread-3 is not ready
    assert not w["Deployment/ml-dev/train"].single_zone
    assert v.single_zone == ("Deployment/shop-prod/api",)
    assert v.workloads[0].key == "Deployment/shop-prod/api"  # prod single-zone first
    assert "DaemonSet/kube-system/agent" not in w


def test_zone_loss_what_if():
    losses = {l.zone: l for l in zone_view(_cluster()).losses}
    a = losses["zone-a"]
    assert a.workloads_down == ("Deployment/shop-prod/api",)
    assert set(a.workloads_degraded) == {"Deployment/shop-prod/spread", "Deployment/ml-dev/train"}
    # displaced: api-1, api-2, spread-1, train-1 (the DaemonSet pod stays with its node)
    assert (a.pods_displaced, a.cpu_displaced_m, a.gpu_displaced) == (4, 1000 + 1000 + 500 + 100, 3)
    # room left: b1 (4000m - 1000m), gb (2 GPUs free): train-1 needs 3 GPUs -> no room; b2 is cordoned, c1 NotReady
    assert not a.fits and a.unplaced_pods == 1
    assert a.unplaced[0].startswith("ml-dev/train-1: not enough free room for 3 nvidia.com/gpu")
    b = losses["zone-b"]
    # spread-2, spread-3, train-2 move; train-2 needs 2 GPUs and ga has 1 free
    assert b.workloads_down == () and b.pods_displaced == 3
    assert b.unplaced_pods == 1 and b.unplaced[0].startswith("ml-dev/train-2:")
    c = losses["zone-c"]
    assert c.pods_displaced == 0 and c.fits and c.workloads_down == ()


def test_zone_loss_respects_taints_and_selectors():
    # a pod pinned to zone-a by nodeSelector cannot move anywhere when zone-a goes
    pinned = pod("pinned", "ops", "a2", cpu_m=100, node_selector={"topology.kubernetes.io/zone": "zone-a"})
    # a GPU pod without the toleration could only run on untainted nodes (none with GPUs here)
    loss = {l.zone: l for l in zone_view(_cluster(extra_pods=[pinned])).losses}["zone-a"]
    assert any(u.startswith("ops/pinned: no eligible node") for u in loss.unplaced)
    big = [node("gc", "zone-c", gpu=8, taints=[GPU_TAINT])]  # zone-c's GPU node is Ready and has room
    loss2 = {l.zone: l for l in zone_view(_cluster(extra_nodes=big)).losses}["zone-a"]
    assert loss2.fits and loss2.unplaced == ()


def _fragmented():
    nodes = [node("a1", "zone-a", cpu_m=4000), node("b1", "zone-b", cpu_m=1000), node("b2", "zone-b", cpu_m=1000)]
    pods = [pod(f"w-{i}", "web", "a1", cpu_m=600, memory=1 << 20) for i in range(4)]
    return ClusterSnapshot.build(100.0, nodes=nodes, pods=pods)


def test_zone_loss_greedy_placement_sees_fragmentation():
    loss = {l.zone: l for l in zone_view(_fragmented()).losses}["zone-a"]
    assert loss.pods_displaced == 4 and loss.unplaced_pods == 2  # one 600m pod per 1000m node
    assert loss.summary.endswith("2 pods find no room")


def test_zone_loss_estimate_once_the_search_budget_is_spent(monkeypatch):
    from kubewatch_ml.analysis import zones
    monkeypatch.setattr(zones, "SEARCH_BUDGET", 0)  # no search at all: summed free room only
    loss = {l.zone: l for l in zone_view(_fragmented()).losses}["zone-a"]
    assert loss.unplaced_pods == 1  # 2000m pooled takes 3 of the 600m pods
    assert "about 1 pods find no room (estimate" in loss.summary
