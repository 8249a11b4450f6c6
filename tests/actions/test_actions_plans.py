"""Planning and executing against an in-memory fake connection (wire format, preconditions, undo)."""
import json
import threading

import pytest

from fakeapi import FakeConn, node
from kubewatch_ml.actions import drain, nodes, scale
from kubewatch_ml.actions.audit import AuditLog
from kubewatch_ml.actions.guard import Guard
from kubewatch_ml.actions.plan import ActionFailed, ObjectRef, execute
from kubewatch_ml.actions.session import ActionRefused, ActionSession
from kubewatch_ml.actions.validation import InvalidInput, TaintSpec

N = "/api/v1/nodes/"


@pytest.fixture
def conn():
    c = FakeConn()
    c.put(N + "gpu-1", node("gpu-1", {"pool": "a100", "team": "search"},
                            [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]))
    c.put(N + "gpu-2", node("gpu-2", {"pool": "a100"}))
    return c


def test_cordon_wire_format_and_dry_run_first(conn):
    plan = nodes.plan_cordon(conn, ["gpu-1", "gpu-2"])
    assert [r[0] for r in conn.requests] == ["GET", "PATCH", "GET", "PATCH"]
    assert all(r[2]["dryRun"] == "All" for r in conn.requests if r[0] == "PATCH")
    assert conn.writes() == []  # planning sends nothing for real
    w = plan.writes[0]
    assert w.content_type == "application/strategic-merge-patch+json"
    assert w.body == {"metadata": {"resourceVersion": w.resource_version}, "spec": {"unschedulable": True}}
    assert plan.diff == ("node gpu-1: schedulable -> cordoned (unschedulable)",
                         "node gpu-2: schedulable -> cordoned (unschedulable)")
    res = execute(conn, plan)
    assert res.ok and [t.name for t in res.applied] == ["gpu-1", "gpu-2"]
    assert conn.objects[N + "gpu-1"]["spec"]["unschedulable"] is True


def test_cordon_skips_nodes_already_cordoned(conn):
    execute(conn, nodes.plan_cordon(conn, ["gpu-1"]))
    plan = nodes.plan_cordon(conn, ["gpu-1", "gpu-2"])
    assert [w.target.name for w in plan.writes] == ["gpu-2"]
    assert "node gpu-1: already cordoned (unschedulable)" in plan.diff


def test_conflict_gives_409_and_nothing_is_overwritten(conn):
    plan = nodes.plan_labels(conn, "gpu-1", {"pool": "h100"})
    # someone else changes the node between the confirmation and the write
    other = conn.objects[N + "gpu-1"]
    other["metadata"]["labels"]["pool"] = "l4"
    conn.put(N + "gpu-1", other)
    res = execute(conn, plan)
    assert res.outcome == "conflict" and "409" in res.message and "confirm again" in res.message
    assert conn.objects[N + "gpu-1"]["metadata"]["labels"]["pool"] == "l4"
    again = plan.rebuild()
    assert again.diff == ("node gpu-1: label pool: 'l4' -> 'h100'",)
    assert execute(conn, again).ok
    assert conn.objects[N + "gpu-1"]["metadata"]["labels"]["pool"] == "h100"


def test_labels_add_change_remove_and_undo(conn):
    plan = nodes.plan_labels(conn, "gpu-1", {"pool": "h100", "team": None, "zone-group": "east"})
    w = plan.writes[0]
    assert w.content_type == "application/merge-patch+json"
    assert w.body["metadata"]["labels"] == {"pool": "h100", "team": None, "zone-group": "east"}
    assert set(plan.diff) == {"node gpu-1: label pool: 'a100' -> 'h100'", "node gpu-1: - label team (was 'search')",
                              "node gpu-1: + label zone-group=east"}
    assert execute(conn, plan).ok
    undo = plan.inverse()
    assert undo.writes[0].body["metadata"]["labels"] == {"pool": "a100", "team": "search", "zone-group": None}
    assert execute(conn, undo).ok
    assert conn.objects[N + "gpu-1"]["metadata"]["labels"] == {"pool": "a100", "team": "search"}


