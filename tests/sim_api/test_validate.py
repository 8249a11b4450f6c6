"""Every object the API serves validates against the Kubernetes 1.32 OpenAPI schema (kubernetes-validate,
strict: unknown fields fail too), before and after the writes the product and kubectl make."""
from __future__ import annotations

import kubernetes_validate
from kubewatch_ml.sim.kinds import KINDS

LISTABLE = [k for k in KINDS if "list" in k.verbs]


def _path(k) -> str:
    return f"/api/{k.version}/{k.resource}" if not k.group else f"/apis/{k.group}/{k.version}/{k.resource}"


def _validate(obj: dict) -> None:
    kubernetes_validate.validate(obj, "1.32", strict=True)


def _served_everything(http) -> int:
    n = 0
    for k in LISTABLE:
        code, doc, _ = http.get(_path(k))
        assert code == 200, (k.resource, doc)
        assert doc["kind"] == f"{k.kind}List" and doc["apiVersion"] == k.api_version
        _validate(doc)  # the list document itself
        for item in doc["items"]:
            assert "kind" not in item and "apiVersion" not in item  # as a real API server lists them
            item = dict(item, kind=k.kind, apiVersion=k.api_version)
            _validate(item)
            code, one, _ = http.get(item["metadata"].get("selfLink") or _item_path(k, item))
            assert code == 200
            _validate(one)
            n += 1
    return n


def _item_path(k, item) -> str:
    base = "/api/v1" if not k.group else f"/apis/{k.group}/{k.version}"
    ns = item["metadata"].get("namespace")
    return f"{base}/namespaces/{ns}/{k.resource}/{item['metadata']['name']}" if ns else f"{base}/{k.resource}/{item['metadata']['name']}"


def test_every_served_object_validates(http):
    assert _served_everything(http) >= 30


def test_objects_still_validate_after_writes(http):
    steps = [
        ("PATCH", "/api/v1/nodes/cpu-a-1", {"spec": {"unschedulable": True}}, "application/strategic-merge-patch+json"),
        ("PATCH", "/api/v1/nodes/gpu-a-1", {"spec": {"taints": [{"key": "maintenance", "effect": "NoExecute"}]}},
         "application/strategic-merge-patch+json"),
        ("PATCH", "/api/v1/nodes/gpu-c-1", {"metadata": {"labels": {"team": "llm"}}}, "application/merge-patch+json"),
        ("PATCH", "/apis/apps/v1/namespaces/ml-prod/deployments/web/scale", {"spec": {"replicas": 4}},
         "application/merge-patch+json"),
        ("POST", "/api/v1/namespaces/ml-prod/pods/web-7d4b9c-x0k2p/eviction",
         {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web-7d4b9c-x0k2p", "namespace": "ml-prod"}},
         "application/json"),
        ("POST", "/api/v1/namespaces/ml-dev/pods",
         {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "fresh"},
          "spec": {"containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}},
         "application/json"),
        ("POST", "/apis/apps/v1/namespaces/ml-dev/deployments?fieldValidation=Strict",
         {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "fresh"},
          "spec": {"selector": {"matchLabels": {"a": "b"}},
                   "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}},
         "application/json"),
        ("PATCH", "/apis/autoscaling/v2/namespaces/ml-prod/horizontalpodautoscalers/web",
         [{"op": "replace", "path": "/spec/maxReplicas", "value": 12}], "application/json-patch+json"),
    ]
    for method, path, body, ct in steps:
        code, doc, _ = http.request(method, path, body=body, content_type=ct)
        assert code in (200, 201), (path, doc)
        if doc.get("kind") not in ("Status",):
            _validate(doc)
    _served_everything(http)


def test_scale_and_access_review_documents_validate(http):
    code, scale, _ = http.get("/apis/apps/v1/namespaces/ml-dev/statefulsets/notebook/scale")
    assert code == 200
    _validate(scale)
    code, review, _ = http.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                                   body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                                         "spec": {"resourceAttributes": {"verb": "patch", "resource": "nodes"}}})
    assert code == 201
    _validate(review)
