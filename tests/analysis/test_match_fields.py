"""matchFields in required node affinity (how a DaemonSet pins each pod to its node) is matched on the
node's name, as kube-scheduler does; sources/decode.py stores it as a requirement on "field:metadata.name"."""
from kubewatch_ml.analysis import why_pending
from kubewatch_ml.analysis.scheduling import matches_node
from kubewatch_ml.model import OwnerRef, Requirement
from kubewatch_ml.snapshot import ClusterSnapshot

from _records import node, pod

PIN_N2 = ((Requirement("field:metadata.name", "In", ("n2",)),),)


def test_match_fields_compare_the_node_name_not_a_label():
    labels = {"kubernetes.io/hostname": "n2", "metadata.name": "n1"}
    assert matches_node(None, PIN_N2, labels, "n2")
    assert not matches_node(None, PIN_N2, labels, "n1")
    assert matches_node(None, ((Requirement("field:metadata.name", "NotIn", ("n2",)),),), {}, "n1")
    # a label literally named like the field is not the field
    assert not matches_node(None, ((Requirement("metadata.name", "In", ("n2",)),),), {}, "n2")


def test_pending_daemonset_pod_is_judged_on_its_own_node():
    full = node("n2", cpu_m=1000)
    busy = pod("hog", node_name="n2", cpu_m=1000)
    ds = pod("agent-x", phase="Pending", cpu_m=200, affinity_terms=PIN_N2, owner=OwnerRef("DaemonSet", "agent", "ds1", True))
    c = ClusterSnapshot.build(0.0, nodes=[node("n1"), full, node("n3")], pods=[busy, ds])
    (row,) = why_pending(c, None, 0.0).rows
    assert row.fit_count == 0
    assert {(r.reason, r.nodes) for r in row.reasons} == {
        ("node(s) didn't match Pod's node affinity/selector", 2), ("Insufficient cpu", 1)}
    assert row.summary == ("0/3 nodes are available: 1 Insufficient cpu, "
                           "2 node(s) didn't match Pod's node affinity/selector.")
