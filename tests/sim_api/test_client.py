"""The official `kubernetes` Python client against the simulator: paged lists of every kind, watches
(including one that sees kubectl's cordon), 410 for a too-old resourceVersion, writes and conflicts."""
from __future__ import annotations

import copy
import json
import threading

import kubernetes
import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

LISTERS = {
    "namespaces": ("CoreV1Api", "list_namespace"),
    "nodes": ("CoreV1Api", "list_node"),
    "pods": ("CoreV1Api", "list_pod_for_all_namespaces"),
    "events": ("CoreV1Api", "list_event_for_all_namespaces"),
    "resourcequotas": ("CoreV1Api", "list_resource_quota_for_all_namespaces"),
    "limitranges": ("CoreV1Api", "list_limit_range_for_all_namespaces"),
    "services": ("CoreV1Api", "list_service_for_all_namespaces"),
    "deployments": ("AppsV1Api", "list_deployment_for_all_namespaces"),
    "replicasets": ("AppsV1Api", "list_replica_set_for_all_namespaces"),
    "statefulsets": ("AppsV1Api", "list_stateful_set_for_all_namespaces"),
    "daemonsets": ("AppsV1Api", "list_daemon_set_for_all_namespaces"),
    "jobs": ("BatchV1Api", "list_job_for_all_namespaces"),
    "horizontalpodautoscalers": ("AutoscalingV2Api", "list_horizontal_pod_autoscaler_for_all_namespaces"),
    "poddisruptionbudgets": ("PolicyV1Api", "list_pod_disruption_budget_for_all_namespaces"),
    "networkpolicies": ("NetworkingV1Api", "list_network_policy_for_all_namespaces"),
}


def _client(server, context="sim-admin") -> client.ApiClient:
    return kubernetes.config.new_client_from_config(config_file=server.kubeconfig, context=context)


@pytest.fixture
def kclient(tls_api):
    c = _client(tls_api)
    yield c
    c.close()


