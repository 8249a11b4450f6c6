"""Randomized equivalence checks: each fast path in analysis/ against the plain per-node/per-pod rule."""
import random

from kubewatch_ml.analysis.allocation import allocation
from kubewatch_ml.analysis.scheduling import PodShape, StaticIndex, node_rooms, static_reason
from kubewatch_ml.model import Requirement, Taint, Toleration
from kubewatch_ml.snapshot import ClusterSnapshot

from _records import node, pod

ZONES = ("a", "b", "c")
PRODUCTS = ("A100", "H100", "L4")
POOLS = ("cpu", "gpu", "infer")
TAINTS = (Taint("nvidia.com/gpu", "present", "NoSchedule"), Taint("dedicated", "infer", "NoExecute"),
          Taint("dedicated", "train", "NoSchedule"), Taint("soft", "", "PreferNoSchedule"))
TOLERATIONS = (Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule"),
               Toleration(key="dedicated", operator="Equal", value="infer"),
               Toleration(key="dedicated", operator="Exists", effect="NoSchedule"),
               Toleration(operator="Exists"), Toleration(key="node.kubernetes.io/unschedulable", operator="Exists"),
               Toleration(key="node.kubernetes.io/not-ready", operator="Exists", effect="NoSchedule"))


def _nodes(rnd: random.Random, n: int):
    out = []
    for i in range(n):
        labels = {"kubernetes.io/hostname": f"n{i}", "pool": rnd.choice(POOLS), "rank": str(rnd.randrange(10))}
        if rnd.random() < 0.2:
            del labels["pool"]
        out.append(node(f"n{i}", rnd.choice(ZONES), product=rnd.choice(PRODUCTS) if rnd.random() < 0.4 else "",
                        labels=labels, taints=rnd.sample(TAINTS, rnd.choice((0, 0, 1, 2))),
                        unschedulable=rnd.random() < 0.1, ready=rnd.choice(("True",) * 6 + ("False", "Unknown"))))
    return out


def _shape(rnd: random.Random, n_nodes: int) -> PodShape:
    sel = {}
    for _ in range(rnd.choice((0, 0, 1, 2, 3))):
        k = rnd.choice(("kubernetes.io/hostname", "pool", "nvidia.com/gpu.product", "topology.kubernetes.io/zone", "absent"))
        sel[k] = {"kubernetes.io/hostname": f"n{rnd.randrange(n_nodes + 2)}", "pool": rnd.choice(POOLS),
                  "nvidia.com/gpu.product": rnd.choice(PRODUCTS), "topology.kubernetes.io/zone": rnd.choice(ZONES),
                  "absent": "x"}[k]
    terms = []
    for _ in range(rnd.choice((0, 0, 1, 2))):
        term = []
        for _ in range(rnd.choice((1, 2))):
            op = rnd.choice(("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"))
            key = rnd.choice(("pool", "rank", "nvidia.com/gpu.product", "topology.kubernetes.io/zone", "field:metadata.name"))
            vals = (str(rnd.randrange(10)),) if op in ("Gt", "Lt") else tuple(rnd.sample(POOLS + ZONES + PRODUCTS, 2))
            if key == "field:metadata.name" and op in ("In", "NotIn"):  # matchFields: the node's name
                vals = (f"n{rnd.randrange(n_nodes + 1)}",)
            term.append(Requirement(key=key, operator=op, values=() if op in ("Exists", "DoesNotExist") else vals))
        terms.append(tuple(term))
    p = pod("p", node_selector=sel or None, tolerations=rnd.sample(TOLERATIONS, rnd.choice((0, 1, 1, 2, 3))),
            affinity_terms=tuple(terms))
    return PodShape.of(p)


