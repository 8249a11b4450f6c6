"""The API server's pure parts: patch semantics, selectors, Table cells, protobuf decoding, paging keys."""
from __future__ import annotations

import pytest

from kubewatch_ml.sim.listing import decode_continue, encode_continue
from kubewatch_ml.sim.objects import ApiError, ObjectStore
from kubewatch_ml.sim.patching import json_patch, merge_patch, strategic_merge
from kubewatch_ml.sim.protobuf import decode_ssar, encode_ssar
from kubewatch_ml.sim.selectors import parse_field_selector, parse_label_selector, selector_matches, selector_string
from kubewatch_ml.sim.tables import human_duration, row

POD = {"metadata": {"name": "p", "labels": {"app": "web", "tier": "front"}, "finalizers": ["a"]},
       "spec": {"containers": [{"name": "main", "image": "x:1", "env": [{"name": "A", "value": "1"}],
                                "ports": [{"containerPort": 80}]},
                               {"name": "side", "image": "y:1"}],
                "tolerations": [{"key": "a", "operator": "Exists"}]},
       "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}]}}


def test_merge_patch_rfc7386():
    out = merge_patch(POD, {"metadata": {"labels": {"tier": None, "new": "x"}}, "spec": {"tolerations": []}})
    assert out["metadata"]["labels"] == {"app": "web", "new": "x"}
    assert out["spec"]["tolerations"] == [] and out["spec"]["containers"] == POD["spec"]["containers"]
    assert POD["metadata"]["labels"]["tier"] == "front"  # input untouched


def test_strategic_merge_by_keys_and_directives():
    out = strategic_merge(POD, {"spec": {"containers": [{"name": "main", "image": "x:2",
                                                          "env": [{"name": "B", "value": "2"}]}]}})
    main = out["spec"]["containers"][0]
    assert [c["name"] for c in out["spec"]["containers"]] == ["main", "side"]
    assert main["image"] == "x:2" and main["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    out = strategic_merge(POD, {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["main"]
    out = strategic_merge(POD, {"status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}]
    out = strategic_merge(POD, {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}})  # no merge key: replaced
    assert out["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]
    out = strategic_merge(POD, {"metadata": {"finalizers": ["b"], "$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert out["metadata"]["finalizers"] == ["b"]
    out = strategic_merge(POD, {"metadata": {"labels": {"$patch": "replace", "only": "this"}}})
    assert out["metadata"]["labels"] == {"only": "this"}
    out = strategic_merge(POD, {"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "main"}]}})
    assert out == POD
    with pytest.raises(ApiError) as e:
        strategic_merge(POD, {"spec": {"containers": [{"image": "no-name"}]}})
    assert e.value.code == 400


def test_strategic_merge_taints_whole_list_as_kubectl_sends():
    node = {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoExecute"}]}}
    out = strategic_merge(node, {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}})
    assert out["spec"]["taints"] == [{"key": "b", "effect": "NoExecute"}]
    assert strategic_merge(node, {"spec": {"taints": None}})["spec"] == {}


def test_json_patch_rfc6902():
    doc = {"a": {"b": [1, 2]}, "c": "x"}
    out = json_patch(doc, [{"op": "add", "path": "/a/b/-", "value": 3}, {"op": "add", "path": "/a/b/0", "value": 0},
                           {"op": "replace", "path": "/c", "value": "y"}, {"op": "copy", "from": "/c", "path": "/d"},
                           {"op": "move", "from": "/d", "path": "/e"}, {"op": "remove", "path": "/a/b/1"},
                           {"op": "test", "path": "/e", "value": "y"},
                           {"op": "add", "path": "/metadata~1x", "value": {"k~": 1}}])
    assert out == {"a": {"b": [0, 2, 3]}, "c": "y", "e": "y", "metadata/x": {"k~": 1}}
    assert doc == {"a": {"b": [1, 2]}, "c": "x"}
    with pytest.raises(ApiError) as e:
        json_patch(doc, [{"op": "test", "path": "/c", "value": "z"}])
    assert e.value.code == 422 and "testing value /c failed" in e.value.message
    with pytest.raises(ApiError) as e:
        json_patch(doc, [{"op": "replace", "path": "/nope", "value": 1}])
    assert e.value.code == 422
    with pytest.raises(ApiError) as e:
        json_patch(doc, {"op": "add"})
    assert e.value.code == 400


@pytest.mark.parametrize("expr,match", [
    ("app=web", True), ("app==web", True), ("app!=web", False), ("app in (web,api)", True),
    ("app notin (web)", False), ("tier", True), ("!tier", False), ("!missing", True), ("missing", False),
    ("app=web,tier in (front)", True), ("app=web,tier=back", False), ("missing!=x", True), ("", True),
])
def test_label_selector(expr, match):
    pred = parse_label_selector(expr)
    assert (pred is None or pred(POD)) is match


@pytest.mark.parametrize("expr", ["app in (web", "=x", "app=a b", "!app in (x)"])
def test_bad_label_selector(expr):
    with pytest.raises(ApiError) as e:
        parse_label_selector(expr)
    assert e.value.code == 400


def test_field_selector():
    pod = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}
    assert parse_field_selector("spec.nodeName=n1,status.phase!=Succeeded", "pods")(pod)
    assert not parse_field_selector("spec.nodeName==n2", "pods")(pod)
    assert parse_field_selector("spec.nodeName=", "pods")({"metadata": {"name": "x"}, "spec": {}})
    ev = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Node", "name": "n1"}, "source": {"component": "kubelet"}}
    assert parse_field_selector("involvedObject.kind=Node,involvedObject.name=n1,involvedObject.namespace=,source=kubelet",
                                "events")(ev)
    with pytest.raises(ApiError):
        parse_field_selector("spec.nodeName=n1", "nodes")


def test_label_selector_objects():
    sel = {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]},
                                                               {"key": "gone", "operator": "DoesNotExist"}]}
    assert selector_matches(sel, POD["metadata"]["labels"])
    assert not selector_matches(sel, {"app": "web", "tier": "back"})
    assert selector_string(sel) == "app=web,tier in (front),!gone"


@pytest.mark.parametrize("secs,text", [(5, "5s"), (119, "119s"), (125, "2m5s"), (600, "10m"), (3 * 3600 - 1, "179m"),
                                       (3 * 3600, "3h"), (7 * 3600 + 60, "7h1m"), (30 * 3600, "30h"),
                                       (3 * 86400 + 3600, "3d1h"), (40 * 86400, "40d"), (800 * 86400, "2y70d")])
def test_human_duration_like_kubectl(secs, text):
    assert human_duration(secs) == text


def test_table_cells_for_a_crash_looping_pod():
    pod = {"metadata": {"name": "p", "namespace": "ns", "creationTimestamp": "2026-01-01T00:00:00Z"},
           "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
           "status": {"phase": "Running", "podIP": "10.0.0.1",
                      "containerStatuses": [
                          {"name": "a", "ready": True, "restartCount": 0, "state": {"running": {}}},
                          {"name": "b", "ready": False, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                           "lastState": {"terminated": {"finishedAt": "2026-01-01T01:00:00Z"}}}]}}
    import calendar
    now = calendar.timegm((2026, 1, 1, 1, 5, 0))
    r = row("pods", pod, now)
    assert r["cells"][:5] == ["p", "1/2", "CrashLoopBackOff", "4 (5m ago)", "65m"]
    assert r["cells"][5:7] == ["10.0.0.1", "n1"]
    assert r["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": pod["metadata"]}


def test_ssar_protobuf_round_trip():
    body = encode_ssar("patch", "deployments", group="apps", namespace="ml", subresource="scale", name="web")
    assert body.startswith(b"k8s\x00")
    doc = decode_ssar(body)
    assert doc["kind"] == "SelfSubjectAccessReview" and doc["apiVersion"] == "authorization.k8s.io/v1"
    assert doc["spec"]["resourceAttributes"] == {"namespace": "ml", "verb": "patch", "group": "apps",
                                                 "resource": "deployments", "subresource": "scale", "name": "web"}
    with pytest.raises(ApiError) as e:
        decode_ssar(b"k8s\x00\x0a\xff")
    assert e.value.code == 400
    with pytest.raises(ApiError):
        decode_ssar(b'{"json": true}')


def test_continue_tokens_and_store_paging():
    assert decode_continue(encode_continue(1234, ("ns-a", "pod-1"))) == (1234, ("ns-a", "pod-1"))
    store = ObjectStore()
    store.load("pods", ({"metadata": {"name": f"p{i}", "namespace": ns}} for ns in ("a", "a-b", "b") for i in range(3)))
    items, rv, more = store.page("pods", "a", None, 2)
    assert [i["metadata"]["name"] for i in items] == ["p0", "p1"] and more == ("a", "p1")
    items, _, more = store.page("pods", "a", more, 2)
    assert [i["metadata"]["name"] for i in items] == ["p2"] and more is None  # namespace "a-b" is not "a"
    items, _, more = store.page("pods", None, ("a-b", "p2"), 0)
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items] == [("b", "p0"), ("b", "p1"), ("b", "p2")]
    store.delete("pods", "b", "p1")
    store.create("pods", {"metadata": {"name": "p10", "namespace": "b"}})
    store.create("pods", {"metadata": {"name": "a0", "namespace": "b"}})
    assert [i["metadata"]["name"] for i in store.page("pods", "b", None, 0)[0]] == ["a0", "p0", "p10", "p2"]
    assert [k for k in store.page("pods", None, None, 0)[0]] == store.list("pods")[0]  # index kept sorted


def test_table_status_of_init_containers_and_terminating_pods():
    base = {"metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"initContainers": [{"name": "fetch"}, {"name": "warm"}], "containers": [{"name": "m"}]},
            "status": {"phase": "Pending", "containerStatuses": [
                {"name": "m", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}}
    done = {"name": "fetch", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    running = {"name": "warm", "state": {"running": {}}}
    crashing = {"name": "warm", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
    cell = lambda inits: row("pods", dict(base, status=dict(base["status"], initContainerStatuses=inits)), 0)["cells"][2]  # noqa: E731
    assert cell([done, running]) == "Init:1/2"
    assert cell([done, crashing]) == "Init:CrashLoopBackOff"
    assert cell([{"name": "fetch", "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}, running]) == "Init:Error"
    gone = dict(base, metadata=dict(base["metadata"], deletionTimestamp="2026-01-01T00:00:10Z"))
    assert row("pods", gone, 0)["cells"][2] == "Terminating"