def test_label_no_op_sends_nothing(conn):
    plan = nodes.plan_labels(conn, "gpu-1", {"pool": "a100", "absent": None})
    assert plan.no_op and plan.diff == ()
    assert execute(conn, plan).ok and conn.writes() == []


def test_invalid_label_sends_nothing(conn):
    with pytest.raises(InvalidInput):
        nodes.plan_labels(conn, "gpu-1", {"bad key": "x"})
    assert conn.requests == []


def test_taints_send_whole_list_and_undo_restores(conn):
    plan = nodes.plan_taints(conn, "gpu-1", [TaintSpec("dedicated", "ml", "NoExecute"),
                                             TaintSpec("nvidia.com/gpu", "mig", "NoSchedule")])
    w = plan.writes[0]
    assert w.content_type == "application/strategic-merge-patch+json"
    assert w.body["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "mig", "effect": "NoSchedule"},
                                        {"key": "dedicated", "value": "ml", "effect": "NoExecute"}]
    assert ("fieldValidation", "Strict") in w.params
    assert set(plan.diff) == {"node gpu-1: + taint nvidia.com/gpu=mig:NoSchedule", "node gpu-1: + taint dedicated=ml:NoExecute",
                              "node gpu-1: - taint nvidia.com/gpu=present:NoSchedule"}
    assert execute(conn, plan).ok
    assert execute(conn, plan.inverse()).ok
    assert conn.objects[N + "gpu-1"]["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]


def test_remove_missing_taint_is_a_clear_error(conn):
    with pytest.raises(InvalidInput, match="not on the node"):
        nodes.plan_taints(conn, "gpu-2", removes=[("nvidia.com/gpu", None)])
    assert conn.writes() == []


def test_deleted_node_404(conn):
    with pytest.raises(ActionFailed, match="gpu-9 not found"):
        nodes.plan_cordon(conn, ["gpu-9"])
    plan = nodes.plan_cordon(conn, ["gpu-2"])
    del conn.objects[N + "gpu-2"]
    res = execute(conn, plan)
    assert res.outcome == "not-found" and "no longer exists" in res.message


DEP = "/apis/apps/v1/namespaces/infer/deployments/"
HPA = "/apis/autoscaling/v2/namespaces/infer/horizontalpodautoscalers/"


def test_scale_via_subresource(conn):
    conn.put(DEP + "llm", {"kind": "Deployment", "metadata": {"name": "llm", "namespace": "infer"}, "spec": {"replicas": 2}})
    ref = ObjectRef("Deployment", "llm", "infer")
    plan = scale.plan_scale(conn, ref, "5")
    w = plan.writes[0]
    assert w.path == DEP + "llm/scale" and w.content_type == "application/merge-patch+json"
    assert w.body["spec"] == {"replicas": 5} and w.body["metadata"]["resourceVersion"]
    assert plan.diff == ("deployment/infer/llm: replicas 2 -> 5",) and plan.alternative is None
    assert execute(conn, plan).ok and conn.objects[DEP + "llm"]["spec"]["replicas"] == 5
    with pytest.raises(InvalidInput, match="negative"):
        scale.plan_scale(conn, ref, -1)
    with pytest.raises(InvalidInput, match="cap"):
        scale.plan_scale(conn, ref, 5000)


def test_scale_with_hpa_warns_and_offers_bounds(conn):
    conn.put(DEP + "llm", {"metadata": {"name": "llm", "namespace": "infer"}, "spec": {"replicas": 2}})
    conn.put(HPA + "llm", {"metadata": {"name": "llm", "namespace": "infer"},
                           "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "llm"}, "minReplicas": 2, "maxReplicas": 6}})
    plan = scale.plan_scale(conn, ObjectRef("Deployment", "llm", "infer"), 8)
    assert any("undo a direct scale within 15 s" in w for w in plan.warnings)
    alt = plan.alternative
    assert alt.action == "hpa-bounds" and alt.writes[0].body["spec"] == {"minReplicas": 8, "maxReplicas": 8}
    assert set(alt.diff) == {"horizontalpodautoscaler/infer/llm: minReplicas 2 -> 8",
                             "horizontalpodautoscaler/infer/llm: maxReplicas 6 -> 8"}
    down = scale.plan_scale(conn, ObjectRef("Deployment", "llm", "infer"), 1).alternative
    assert down.writes[0].body["spec"] == {"minReplicas": 1, "maxReplicas": 1}
    zero = scale.plan_scale(conn, ObjectRef("Deployment", "llm", "infer"), 0)
    assert zero.alternative is None and any("cannot hold 0" in w for w in zero.warnings)


def test_guard_readonly_and_rbac_and_cache():
    ro = Guard(FakeConn(readonly=True))
    assert ro.allowed("cordon", ObjectRef("Node", "x")) == (False, "read-only mode")
    c = FakeConn(allowed=False)
    t = [0.0]
    g = Guard(c, ttl=60, clock=lambda: t[0])
    ok, why = g.allowed("scale", ObjectRef("Deployment", "llm", "infer"))
    assert not ok and "patch deployments/scale.apps in namespace infer" in why and "no RBAC rule" in why
    assert g.peek("label", ObjectRef("Node", "x")) is None  # not asked yet, and peek never asks
    g.allowed("label", ObjectRef("Node", "x"))
    g.allowed("cordon", ObjectRef("Node", "y"))  # same access: cached
    assert g.reviews_sent == 2
    body = json.loads(c.requests[-1][3])
    assert body["kind"] == "SelfSubjectAccessReview" and body["spec"]["resourceAttributes"] == {
        "verb": "patch", "resource": "nodes", "group": ""}
    t[0] = 61.0
    g.allowed("cordon", ObjectRef("Node", "y"))
    assert g.reviews_sent == 3


def test_session_refuses_audits_and_undoes(conn, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl", context="sim-admin", user="admin")
    s = ActionSession(conn, audit=audit)
    plan = s.plan_labels("gpu-2", {"team": "ml"})
    assert s.apply(plan).ok
    plan = s.plan_cordon(["gpu-2"])
    s.declined(plan)
    assert s.apply(plan).ok
    assert len(s.undo) == 2
    assert s.apply(s.plan_undo()).ok  # undoes the cordon
    assert conn.objects[N + "gpu-2"]["spec"]["unschedulable"] is False
    assert s.apply(s.plan_undo()).ok  # undoes the label
    assert "team" not in conn.objects[N + "gpu-2"]["metadata"]["labels"]
    assert s.plan_undo() is None
    with pytest.raises(InvalidInput):
        s.plan_labels("gpu-2", {"kubernetes.io/hostname": "x"})
    lines = audit.read()
    assert [(x["action"], x["result"]) for x in lines] == [
        ("label", "ok"), ("cordon", "cancelled"), ("cordon", "ok"), ("undo", "ok"), ("undo", "ok"), ("label", "refused")]
    assert lines[0]["before"] == {"team": None} and lines[0]["after"] == {"team": "ml"}
    assert lines[0]["context"] == "sim-admin" and lines[0]["user"] == "admin" and lines[0]["time"].endswith("Z")

    viewer = ActionSession(FakeConn(allowed=False), audit=audit)
    with pytest.raises(ActionRefused, match="may not patch nodes"):
        viewer.plan_cordon(["gpu-1"])
    assert [r[0] for r in viewer.conn.requests] == ["POST"]  # only the access review


def test_audit_never_holds_tokens(tmp_path):
    a = AuditLog(tmp_path / "a.jsonl")
    a.record("label", "node/x", "error", "Authorization: Bearer abc.def-123 failed",
             before={"token": "s3cret"}, after={"v": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"})
    text = (tmp_path / "a.jsonl").read_text()
    assert "abc.def-123" not in text and "s3cret" not in text and "eyJhbGci" not in text
    assert text.count("<redacted>") == 3
    assert oct((tmp_path / "a.jsonl").stat().st_mode & 0o777) == "0o600"


POD = "/api/v1/namespaces/infer/pods/"


def _pod(name, owner_kind="ReplicaSet", **extra):
    md = {"name": name, "namespace": "infer", "uid": "u-" + name}
    if owner_kind:
        md["ownerReferences"] = [{"kind": owner_kind, "name": "o", "controller": True}]
    md.update(extra.pop("metadata", {}))
    return {"metadata": md, "spec": {"nodeName": "gpu-1", **extra}, "status": {"phase": "Running"}}


def test_drain_plan_and_run_with_pdb_retry(conn):
    conn.put(POD + "a", _pod("a"))
    conn.put(POD + "b", _pod("b"))
    conn.put(POD + "ds", _pod("ds", "DaemonSet"))
    conn.put(POD + "mirror", _pod("mirror", None, metadata={"annotations": {"kubernetes.io/config.mirror": "x"}}))
    conn.evict_429[POD + "b"] = 2
    plan = drain.plan_drain(conn, "gpu-1")
    assert [str(p) for p in plan.extra["evict"]] == ["infer/a", "infer/b"]
    assert {str(p) for p, _ in plan.extra["skipped"]} == {"infer/ds", "infer/mirror"}
    seen = []
    res = drain.run_drain(conn, plan, progress=seen.append, backoff=(0.0,), poll=0.0)
    assert res.ok and "evicted 2" in res.message, res.message
    assert [p.phase for p in seen].count("blocked") == 2
    assert conn.objects[N + "gpu-1"]["spec"]["unschedulable"] is True
    assert POD + "ds" in conn.objects and POD + "a" not in conn.objects
    evictions = [r for r in conn.requests if r[1].endswith("/eviction")]
    assert json.loads(evictions[0][3]) == {"kind": "Eviction", "apiVersion": "policy/v1",
                                           "metadata": {"name": "a", "namespace": "infer"}, "deleteOptions": {}}


def test_drain_refuses_unmanaged_pods_unless_forced(conn):
    conn.put(POD + "lonely", _pod("lonely", None))
    with pytest.raises(ActionFailed, match="infer/lonely .no controller"):
        drain.plan_drain(conn, "gpu-1")
    assert conn.writes() == []
    conn.put(POD + "scratch", _pod("scratch", volumes=[{"name": "s", "emptyDir": {}}]))
    with pytest.raises(ActionFailed, match="emptyDir"):
        drain.plan_drain(conn, "gpu-1", force=True)
    plan = drain.plan_drain(conn, "gpu-1", force=True, delete_emptydir_data=True)
    assert len(plan.extra["evict"]) == 2


def test_drain_cancel_leaves_node_cordoned(conn):
    conn.put(POD + "a", _pod("a"))
    conn.evict_429[POD + "a"] = 1000
    cancel = threading.Event()
    plan = drain.plan_drain(conn, "gpu-1")

    def progress(p):
        if p.phase == "blocked":
            cancel.set()
    res = drain.run_drain(conn, plan, progress=progress, cancel=cancel, backoff=(5.0,))
    assert res.outcome == "cancelled" and "stays cordoned" in res.message
    assert POD + "a" in conn.objects and conn.objects[N + "gpu-1"]["spec"]["unschedulable"] is True


def test_drain_plan_names_blocking_pdbs(conn):
    conn.put(POD + "a", _pod("a", metadata={"labels": {"app": "llm"}}))
    conn.put("/apis/policy/v1/namespaces/infer/poddisruptionbudgets/llm",
             {"metadata": {"name": "llm", "namespace": "infer"},
              "spec": {"selector": {"matchLabels": {"app": "llm"}}}, "status": {"disruptionsAllowed": 0}})
    plan = drain.plan_drain(conn, "gpu-1")
    assert any("PodDisruptionBudget infer/llm allows 0" in w and "infer/a" in w and "wait and retry" in w
               for w in plan.warnings), plan.warnings


def test_pdb_selector_matching():
    m = drain._selector_matches
    assert m({"matchLabels": {"app": "x"}}, {"app": "x", "z": "1"})
    assert not m({"matchLabels": {"app": "x"}}, {"app": "y"})
    assert m({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}, {"tier": "b"})
    assert not m({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {})
    assert not m({}, {"app": "x"})


def test_scale_explains_gpu_cost_and_big_jumps(conn):
    tmpl = {"spec": {"containers": [{"name": "m", "resources": {"limits": {"nvidia.com/gpu": "2"}}}]}}
    conn.put(DEP + "trainer", {"metadata": {"name": "trainer", "namespace": "infer"}, "spec": {"replicas": 2, "template": tmpl}})
    ref = ObjectRef("Deployment", "trainer", "infer")
    plan = scale.plan_scale(conn, ref, 200)
    assert "each replica holds 2 GPU(s): +396 GPU(s) in total" in plan.warnings
    assert any("100x the current 2" in w for w in plan.warnings)
    assert "0 replicas stops every pod of this workload" in scale.plan_scale(conn, ref, 0).warnings
    assert scale.plan_scale(conn, ref, 3).warnings == ("each replica holds 2 GPU(s): +2 GPU(s) in total",)


def test_guard_does_not_cache_a_transport_failure():
    from kubewatch_ml.errors import ConnectError
    c = FakeConn()
    fail = [True]
    real = c.request

    def flaky(method, path, **kw):
        if fail[0]:
            raise ConnectError("cannot reach https://127.0.0.1:1 (connection refused)")
        return real(method, path, **kw)
    c.request = flaky
    g = Guard(c)
    ok, why = g.allowed("cordon", ObjectRef("Node", "x"))
    assert not ok and "cannot check permission" in why and "connection refused" in why
    fail[0] = False
    assert g.allowed("cordon", ObjectRef("Node", "x")) == (True, "")


def test_partial_multi_node_change_is_reported_and_its_applied_part_undoable(conn, tmp_path):
    s = ActionSession(conn, audit=AuditLog(tmp_path / "a.jsonl"))
    plan = s.plan_labels(["gpu-1", "gpu-2"], {"pool": "h100"})
    del conn.objects[N + "gpu-2"]  # the second node goes away before the write
    res = s.apply(plan)
    assert res.outcome == "not-found" and "already applied to node/gpu-1" in res.message
    assert [t.name for t in res.applied] == ["gpu-1"]
    undo = s.plan_undo()
    assert [t.name for t in undo.targets] == ["gpu-1"]
    assert s.apply(undo).ok and conn.objects[N + "gpu-1"]["metadata"]["labels"]["pool"] == "a100"

    conn.put(N + "gpu-2", node("gpu-2"))
    plan = s.plan_cordon(["gpu-1", "gpu-2"])
    del conn.objects[N + "gpu-2"]
    assert s.apply(plan).outcome == "not-found"
    assert s.apply(s.plan_undo()).ok and conn.objects[N + "gpu-1"]["spec"]["unschedulable"] is False


def test_hpa_alternative_only_offered_when_allowed(conn, tmp_path):
    conn.put(DEP + "llm", {"metadata": {"name": "llm", "namespace": "infer"}, "spec": {"replicas": 2}})
    conn.put(HPA + "llm", {"metadata": {"name": "llm", "namespace": "infer"},
                           "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "llm"}, "minReplicas": 2, "maxReplicas": 6}})

    class PatchScaleOnly(Guard):
        def can_i(self, access):
            return (access.resource != "horizontalpodautoscalers", "no RBAC rule for HPAs")
    s = ActionSession(conn, audit=AuditLog(tmp_path / "a.jsonl"), guard=PatchScaleOnly(conn))
    plan = s.plan_scale(ObjectRef("Deployment", "llm", "infer"), 4)
    assert plan.alternative is None
    assert any("changing the HPA instead is not allowed: no RBAC rule for HPAs" in w for w in plan.warnings)