def test_static_index_passes_exactly_the_nodes_static_reason_passes():
    rnd = random.Random(11)
    checked = passed = 0
    for _round in range(12):
        nodes = _nodes(rnd, rnd.choice((1, 7, 40)))
        cluster = ClusterSnapshot.build(0.0, nodes=nodes)
        rooms = node_rooms(cluster, allocation(cluster))
        index = StaticIndex(rooms)
        for _ in range(60):
            shape = _shape(rnd, len(nodes))
            want = [i for i, r in enumerate(rooms) if static_reason(shape, r) is None]
            assert index.passing(shape) == want, shape
            assert index.passing(shape) == want  # the cached answer too
            checked += 1
            passed += bool(want)
    # the random shapes exercise both outcomes, not only "nothing fits"
    assert checked == 720 and 100 < passed < 700


# --- allocation(): the one pass over pods, against the plain per-view loops it replaced ----------------------

def _random_cluster(rnd: random.Random):
    from kubewatch_ml.model import Condition, ContainerStatus, OwnerRef, Pod, Resources, Workload

    nodes = _nodes(rnd, rnd.choice((3, 12)))
    names = [n.name for n in nodes] + ["gone-node"]  # a pod bound to a node the snapshot no longer has
    workloads, pods = [], []
    for w in range(rnd.randrange(2, 9)):
        ns = rnd.choice(("ml-prod", "web-dev", "kube-system"))
        kind = rnd.choice(("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"))
        name = f"w{w}"
        owners = []
        if kind == "Deployment":
            workloads.append(Workload(kind="Deployment", uid=f"d{w}", name=name, namespace=ns, replicas=3))
            for rev in range(rnd.choice((1, 2))):  # a rollout: two ReplicaSets under one Deployment
                rs = Workload(kind="ReplicaSet", uid=f"rs{w}-{rev}", name=f"{name}-{rev}", namespace=ns,
                              owner=OwnerRef("Deployment", name, f"d{w}", True))
                workloads.append(rs)
                owners.append(OwnerRef("ReplicaSet", rs.name, rs.uid, True))
        else:
            if rnd.random() < 0.8:  # else the owner is not in the snapshot
                workloads.append(Workload(kind=kind, uid=f"{kind}{w}", name=name, namespace=ns, replicas=3))
            owners.append(OwnerRef(kind, name, f"{kind}{w}" if rnd.random() < 0.9 else "", True))
        for k in range(rnd.randrange(0, 7)):
            pods.append(_random_pod(rnd, f"{name}-{k}", ns, rnd.choice(owners), names))
    for k in range(rnd.randrange(0, 4)):  # bare pods and static (mirror) pods
        mirror = rnd.random() < 0.3
        owner = OwnerRef("Node", names[0], "", True) if mirror and rnd.random() < 0.7 else None
        pods.append(msgspec_replace(_random_pod(rnd, f"bare-{k}", "web-dev", owner, names), is_mirror=mirror))
    rnd.shuffle(pods)
    return ClusterSnapshot.build(100.0, nodes=nodes, pods=pods, workloads=workloads)


def msgspec_replace(obj, **changes):
    import msgspec

    return msgspec.structs.replace(obj, **changes)


