from kubewatch_ml.analysis import why_pending
from kubewatch_ml.analysis.scheduling import fit_summary, matches_node, tolerates
from kubewatch_ml.model import Requirement, Taint, Toleration
from kubewatch_ml.snapshot import ClusterSnapshot

from _records import GIB, GPU_TAINT, GPU_TOLERATION, node, pod

MIG = "nvidia.com/mig-1g.10gb"


def test_toleration_matching():
    t = Taint("nvidia.com/gpu", "present", "NoSchedule")
    assert tolerates((Toleration(key="nvidia.com/gpu", operator="Exists"),), t)
    assert tolerates((Toleration(key="nvidia.com/gpu", value="present"),), t)
    assert not tolerates((Toleration(key="nvidia.com/gpu", value="absent"),), t)
    assert not tolerates((Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoExecute"),), t)
    assert tolerates((Toleration(operator="Exists"),), t)  # empty key + Exists tolerates everything
    assert not tolerates((), t)


def test_node_selector_and_affinity_terms():
    labels = {"pool": "a100", "zone": "a", "gpus": "8"}
    assert matches_node({"pool": "a100"}, (), labels)
    assert not matches_node({"pool": "h100"}, (), labels)
    terms = ((Requirement("pool", "In", ("h100",)),), (Requirement("gpus", "Gt", ("4",)), Requirement("spot", "DoesNotExist")))
    assert matches_node(None, terms, labels)  # second term matches (terms are ORed)
    assert not matches_node(None, ((Requirement("pool", "NotIn", ("a100",)),),), labels)


def test_summary_is_sorted_like_the_scheduler():
    from collections import Counter
    s = fit_summary(40, Counter({"node(s) had untolerated taint {nvidia.com/gpu: present}": 30, "Insufficient nvidia.com/gpu": 3,
                                 "node(s) were unschedulable": 7}))
    assert s == ("0/40 nodes are available: 3 Insufficient nvidia.com/gpu, 30 node(s) had untolerated taint "
                 "{nvidia.com/gpu: present}, 7 node(s) were unschedulable.")


def test_no_nodes_at_all():
    (row,) = why_pending(ClusterSnapshot.build(0.0, pods=[pod("p", phase="Pending")]), None, 0.0).rows
    assert row.summary == "no nodes available to schedule pods" and row.fit_count == 0


def _cluster(pending):
    nodes = [
        node("gpu-full", gpu=8, taints=[GPU_TAINT], labels={"pool": "a100"}),  # 8 of 8 GPUs used below
        node("gpu-cordoned", gpu=8, taints=[GPU_TAINT], unschedulable=True),
        node("gpu-down", gpu=8, taints=[GPU_TAINT], ready="False"),
        node("gpu-free", gpu=8, taints=[GPU_TAINT], labels={"pool": "h100"}),
        node("cpu-1", cpu_m=4000), node("cpu-2", cpu_m=4000), node("cpu-3", cpu_m=4000, pods=1),
        node("mig", gpu=0, taints=[GPU_TAINT], extended={MIG: 2}, labels={"pool": "a100"}),
    ]
    pods = [pod("holder", "ml", "gpu-full", gpu=8, tolerations=[GPU_TOLERATION]),
            pod("busy", "web", "cpu-3", cpu_m=100),
            pod("big", "web", "cpu-2", cpu_m=3900)] + list(pending)
    return ClusterSnapshot.build(1000.0, nodes=nodes, pods=pods)


def test_pending_gpu_pod_reasons_per_node():
    p = pod("trainer-0", "ml", phase="Pending", gpu=4, tolerations=[GPU_TOLERATION], node_selector={"pool": "a100"}, created=400.0)
    v = why_pending(_cluster([p]), None, 1000.0)
    (row,) = v.rows
    assert row.wants_gpu and row.fit_count == 0 and row.fitting_nodes == ()
    reasons = {r.reason: r.nodes for r in row.reasons}
    assert reasons == {
        "Insufficient nvidia.com/gpu": 2,  # gpu-full (0 free) and mig (no whole GPUs)
        "node(s) were unschedulable": 1,
        "node(s) had untolerated taint {node.kubernetes.io/not-ready: }": 1,
        "node(s) didn't match Pod's node affinity/selector": 4,  # gpu-free (pool h100) and the three cpu nodes
    }
    assert row.summary == ("0/8 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
                           "1 node(s) were unschedulable, 2 Insufficient nvidia.com/gpu, "
                           "4 node(s) didn't match Pod's node affinity/selector.")
    assert row.pending_for_s == 600.0
    assert row.scheduler_message == "0/3 nodes are available"


def test_untolerated_gpu_taint_and_fitting_nodes():
    no_tol = pod("gpu-no-tol", "ml", phase="Pending", gpu=1)
    web = pod("web-0", "web", phase="Pending", cpu_m=500, memory=GIB)
    mig = pod("mig-0", "ml", phase="Pending", extended={MIG: 3}, tolerations=[GPU_TOLERATION])
    rows = {r.name: r for r in why_pending(_cluster([no_tol, web, mig]), None, 1000.0).rows}
    r = {x.reason: x.nodes for x in rows["gpu-no-tol"].reasons}
    assert r["node(s) had untolerated taint {nvidia.com/gpu: present}"] == 4  # gpu-full, gpu-free, gpu-down, mig
    assert r["node(s) were unschedulable"] == 1 and r["Insufficient nvidia.com/gpu"] == 3  # the cpu nodes
    # the web pod fits cpu-1 only: cpu-2 has 100m left, cpu-3 has no pod slot, GPU nodes are tainted
    assert rows["web-0"].fitting_nodes == ("cpu-1",) and rows["web-0"].fit_count == 1
    w = {x.reason: x.nodes for x in rows["web-0"].reasons}
    assert w["Insufficient cpu"] == 1 and w["Too many pods"] == 1
    m = {x.reason: x.nodes for x in rows["mig-0"].reasons}
    assert m[f"Insufficient {MIG}"] == 6  # mig node has 2 of 3; gpu-full, gpu-free and the 3 cpu nodes have none
    assert m["Too many pods"] == 1  # cpu-3 reports both, as NodeResourcesFit does
    assert rows["gpu-no-tol"].key == "ml/gpu-no-tol"
    assert [r.name for r in why_pending(_cluster([no_tol, web, mig]), None, 1000.0).rows][-1] == "web-0"  # GPU pods first


def test_fitting_pod_with_anti_affinity_says_what_is_not_modelled():
    import msgspec
    p = msgspec.structs.replace(pod("spread-0", "web", phase="Pending", cpu_m=100), has_anti_affinity=True)
    plain = pod("plain-0", "web", phase="Pending", cpu_m=100)
    rows = {r.name: r for r in why_pending(_cluster([p, plain]), None, 1000.0).rows}
    assert rows["spread-0"].fit_count == 2  # cpu-1, cpu-2 (cpu-3 has no pod slot left)
    assert "topology spread are not evaluated" in rows["spread-0"].summary
    assert rows["plain-0"].summary == "2/8 nodes would fit now (the scheduler may not have retried yet)"


def test_indexed_counts_match_a_per_node_evaluation():
    """why_pending counts by bisection; a plain per-node run of the filters must give the same answer."""
    import random
    from collections import Counter

    from kubewatch_ml.analysis.allocation import allocation
    from kubewatch_ml.analysis.scheduling import PodShape, fit_reasons, node_rooms

    rnd = random.Random(5)
    nodes = [node(f"n{i}", cpu_m=rnd.choice((2000, 4000, 8000)), memory=rnd.choice((4, 8, 16)) * GIB,
                  gpu=rnd.choice((0, 0, 4)), pods=rnd.choice((3, 110)), unschedulable=rnd.random() < 0.1,
                  taints=[GPU_TAINT] if rnd.random() < 0.2 else [], labels={"pool": rnd.choice(("a", "b"))},
                  extended={MIG: rnd.choice((0, 2))}) for i in range(60)]
    running = [pod(f"r{i}", "x", f"n{rnd.randrange(60)}", cpu_m=rnd.randrange(100, 3000), memory=rnd.randrange(1, 6) * GIB)
               for i in range(120)]
    pending = [pod(f"p{i}", "y", phase="Pending", cpu_m=rnd.choice((0, 100, 1500, 5000)), memory=rnd.choice((0, GIB, 10 * GIB)),
                   gpu=rnd.choice((0, 1, 8)), extended={MIG: 1} if rnd.random() < 0.2 else None,
                   tolerations=[GPU_TOLERATION] if rnd.random() < 0.5 else [],
                   node_selector={"pool": "a"} if rnd.random() < 0.3 else None) for i in range(80)]
    c = ClusterSnapshot.build(0.0, nodes=nodes, pods=running + pending)
    rooms = node_rooms(c, allocation(c))
    for row in why_pending(c, None, 0.0).rows:
        shape = PodShape.of(next(p for p in pending if p.name == row.name))
        expected: Counter = Counter()
        fits = 0
        for room in rooms:
            reasons = fit_reasons(shape, room)
            expected.update(reasons)
            fits += not reasons
        assert {r.reason: r.nodes for r in row.reasons} == dict(expected), row.name
        assert row.fit_count == fits, row.name
        assert len(row.fitting_nodes) == min(fits, 20)