def test_lists_every_kind_paged(kclient, store):
    for resource, (api_name, fn) in LISTERS.items():
        lister = getattr(getattr(client, api_name)(kclient), fn)
        names, pages, cont = [], 0, None
        while True:
            page = lister(limit=2, _continue=cont) if cont else lister(limit=2)
            pages += 1
            assert len(page.items) <= 2
            names += [(i.metadata.namespace or "", i.metadata.name) for i in page.items]
            cont = page.metadata._continue
            if not cont:
                break
        want = sorted((o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in store.list(resource)[0])
        assert names == want, resource
        assert pages == max(1, -(-len(want) // 2)), resource


def test_list_typed_fields_round_trip(kclient):
    v1 = client.CoreV1Api(kclient)
    node = v1.read_node("gpu-a-1")
    assert node.spec.taints[0].effect == "NoSchedule"
    assert node.status.allocatable["nvidia.com/gpu"] == "8"
    hpa = client.AutoscalingV2Api(kclient).read_namespaced_horizontal_pod_autoscaler("web", "ml-prod")
    assert hpa.spec.metrics[0].resource.target.average_utilization == 50
    pods = v1.list_namespaced_pod("ml-prod", label_selector="app=web", field_selector="spec.nodeName=cpu-a-1")
    assert sorted(p.metadata.name for p in pods.items) == ["web-7d4b9c-x0k2p", "web-7d4b9c-z2k2p"]


def test_watch_sees_a_cordon_made_by_kubectl(kclient, kubectl):
    v1 = client.CoreV1Api(kclient)
    rv = v1.list_node().metadata.resource_version
    seen: list = []
    started = threading.Event()
    w = watch.Watch()

    def consume():
        started.set()
        for ev in w.stream(v1.list_node, resource_version=rv, timeout_seconds=15):
            seen.append((ev["type"], ev["object"].metadata.name, ev["object"].spec.unschedulable))
            if ev["object"].spec.unschedulable:
                w.stop()

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    started.wait(5)
    kubectl.run("cordon", "gpu-c-1")
    t.join(20)
    assert ("MODIFIED", "gpu-c-1", True) in seen


def test_watch_from_zero_lists_then_streams_and_bookmarks(tls_api, kclient, store):
    tls_api.bookmark_interval = 0.3
    v1 = client.CoreV1Api(kclient)
    # raw stream: ADDED for what exists, then a MODIFIED from a store write, then BOOKMARKs while idle
    def write():
        pod = copy.deepcopy(store.get("pods", "ml-prod", "web-7d4b9c-y1k2p"))
        pod["metadata"]["labels"]["touched"] = "yes"
        store.replace("pods", pod)

    timer = threading.Timer(0.5, write)
    timer.start()
    resp = v1.list_namespaced_pod("ml-prod", watch=True, resource_version="0", allow_watch_bookmarks=True,
                                  timeout_seconds=2, _preload_content=False)
    lines = [json.loads(line) for line in resp.read().decode().splitlines() if line.strip()]
    timer.join()
    types = [e["type"] for e in lines]
    assert types[:3] == ["ADDED"] * 3
    assert "MODIFIED" in types and "BOOKMARK" in types
    bm = next(e for e in lines if e["type"] == "BOOKMARK")
    assert bm["object"]["kind"] == "Pod" and set(bm["object"]["metadata"]) == {"resourceVersion"}
    mod = next(e for e in lines if e["type"] == "MODIFIED")
    assert mod["object"]["metadata"]["labels"]["touched"] == "yes"


def test_too_old_resource_version_gets_410(kclient, store):
    v1 = client.CoreV1Api(kclient)
    w = watch.Watch()
    with pytest.raises(ApiException) as e:
        for _ in w.stream(v1.list_pod_for_all_namespaces, resource_version="5", timeout_seconds=5):
            pass
    assert e.value.status == 410
    # a list continuation whose snapshot fell out of history
    page = v1.list_pod_for_all_namespaces(limit=2)
    store.create("namespaces", {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "bump"}})
    store.compact()  # the history now starts after the page's snapshot
    with pytest.raises(ApiException) as e:
        v1.list_pod_for_all_namespaces(limit=2, _continue=page.metadata._continue)
    assert e.value.status == 410 and "continue parameter is too old" in e.value.body


def test_writes_and_conflicts(kclient, store):
    v1 = client.CoreV1Api(kclient)
    node = v1.read_node("cpu-b-1")
    node.metadata.labels["pool"] = "cpu"
    updated = v1.replace_node("cpu-b-1", node)
    assert store.get("nodes", "", "cpu-b-1")["metadata"]["labels"]["pool"] == "cpu"
    node.metadata.labels["pool"] = "stale"  # still carries the old resourceVersion
    with pytest.raises(ApiException) as e:
        v1.replace_node("cpu-b-1", node)
    assert e.value.status == 409 and "the object has been modified" in e.value.body
    assert store.get("nodes", "", "cpu-b-1")["metadata"]["resourceVersion"] == updated.metadata.resource_version
    ns = v1.create_namespace({"metadata": {"name": "llm-prod", "labels": {"team": "llm"}}})
    assert ns.metadata.uid and store.get("namespaces", "", "llm-prod")["metadata"]["labels"] == {"team": "llm"}
    apps = client.AppsV1Api(kclient)
    scale = apps.patch_namespaced_deployment_scale("web", "ml-prod", {"spec": {"replicas": 7}})
    assert scale.spec.replicas == 7 and scale.status.selector == "app=web"
    assert store.get("deployments", "ml-prod", "web")["spec"]["replicas"] == 7
    assert store.get("deployments", "ml-prod", "web")["metadata"]["generation"] == 2


def test_viewer_reads_but_cannot_write(tls_api, store):
    c = _client(tls_api, "sim-viewer")
    try:
        v1 = client.CoreV1Api(c)
        assert len(v1.list_node().items) == 4
        with pytest.raises(ApiException) as e:
            v1.patch_node("cpu-a-1", {"spec": {"unschedulable": True}})
        assert e.value.status == 403
        review = client.AuthorizationV1Api(c).create_self_subject_access_review(
            {"spec": {"resourceAttributes": {"verb": "patch", "resource": "nodes"}}})
        assert review.status.allowed is False
        review = client.AuthorizationV1Api(c).create_self_subject_access_review(
            {"spec": {"resourceAttributes": {"verb": "watch", "resource": "pods", "namespace": "ml-dev"}}})
        assert review.status.allowed is True
    finally:
        c.close()
    assert not store.get("nodes", "", "cpu-a-1")["spec"].get("unschedulable")