def _random_pod(rnd, name, ns, owner, node_names):
    from kubewatch_ml.model import Condition, ContainerStatus, Resources

    phase = rnd.choice(("Running", "Running", "Running", "Pending", "Succeeded", "Failed", "Unknown"))
    bound = phase != "Pending" or rnd.random() < 0.3
    gpu = rnd.choice((0, 0, 0, 1, 2))
    ext = {"nvidia.com/mig-1g.10gb": 1} if rnd.random() < 0.15 else ({"example.com/fpga": 1} if rnd.random() < 0.1 else None)
    req = Resources(cpu_m=rnd.choice((0, 100, 250)), memory=rnd.choice((0, 1 << 28)), gpu=gpu if rnd.random() < 0.7 else 0,
                    extended=ext if rnd.random() < 0.6 else None)
    lim = Resources(cpu_m=rnd.choice((0, 500)), memory=rnd.choice((0, 1 << 29)), gpu=gpu, extended=ext)
    st = ContainerStatus(name="main", ready=rnd.random() < 0.7, state=rnd.choice(("running", "waiting", "terminated")),
                         restart_count=rnd.choice((0, 0, 0, 3)), reason=rnd.choice(("", "", "CrashLoopBackOff")))
    ready = rnd.choice(("True", "False", None))
    conds = tuple(c for c in (Condition("Initialized", "True"), Condition("Ready", ready) if ready else None,
                              Condition("PodScheduled", "True")) if c is not None)
    p = pod(name, ns, rnd.choice(node_names) if bound else "", phase=phase, owner=owner, statuses=(st,),
            created=rnd.choice((0.0, 10.0)))
    return msgspec_replace(p, requests=req, limits=lim, conditions=conds, deleting=rnd.random() < 0.1,
                           has_spread_constraints=rnd.random() < 0.1, has_anti_affinity=rnd.random() < 0.1)


def _plain_allocation(cluster):
    """The per-view loops allocation() replaced, written plainly (one pod at a time, snapshot order)."""
    from collections import defaultdict

    from kubewatch_ml.analysis.allocation import SPREAD_KINDS, mig_of, requests_of

    by_node, by_ns = defaultdict(lambda: [0, 0, 0, 0, {}]), defaultdict(lambda: [0, 0, 0, 0, {}, 0, 0])
    pending, bare, phases, gpu_pods = set(), [], defaultdict(int), defaultdict(set)
    for p in cluster.pods.values():
        phases[p.phase] += 1
        if p.terminated:
            continue
        if p.owner is None and not p.is_mirror:
            bare.append(p.uid)
        r = requests_of(p)
        targets = [by_ns[p.namespace]] + ([by_node[p.node_name]] if p.node_name else [])
        for t in targets:
            t[0] += r.cpu_m
            t[1] += r.memory
            t[2] += r.gpu
            t[3] += 1
            for k, v in (r.extended or {}).items():
                t[4][k] = t[4].get(k, 0) + v
        by_ns[p.namespace][5] += p.limits.cpu_m
        by_ns[p.namespace][6] += p.limits.memory
        if not p.node_name and p.phase == "Pending" and not p.deleting:
            pending.add(p.uid)
        if p.node_name and (r.gpu > 0 or mig_of(r.extended)):
            gpu_pods[p.node_name].add(p.uid)
    # the zone view's former loop, verbatim in substance
    node_zone = {n.name: n.zone for n in cluster.nodes.values()}
    ready_by_zone, spread, displaced = {}, set(), {}
    for (kind, ns, name), uids in cluster.pods_by_workload.items():
        per_zone, sp = {}, False
        for u in uids:
            p = cluster.pods[u]
            if not p.node_name or p.terminated or p.node_name not in node_zone:
                continue
            z = node_zone[p.node_name]
            if kind != "DaemonSet" and not p.is_mirror:
                displaced.setdefault((z, p.owner.uid or p.owner.name, p.requests.cpu_m, p.requests.memory,
                                      p.requests.gpu), []).append(p.uid)
            sp = sp or p.has_spread_constraints or p.has_anti_affinity
            ready = next((c.status for c in p.conditions if c.type == "Ready"), None)
            if ready == "True":
                per_zone[z] = per_zone.get(z, 0) + 1
        if kind in SPREAD_KINDS:
            ready_by_zone[(kind, ns, name)] = per_zone
        if sp:
            spread.add((kind, ns, name))
    for u in bare:
        p = cluster.pods[u]
        if p.node_name in node_zone:
            displaced[(node_zone[p.node_name], u)] = [u]
    return dict(by_node=dict(by_node), by_ns=dict(by_ns), pending=pending, bare=bare, phases=dict(phases),
                gpu_pods=dict(gpu_pods), ready_by_zone=ready_by_zone, spread=spread, displaced=displaced)


