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
            key = rnd.choice(("pool", "rank", "nvidia.com/gpu.product", "topology.kubernetes.io/zone"))
            vals = (str(rnd.randrange(10)),) if op in ("Gt", "Lt") else tuple(rnd.sample(POOLS + ZONES + PRODUCTS, 2))
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
