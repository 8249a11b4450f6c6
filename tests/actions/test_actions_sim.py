"""Actions against the simulated cluster over HTTP, as admin and as viewer; results checked with a GET
and with real kubectl."""
import json
import subprocess
import threading

import pytest

from actions_support import kubectl_bin
from kubewatch_ml.actions.audit import AuditLog
from kubewatch_ml.actions.plan import ActionFailed, ObjectRef, send
from kubewatch_ml.actions.session import ActionRefused, ActionSession
from kubewatch_ml.actions.validation import InvalidInput, TaintSpec
from kubewatch_ml.settings import KubeOptions
from kubewatch_ml.sources.kube import connect

NS = "kw-actions"


def _get(conn, path):
    r = conn.request("GET", path)
    assert r.status == 200, (path, r.status)
    return json.loads(r.body)


def _node(conn, name):
    return _get(conn, f"/api/v1/nodes/{name}")


def _kubectl(cluster, *args):
    out = subprocess.run([kubectl_bin(), "--kubeconfig", cluster.kubeconfig_path, "--context", "sim-admin", *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def session(admin_conn, tmp_path):
    return ActionSession(admin_conn, audit=AuditLog(tmp_path / "audit.jsonl", "sim-admin", "admin"))


def test_cordon_label_taint_then_kubectl_agrees_and_undo_restores(cluster, session, admin_conn, tmp_path):
    plan = session.plan_cordon(["kw-gpu-a", "kw-gpu-b"])
    assert len(plan.writes) == 2 and all("-> cordoned" in d for d in plan.diff)
    assert session.apply(plan).ok
    plan = session.plan_labels("kw-gpu-a", {"pool": "h100", "team": None, "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"})
    assert session.apply(plan).ok, plan
    plan = session.plan_taints("kw-gpu-a", [TaintSpec("dedicated", "llm", "NoExecute")], [("nvidia.com/gpu", None)])
    assert session.apply(plan).ok

    n = _node(admin_conn, "kw-gpu-a")
    assert n["spec"]["unschedulable"] is True
    assert n["metadata"]["labels"]["pool"] == "h100" and "team" not in n["metadata"]["labels"]
    assert [(t["key"], t.get("value"), t["effect"]) for t in n["spec"]["taints"]] == [("dedicated", "llm", "NoExecute")]
    # real kubectl sees the same
    k = json.loads(_kubectl(cluster, "get", "node", "kw-gpu-a", "-o", "json"))
    assert k["spec"]["unschedulable"] is True and k["metadata"]["labels"]["pool"] == "h100"
    assert "SchedulingDisabled" in _kubectl(cluster, "get", "node", "kw-gpu-b")

    # undo, newest first: taint, label, cordon (both nodes)
    for _ in range(3):
        undo = session.plan_undo()
        assert undo is not None and session.apply(undo).ok
    assert session.plan_undo() is None
    n = _node(admin_conn, "kw-gpu-a")
    assert not n["spec"].get("unschedulable")
    assert n["metadata"]["labels"]["pool"] == "a100" and n["metadata"]["labels"]["team"] == "search"
    assert "nvidia.com/gpu.product" in n["metadata"]["labels"]
    assert n["metadata"]["labels"]["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-40GB"
    assert [(t["key"], t["effect"]) for t in n["spec"]["taints"]] == [("nvidia.com/gpu", "NoSchedule")]
    assert not _node(admin_conn, "kw-gpu-b")["spec"].get("unschedulable")

    lines = (tmp_path / "audit.jsonl").read_text()
    assert cluster.admin_token not in lines and "token" not in lines.lower()
    rows = [json.loads(x) for x in lines.splitlines()]
    assert [r["action"] for r in rows] == ["cordon", "label", "taint", "undo", "undo", "undo"]
    assert all(r["result"] == "ok" and r["context"] == "sim-admin" for r in rows)


def test_viewer_sees_disabled_with_reason_and_sends_nothing(cluster, viewer_conn, admin_conn, tmp_path):
    s = ActionSession(viewer_conn, audit=AuditLog(tmp_path / "a.jsonl", "sim-viewer", "viewer"))
    ok, why = s.guard.allowed("cordon", ObjectRef("Node", "kw-gpu-a"))
    assert not ok and "patch nodes" in why
    ok, why = s.guard.allowed("scale", ObjectRef("Deployment", "web", NS))
    assert not ok and "deployments/scale" in why
    rv_before = _node(admin_conn, "kw-gpu-a")["metadata"]["resourceVersion"]
    for attempt in (lambda: s.plan_cordon(["kw-gpu-a"]), lambda: s.plan_labels("kw-gpu-a", {"pool": "x"}),
                    lambda: s.plan_taints("kw-gpu-a", [TaintSpec("a", "b")]), lambda: s.plan_drain("kw-gpu-a"),
                    lambda: s.plan_scale(ObjectRef("Deployment", "web", NS), 4)):
        with pytest.raises(ActionRefused, match="not allowed"):
            attempt()
    assert _node(admin_conn, "kw-gpu-a")["metadata"]["resourceVersion"] == rv_before
    assert {r["result"] for r in AuditLog(tmp_path / "a.jsonl").read()} == {"refused"}


def test_scale_and_hpa_alternative(session, admin_conn):
    plan = session.plan_scale(ObjectRef("Deployment", "web", NS), "5")
    assert plan.diff == (f"deployment/{NS}/web: replicas 3 -> 5",) and plan.alternative is None
    assert session.apply(plan).ok
    assert _get(admin_conn, f"/apis/apps/v1/namespaces/{NS}/deployments/web")["spec"]["replicas"] == 5

    plan = session.plan_scale(ObjectRef("Deployment", "llm", NS), 9)
    assert any("within 15 s" in w for w in plan.warnings)
    alt = plan.alternative
    assert alt is not None and set(alt.diff) == {f"horizontalpodautoscaler/{NS}/llm: minReplicas 2 -> 9",
                                                 f"horizontalpodautoscaler/{NS}/llm: maxReplicas 6 -> 9"}
    assert session.apply(alt).ok
    hpa = _get(admin_conn, f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/llm")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (9, 9)


@pytest.mark.parametrize("bad,why", [(-1, "negative"), ("2.5", "whole number"), (100000, "cap")])
def test_bad_replicas_change_nothing(session, admin_conn, bad, why):
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/web"
    rv = _get(admin_conn, path)["metadata"]["resourceVersion"]
    with pytest.raises(InvalidInput, match=why):
        session.plan_scale(ObjectRef("Deployment", "web", NS), bad)
    assert _get(admin_conn, path)["metadata"]["resourceVersion"] == rv


def test_invalid_label_is_refused_before_sending(session, admin_conn):
    rv = _node(admin_conn, "kw-gpu-a")["metadata"]["resourceVersion"]
    with pytest.raises(InvalidInput, match="reserved"):
        session.plan_labels("kw-gpu-a", {"topology.kubernetes.io/zone": "us-east-1z"})
    with pytest.raises(InvalidInput, match="start and end"):
        session.plan_labels("kw-gpu-a", {"pool": "-bad-"})
    assert _node(admin_conn, "kw-gpu-a")["metadata"]["resourceVersion"] == rv


def test_conflict_409_then_reask(session, admin_conn):
    plan = session.plan_labels("kw-gpu-b", {"pool": "h100"})
    # another operator relabels the node between our confirmation and our write
    r = admin_conn.request("PATCH", "/api/v1/nodes/kw-gpu-b", body={"metadata": {"labels": {"pool": "l4"}}},
                           content_type="application/merge-patch+json")
    assert r.status == 200
    res = session.apply(plan)
    assert res.outcome == "conflict" and "409" in res.message
    assert _node(admin_conn, "kw-gpu-b")["metadata"]["labels"]["pool"] == "l4"  # not overwritten
    again = session.replan(plan)
    assert again.diff == ("node kw-gpu-b: label pool: 'l4' -> 'h100'",)
    assert session.apply(again).ok
    assert _node(admin_conn, "kw-gpu-b")["metadata"]["labels"]["pool"] == "h100"


def test_node_deleted_meanwhile(session, admin_conn):
    plan = session.plan_cordon(["kw-gpu-b"])
    assert admin_conn.request("DELETE", "/api/v1/nodes/kw-gpu-b").status == 200
    res = session.apply(plan)
    assert res.outcome == "not-found" and "no longer exists" in res.message
    with pytest.raises(ActionFailed, match="not found"):
        session.plan_labels("kw-gpu-b", {"pool": "x"})


def test_drain_with_pdb_429_then_success(session, admin_conn):
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "llm", "namespace": NS},
           "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "llm"}}},
           "status": {"disruptionsAllowed": 0, "currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 2}}
    r = admin_conn.request("POST", f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets", body=pdb,
                           content_type="application/json")
    assert r.status == 201, r.body
    plan = session.plan_drain("kw-gpu-a")
    assert sorted(str(p) for p in plan.extra["evict"]) == [f"{NS}/llm-0", f"{NS}/llm-1"]
    assert [str(p) for p, _ in plan.extra["skipped"]] == [f"{NS}/dcgm-x"]
    seen = []

    def progress(p):
        seen.append(p)
        if p.phase == "blocked" and sum(x.phase == "blocked" for x in seen) == 1:
            # the budget frees up (a replacement became ready elsewhere): the admin lifts it
            assert admin_conn.request("DELETE", f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets/llm").status == 200

    res = session.drain(plan, progress=progress, backoff=(0.05,), poll=0.05, timeout=30)
    assert res.ok, res.message
    assert any(p.phase == "blocked" and "disruption budget" in p.message for p in seen)
    pods = _get(admin_conn, "/api/v1/pods?fieldSelector=spec.nodeName%3Dkw-gpu-a")["items"]
    assert [p["metadata"]["name"] for p in pods if p["metadata"]["namespace"] == NS] == ["dcgm-x"]
    assert _node(admin_conn, "kw-gpu-a")["spec"]["unschedulable"] is True


def test_drain_cancel_mid_way(session, admin_conn):
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "llm", "namespace": NS},
           "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "llm"}}},
           "status": {"disruptionsAllowed": 0, "currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 2}}
    assert admin_conn.request("POST", f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets", body=pdb,
                              content_type="application/json").status == 201
    plan = session.plan_drain("kw-gpu-a")
    cancel = threading.Event()
    result = {}
    t = threading.Thread(target=lambda: result.update(r=session.drain(plan, cancel=cancel, backoff=(30.0,))))
    t.start()
    cancel.set()
    t.join(10)
    assert not t.is_alive() and result["r"].outcome == "cancelled"
    assert _node(admin_conn, "kw-gpu-a")["spec"]["unschedulable"] is True
    pods = _get(admin_conn, "/api/v1/pods?fieldSelector=spec.nodeName%3Dkw-gpu-a")["items"]
    assert len([p for p in pods if p["metadata"]["namespace"] == NS]) == 3


def test_drain_refuses_unmanaged_pod(session, admin_conn):
    from actions_support import pod_obj
    r = admin_conn.request("POST", f"/api/v1/namespaces/{NS}/pods", body=pod_obj("scratch", NS, "kw-gpu-b"),
                           content_type="application/json")
    assert r.status == 201
    with pytest.raises(ActionFailed, match="scratch .no controller"):
        session.plan_drain("kw-gpu-b")
    assert not _node(admin_conn, "kw-gpu-b")["spec"].get("unschedulable")


def test_readonly_no_write_leaves_the_process(cluster, counting_proxy, tmp_path):
    kubeconfig, counts = counting_proxy
    conn = connect(KubeOptions(kubeconfig=kubeconfig, context="sim-admin", readonly=True))
    s = ActionSession(conn, audit=AuditLog(tmp_path / "ro.jsonl"))
    attempts = [lambda: s.plan_cordon(["kw-gpu-a"]), lambda: s.plan_cordon(["kw-gpu-a"], False),
                lambda: s.plan_labels("kw-gpu-a", {"pool": "x"}), lambda: s.plan_taints("kw-gpu-a", [TaintSpec("a")]),
                lambda: s.plan_drain("kw-gpu-a"), lambda: s.plan_scale(ObjectRef("Deployment", "web", NS), 4),
                lambda: s.plan_hpa_bounds(ObjectRef("HorizontalPodAutoscaler", "llm", NS), 2, 3)]
    for attempt in attempts:
        with pytest.raises(ActionRefused, match="read-only mode"):
            attempt()
    # even bypassing the guard, the HTTP layer refuses before sending
    from kubewatch_ml.actions import nodes
    from kubewatch_ml.errors import UserError
    with pytest.raises(UserError, match="read-only"):
        nodes.plan_cordon(conn, ["kw-gpu-a"])
    with pytest.raises(UserError, match="read-only"):
        send(conn, "PATCH", "/api/v1/nodes/kw-gpu-a", body={"spec": {"unschedulable": True}},
             content_type="application/strategic-merge-patch+json")
    assert counts["GET"] >= 1  # the proxy is in the path
    assert sum(v for k, v in counts.items() if k != "GET") == 0, counts
    conn.close()


def test_relabel_a_pool_of_nodes_in_one_change_and_undo(session, admin_conn):
    plan = session.plan_labels(["kw-gpu-a", "kw-gpu-b"], {"pool": "h100-pool"})
    assert len(plan.writes) == 2 and {d.split(":")[0] for d in plan.diff} == {"node kw-gpu-a", "node kw-gpu-b"}
    assert session.apply(plan).ok
    assert {_node(admin_conn, n)["metadata"]["labels"]["pool"] for n in ("kw-gpu-a", "kw-gpu-b")} == {"h100-pool"}
    assert session.apply(session.plan_undo()).ok
    assert {_node(admin_conn, n)["metadata"]["labels"]["pool"] for n in ("kw-gpu-a", "kw-gpu-b")} == {"a100"}


def test_scale_statefulset(session, admin_conn):
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "nb", "namespace": NS},
           "spec": {"replicas": 1, "serviceName": "nb", "selector": {"matchLabels": {"app": "nb"}},
                    "template": {"metadata": {"labels": {"app": "nb"}},
                                 "spec": {"containers": [{"name": "m", "image": "jupyter/base-notebook:2024-10-07"}]}}}}
    assert admin_conn.request("POST", f"/apis/apps/v1/namespaces/{NS}/statefulsets", body=sts,
                              content_type="application/json").status == 201
    plan = session.plan_scale(ObjectRef("StatefulSet", "nb", NS), 0)
    assert plan.writes[0].path.endswith("/statefulsets/nb/scale") and "0 replicas stops every pod" in " ".join(plan.warnings)
    assert session.apply(plan).ok
    assert _get(admin_conn, f"/apis/apps/v1/namespaces/{NS}/statefulsets/nb")["spec"]["replicas"] == 0


def test_readonly_context_from_the_config_file_disables_every_action(counting_proxy, tmp_path):
    from dataclasses import replace
    from kubewatch_ml.config import load_config
    from kubewatch_ml.feed import open_live_feed
    from kubewatch_ml.settings import MetricsOptions, Settings
    kubeconfig, counts = counting_proxy
    cfg = tmp_path / "config.toml"
    cfg.write_text('readonly_contexts = ["sim-adm*"]\n')
    config = load_config(str(cfg))
    settings = Settings(kube=KubeOptions(kubeconfig=kubeconfig, context="sim-admin"),
                        metrics=replace(MetricsOptions(), no_prometheus=True))
    feed = open_live_feed(settings, readonly_contexts=config.readonly_for)
    try:
        s = ActionSession(feed.conn, audit=AuditLog(tmp_path / "a.jsonl"))
        assert s.guard.allowed("label", ObjectRef("Node", "kw-gpu-a")) == (False, "read-only mode")
        with pytest.raises(ActionRefused, match="read-only mode"):
            s.plan_labels("kw-gpu-a", {"pool": "x"})
        with pytest.raises(ActionRefused, match="read-only mode"):
            s.plan_scale(ObjectRef("Deployment", "web", NS), 1)
    finally:
        feed.close()
        feed.conn.close()
    assert counts["GET"] > 0 and counts.writes == []


def test_scale_target_resolves_from_hpa_and_pod_and_refuses_jobs(admin_conn):
    from kubewatch_ml.screens.action_keys import resolve_scale_target
    assert resolve_scale_target(admin_conn, ObjectRef("HorizontalPodAutoscaler", "llm", NS)) == \
        (ObjectRef("Deployment", "llm", NS), 2)
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": "web-6f7", "namespace": NS, "labels": {"app": "web"},
                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                            "uid": "uid-web", "controller": True}]},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                   "template": {"metadata": {"labels": {"app": "web"}},
                                "spec": {"containers": [{"name": "m", "image": "nginx:1.27"}]}}}}
    assert admin_conn.request("POST", f"/apis/apps/v1/namespaces/{NS}/replicasets", body=rs,
                              content_type="application/json").status == 201
    from actions_support import pod_obj
    assert admin_conn.request("POST", f"/api/v1/namespaces/{NS}/pods", body=pod_obj("web-6f7-abcde", NS, "kw-gpu-b",
                              ("ReplicaSet", "web-6f7")), content_type="application/json").status == 201
    assert resolve_scale_target(admin_conn, ObjectRef("Pod", "web-6f7-abcde", NS)) == (ObjectRef("Deployment", "web", NS), 3)
    assert admin_conn.request("POST", f"/api/v1/namespaces/{NS}/pods", body=pod_obj("train-x", NS, "kw-gpu-b",
                              ("Job", "train")), content_type="application/json").status == 201
    with pytest.raises(ActionFailed, match="job/kw-actions/train is not scaled"):
        resolve_scale_target(admin_conn, ObjectRef("Pod", "train-x", NS))