def test_allocation_one_pass_equals_the_plain_loops():
    rnd = random.Random(5)
    seen_displaced = seen_gpu = seen_bare = 0
    for _ in range(150):
        cluster = _random_cluster(rnd)
        a, want = allocation(cluster), _plain_allocation(cluster)
        assert {k: [l.cpu_m, l.memory, l.gpu, l.pods, l.extended] for k, l in a.by_node.items()} == want["by_node"]
        assert {k: [l.cpu_m, l.memory, l.gpu, l.pods, l.extended, l.cpu_limit_m, l.memory_limit]
                for k, l in a.by_namespace.items()} == want["by_ns"]
        assert {p.uid for p in a.pending} == want["pending"] and len(a.pending) == len(want["pending"])
        assert [p.uid for p in a.bare] == want["bare"]  # snapshot order: the what-if's tie-break
        assert a.phases == want["phases"]
        assert {k: {p.uid for p in v} for k, v in a.gpu_pods.items()} == want["gpu_pods"]
        assert a.ready_by_zone == want["ready_by_zone"] and a.spread == want["spread"]
        # same groups in the same order (the what-if places groups in this order on ties)
        assert [(k, [p.uid for p in v]) for k, v in a.displaced.items()] == list(want["displaced"].items())
        seen_displaced += len(a.displaced)
        seen_gpu += len(a.gpu_pods)
        seen_bare += len(a.bare)
    assert seen_displaced > 300 and seen_gpu > 50 and seen_bare > 20


def test_probe_view_with_the_gathered_pods_equals_the_full_scan():
    from kubewatch_ml.analysis import probe_view
    from kubewatch_ml.metrics_snapshot import AREAS, AreaState, MetricsSnapshot

    rnd = random.Random(9)
    rows = 0
    for _ in range(60):
        cluster = _random_cluster(rnd)
        named = [(p.namespace, p.name, "main") for p in cluster.pods.values() if rnd.random() < 0.3]
        metrics = MetricsSnapshot(
            taken_at=100.0, areas={a: AreaState(ok=True) for a in AREAS},
            probe_failures_5m={(ns, n, c, "Readiness"): 2.0 for ns, n, c in named[:2]},
            restarts_1h={k: 1.0 for k in named[2:4]}, crashlooping=frozenset(named[4:5]))
        for m in (None, metrics):
            plain = probe_view(cluster, m, 100.0)
            assert probe_view(cluster, m, 100.0, alloc=allocation(cluster)) == plain
            rows += len(plain.containers)
    assert rows > 100


def test_allocation_counts_owned_pods_the_workload_index_misses():
    """A snapshot whose pods_by_workload lacks a workload (an index behind its records) still counts
    every pod's requests, as the plain pass over all pods did."""
    import dataclasses
    from types import MappingProxyType

    rnd = random.Random(3)
    checked = 0
    for _ in range(40):
        cluster = _random_cluster(rnd)
        if not cluster.pods_by_workload:
            continue
        dropped = rnd.choice(list(cluster.pods_by_workload))
        partial = dataclasses.replace(cluster, pods_by_workload=MappingProxyType(
            {k: v for k, v in cluster.pods_by_workload.items() if k != dropped}))
        a, want = allocation(partial), _plain_allocation(cluster)
        assert {k: [l.cpu_m, l.memory, l.gpu, l.pods, l.extended] for k, l in a.by_node.items()} == want["by_node"]
        assert {k: [l.cpu_m, l.memory, l.gpu, l.pods, l.extended, l.cpu_limit_m, l.memory_limit]
                for k, l in a.by_namespace.items()} == want["by_ns"]
        assert a.phases == want["phases"] and {p.uid for p in a.pending} == want["pending"]
        assert [p.uid for p in a.bare] == want["bare"]
        checked += len(cluster.pods_by_workload[dropped])
    assert checked > 20
