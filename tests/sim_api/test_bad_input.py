"""Bad input gets the Status a real API server returns (code, reason, message, causes) and the
simulator's state does not change."""
from __future__ import annotations

import pytest

from simapi_support import RO, VIEWER

NODE = "/api/v1/nodes/gpu-a-1"
DEPLOY = "/apis/apps/v1/namespaces/ml-prod/deployments/web"
MERGE, SMP, JSONP = "application/merge-patch+json", "application/strategic-merge-patch+json", "application/json-patch+json"


@pytest.fixture
def unchanged(store):
    """Asserts, after the test body, that no write reached the store."""
    rv = store.resource_version
    node, deploy = store.get("nodes", "", "gpu-a-1"), store.get("deployments", "ml-prod", "web")
    yield
    assert store.resource_version == rv
    assert store.get("nodes", "", "gpu-a-1") is node
    assert store.get("deployments", "ml-prod", "web") is deploy


def _status(doc, code, reason):
    assert doc["kind"] == "Status" and doc["apiVersion"] == "v1" and doc["status"] == "Failure", doc
    assert doc["code"] == code and doc["reason"] == reason, doc


@pytest.mark.parametrize("path", ["/api/v1/foos", "/apis/nope.example.com/v1/things", "/apis/apps/v1/pods",
                                  "/api/v1/namespaces/ml-prod/nodes", "/nothing/here",
                                  "/api/v1/nodes/gpu-a-1/bogus", "/apis/apps/v2/deployments"])
def test_unknown_path_or_kind(http, unchanged, path):
    code, doc, _ = http.get(path)
    assert code == 404
    _status(doc, 404, "NotFound")
    assert doc["message"] == "the server could not find the requested resource"


def test_unknown_object(http, unchanged):
    code, doc, _ = http.get("/api/v1/namespaces/ml-prod/pods/nope")
    _status(doc, 404, "NotFound")
    assert doc["message"] == 'pods "nope" not found'
    assert doc["details"] == {"name": "nope", "group": "", "kind": "pods"}
    code, doc, _ = http.request("PATCH", DEPLOY.replace("/web", "/nope"), body={"spec": {}}, content_type=MERGE)
    assert code == 404 and doc["message"] == 'deployments.apps "nope" not found'


@pytest.mark.parametrize("body,ct", [(b"{bad json", MERGE), (b"{bad json", SMP), (b"[{", JSONP),
                                     (b'{"op":"add"}', JSONP), (b'[{"op":"frobnicate","path":"/x"}]', JSONP),
                                     (b"[1, 2]", MERGE)])
def test_malformed_patch(http, unchanged, body, ct):
    code, doc, _ = http.request("PATCH", NODE, body=body, content_type=ct)
    assert code == 400
    _status(doc, 400, "BadRequest")


def test_json_patch_test_failure_is_422(http, unchanged, store):
    ops = [{"op": "test", "path": "/spec/unschedulable", "value": True},
           {"op": "add", "path": "/spec/unschedulable", "value": True}]
    code, doc, _ = http.request("PATCH", NODE, body=ops, content_type=JSONP)
    assert code == 422
    _status(doc, 422, "Invalid")
    assert "test failed" in doc["message"]
    code, doc, _ = http.request("PATCH", NODE, body=[{"op": "remove", "path": "/spec/nothere"}], content_type=JSONP)
    assert code == 422 and "missing" in doc["message"]


@pytest.mark.parametrize("labels,field,fragment", [
    ({"bad key!": "x"}, "metadata.labels", 'Invalid value: "bad key!": name part must consist of alphanumeric'),
    ({"ok": "-leading-dash"}, "metadata.labels", 'Invalid value: "-leading-dash": a valid label must be an empty string'),
    ({"ok": "v" * 64}, "metadata.labels", "must be no more than 63 characters"),
    ({"k" * 64: "v"}, "metadata.labels", "name part must be no more than 63 characters"),
    ({"Bad_Prefix.io/k": "v"}, "metadata.labels", "prefix part a lowercase RFC 1123 subdomain"),
])
def test_invalid_label(http, unchanged, labels, field, fragment):
    code, doc, _ = http.request("PATCH", NODE, body={"metadata": {"labels": labels}}, content_type=MERGE)
    assert code == 422
    _status(doc, 422, "Invalid")
    assert doc["message"].startswith('Node "gpu-a-1" is invalid: metadata.labels: ')
    assert fragment in doc["message"]
    assert doc["details"]["name"] == "gpu-a-1" and doc["details"]["kind"] == "Node"
    cause = doc["details"]["causes"][0]
    assert cause["reason"] == "FieldValueInvalid" and cause["field"] == field and fragment in cause["message"]


def test_invalid_taint_effect(http, unchanged):
    body = {"spec": {"taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoScheduleX"}]}}
    code, doc, _ = http.request("PATCH", NODE, body=body, content_type=SMP)
    assert code == 422
    assert doc["details"]["causes"] == [{
        "reason": "FieldValueNotSupported", "field": "spec.taints[0].effect",
        "message": 'Unsupported value: "NoScheduleX": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'}]


def test_negative_replicas(http, unchanged):
    code, doc, _ = http.request("PATCH", DEPLOY, body={"spec": {"replicas": -1}}, content_type=MERGE)
    assert code == 422
    assert doc["message"] == ('Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: '
                              'must be greater than or equal to 0')
    assert doc["details"]["group"] == "apps"
    code, doc, _ = http.request("PATCH", DEPLOY + "/scale", body={"spec": {"replicas": -3}}, content_type=MERGE)
    assert code == 422
    assert doc["message"] == ('Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -3: '
                              'must be greater than or equal to 0')


def test_wrong_resource_version_conflicts(http, unchanged):
    body = {"metadata": {"resourceVersion": "1", "labels": {"a": "b"}}}
    code, doc, _ = http.request("PATCH", NODE, body=body, content_type=MERGE)
    assert code == 409
    _status(doc, 409, "Conflict")
    assert doc["message"] == ('Operation cannot be fulfilled on nodes "gpu-a-1": the object has been modified; '
                              'please apply your changes to the latest version and try again')
    code, doc, _ = http.request("PATCH", DEPLOY + "/scale",
                                body={"metadata": {"resourceVersion": "7"}, "spec": {"replicas": 4}}, content_type=MERGE)
    assert code == 409


def test_immutable_fields(http, unchanged, store):
    code, doc, _ = http.request("PATCH", NODE, body={"metadata": {"uid": "other"}}, content_type=MERGE)
    assert code == 422 and doc["details"]["causes"][0]["field"] == "metadata.uid"
    assert "field is immutable" in doc["message"]
    code, doc, _ = http.request("PATCH", NODE, body={"metadata": {"name": "renamed"}}, content_type=MERGE)
    assert code == 422 and doc["details"]["causes"][0]["field"] == "metadata.name"
    obj = dict(store.get("nodes", "", "gpu-a-1"))
    obj["metadata"] = dict(obj["metadata"], name="other-node")
    code, doc, _ = http.request("PUT", NODE, body=obj)
    assert code == 400 and "does not match the name on the URL" in doc["message"]


def test_dry_run_validates_and_returns_without_storing(http, unchanged):
    code, doc, _ = http.request("PATCH", NODE + "?dryRun=All&fieldManager=kubewatch-ml",
                                body={"spec": {"unschedulable": True}}, content_type=SMP)
    assert code == 200 and doc["spec"]["unschedulable"] is True
    code, doc, _ = http.request("PATCH", NODE + "?dryRun=All", body={"metadata": {"labels": {"x!": "y"}}},
                                content_type=MERGE)
    assert code == 422
    code, doc, _ = http.request("PATCH", DEPLOY + "/scale?dryRun=All", body={"spec": {"replicas": 9}}, content_type=MERGE)
    assert code == 200 and doc["spec"]["replicas"] == 9


def test_unsupported_media_and_methods(http, unchanged):
    code, doc, _ = http.request("PATCH", NODE, body=b"{}", content_type="application/x-unknown-patch")
    assert code == 415
    _status(doc, 415, "UnsupportedMediaType")
    code, doc, _ = http.request("PATCH", NODE, body=b"spec: {}", content_type="application/apply-patch+yaml")
    assert code == 422 and "fieldManager: Required value" in doc["message"]  # apply needs a field manager
    code, doc, _ = http.request("PATCH", NODE + "?fieldManager=me", body=b"spec: [", content_type="application/apply-patch+yaml")
    assert code == 400
    code, doc, _ = http.request("POST", "/api/v1/namespaces/ml-prod/services", body=b"k8s\x00\x0a\x00",
                                content_type="application/vnd.kubernetes.protobuf")
    assert code == 415
    code, doc, _ = http.request("POST", NODE, body={"kind": "Node"})
    assert code == 405
    _status(doc, 405, "MethodNotAllowed")
    code, doc, _ = http.request("DELETE", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x")
    assert code == 405
    code, doc, _ = http.request("PATCH", "/api/v1/nodes", body={"spec": {}}, content_type=MERGE)
    assert code == 405


def test_bad_create(http, unchanged, store):
    n = store.count("pods")
    code, doc, _ = http.request("POST", "/api/v1/namespaces/ml-prod/pods", body=b"{not json")
    assert code == 400
    _status(doc, 400, "BadRequest")
    code, doc, _ = http.request("POST", "/api/v1/nodes", body={"kind": "Node", "apiVersion": "v1",
                                                               "metadata": {"name": "gpu-a-1"}})
    assert code == 409 and doc["reason"] == "AlreadyExists" and doc["message"] == 'nodes "gpu-a-1" already exists'
    code, doc, _ = http.request("POST", "/api/v1/namespaces/ml-prod/pods",
                                body={"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "x", "namespace": "ml-dev"}})
    assert code == 400 and "does not match the namespace" in doc["message"]
    code, doc, _ = http.request("POST", "/api/v1/namespaces/ml-prod/pods",
                                body={"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "Not_A_Name"}})
    assert code == 422 and doc["details"]["causes"][0]["field"] == "metadata.name"
    code, doc, _ = http.request("POST", "/api/v1/namespaces/no-such-ns/pods",
                                body={"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "x"}})
    assert code == 404 and doc["message"] == 'namespaces "no-such-ns" not found'
    assert store.count("pods") == n


def test_bad_selectors(http, unchanged):
    code, doc, _ = http.get("/api/v1/pods?fieldSelector=spec.bogus%3Dx")
    assert code == 400
    assert doc["message"] == ('Unable to find "/v1, Resource=pods" that match label selector "", field selector '
                              '"spec.bogus=x": field label not supported: spec.bogus')
    code, doc, _ = http.get("/api/v1/pods?labelSelector=a%20in%20(b")
    assert code == 400 and doc["reason"] == "BadRequest"
    code, doc, _ = http.get("/api/v1/pods?limit=2&continue=notatoken")
    assert code == 400 and "continue key is not valid" in doc["message"]


def test_authentication_and_authorization(http, unchanged):
    code, doc, _ = http.get("/api/v1/nodes", token=None)
    assert code == 401
    assert doc == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    code, doc, _ = http.get("/api/v1/nodes", token="wrong")
    assert code == 401
    assert http.get("/version", token=None)[0] == 200 and http.get("/version", token="wrong")[0] == 401
    code, doc, _ = http.request("PATCH", NODE, body={"spec": {"unschedulable": True}}, content_type=SMP, token=VIEWER)
    assert code == 403
    _status(doc, 403, "Forbidden")
    assert doc["message"] == ('nodes "gpu-a-1" is forbidden: User "viewer" cannot patch resource "nodes" in API '
                              'group "" at the cluster scope')
    assert doc["details"] == {"name": "gpu-a-1", "group": "", "kind": "nodes"}
    code, doc, _ = http.request("PATCH", DEPLOY + "/scale", body={"spec": {"replicas": 1}}, content_type=MERGE, token=RO)
    assert code == 403
    assert doc["message"] == ('deployments.apps "web" is forbidden: User "readonly-role" cannot patch resource '
                              '"deployments/scale" in API group "apps" in the namespace "ml-prod"')
    code, doc, _ = http.request("POST", "/api/v1/namespaces/ml-prod/pods/web-7d4b9c-x0k2p/eviction",
                                body={"kind": "Eviction", "apiVersion": "policy/v1",
                                      "metadata": {"name": "web-7d4b9c-x0k2p", "namespace": "ml-prod"}}, token=VIEWER)
    assert code == 403 and 'cannot create resource "pods/eviction"' in doc["message"]


def _pod(name, cpu=None, gpu=0):
    res = {}
    if cpu:
        res = {"requests": {"cpu": cpu, "memory": "1Gi"}, "limits": {"memory": "1Gi"}}
    if gpu:
        res.setdefault("requests", {})["nvidia.com/gpu"] = str(gpu)
        res.setdefault("limits", {})["nvidia.com/gpu"] = str(gpu)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "x", "resources": res}]}}


def test_quota_admission_refuses_and_charges(http, store):
    path = "/api/v1/namespaces/ml-prod/pods"
    before = store.resource_version
    code, doc, _ = http.request("POST", path, body=_pod("big", cpu="7"))  # used 1500m of 8
    assert code == 403
    assert doc["message"] == ('pods "big" is forbidden: exceeded quota: compute, requested: requests.cpu=7, '
                              'used: requests.cpu=1500m, limited: requests.cpu=8')
    code, doc, _ = http.request("POST", path, body=_pod("gpus", cpu="1", gpu=5))
    assert code == 403 and "requested: requests.nvidia.com/gpu=5" in doc["message"]
    code, doc, _ = http.request("POST", path, body=_pod("bare"))
    assert code == 403 and doc["message"] == ('pods "bare" is forbidden: failed quota: compute: must specify '
                                              'limits.memory,requests.cpu,requests.memory')
    assert store.resource_version == before and store.get("pods", "ml-prod", "big") is None
    code, doc, _ = http.request("POST", path + "?dryRun=All", body=_pod("fits", cpu="2", gpu=1))
    assert code == 201 and store.resource_version == before
    code, doc, _ = http.request("POST", path, body=_pod("fits", cpu="2", gpu=1))
    assert code == 201
    used = store.get("resourcequotas", "ml-prod", "compute")["status"]["used"]
    assert used["requests.cpu"] == "3500m" and used["requests.nvidia.com/gpu"] == "1" and used["requests.memory"] == "4Gi"


def test_limit_range_defaults_apply_to_api_pods(http, store):
    code, doc, _ = http.request("POST", "/api/v1/namespaces/ml-dev/pods", body=_pod("nb"))
    assert code == 201
    assert doc["spec"]["containers"][0]["resources"] == {"limits": {"memory": "2Gi"},
                                                         "requests": {"cpu": "250m", "memory": "512Mi"}}
    assert doc["status"] == {"phase": "Pending", "qosClass": "Burstable"}
    assert doc["spec"]["restartPolicy"] == "Always" and doc["spec"]["schedulerName"] == "default-scheduler"
    guaranteed = _pod("g")
    guaranteed["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert http.request("POST", "/api/v1/namespaces/ml-dev/pods", body=guaranteed)[1]["status"]["qosClass"] == "Guaranteed"
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    code, doc, _ = http.request("POST", "/apis/apps/v1/namespaces/ml-dev/deployments", body=dep)
    assert code == 201 and doc["spec"]["replicas"] == 1 and doc["metadata"]["generation"] == 1


def test_strict_field_validation_rejects_unknown_fields(http, unchanged, store, tmp_path):
    n = store.count("deployments")
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "typo"},
           "spec": {"replicaz": 2, "selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    code, doc, _ = http.request("POST", "/apis/apps/v1/namespaces/ml-dev/deployments?fieldValidation=Strict", body=dep)
    assert code == 400 and doc["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: '
                                              'strict decoding error: unknown field "spec.replicaz"')
    code, doc, _ = http.request("PATCH", NODE + "?fieldValidation=Strict",
                                body={"spec": {"taints": [{"key": "k", "effect": "NoSchedule", "colour": "red"}]}},
                                content_type=SMP)
    assert code == 400 and doc["message"] == 'strict decoding error: unknown field "spec.taints[0].colour"'
    assert store.count("deployments") == n
