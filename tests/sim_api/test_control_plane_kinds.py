"""The kinds served for the in-cluster deployment (serviceaccounts, persistentvolumeclaims, cronjobs,
clusterroles, clusterrolebindings, leases): RBAC per identity, validation with the real messages, defaulting,
and what is served validates strictly."""
from __future__ import annotations

import kubernetes_validate

from simapi_support import RO, VIEWER

RBAC = "/apis/rbac.authorization.k8s.io/v1"
PVCS = "/api/v1/namespaces/ml-dev/persistentvolumeclaims"


def _validate(doc: dict) -> None:
    kubernetes_validate.validate(doc, "1.32", strict=True)


def test_viewer_reads_them_readonly_role_does_not_and_only_admin_writes(http):
    for path in ("/apis/coordination.k8s.io/v1/leases", "/api/v1/serviceaccounts", RBAC + "/clusterroles",
                 "/apis/batch/v1/cronjobs", "/api/v1/persistentvolumeclaims"):
        assert http.get(path, token=VIEWER)[0] == 200, path
        code, doc, _ = http.get(path, token=RO)  # the shipped role grants exactly what the product reads
        assert code == 403 and doc["reason"] == "Forbidden" and 'User "readonly-role" cannot list' in doc["message"]
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot"}}
    code, doc, _ = http.request("POST", "/api/v1/namespaces/ml-dev/serviceaccounts", body=sa, token=VIEWER)
    assert code == 403 and doc["message"] == ('serviceaccounts is forbidden: User "viewer" cannot create resource '
                                              '"serviceaccounts" in API group "" in the namespace "ml-dev"')
    code, doc, _ = http.request("POST", "/api/v1/namespaces/ml-dev/serviceaccounts", body=sa)
    assert code == 201 and doc["metadata"]["uid"]
    _validate(doc)


def test_pvc_is_bound_on_create_and_its_spec_immutable(http):
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}}
    code, doc, _ = http.request("POST", PVCS, body=pvc)
    assert code == 201, doc
    assert doc["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "5Gi"}}
    assert doc["spec"]["volumeName"] == f'pvc-{doc["metadata"]["uid"]}' and doc["spec"]["storageClassName"] == "standard"
    _validate(doc)
    code, doc, _ = http.request("PATCH", PVCS + "/data", body={"spec": {"resources": {"requests": {"storage": "8Gi"}}}},
                                content_type="application/merge-patch+json")
    assert code == 200 and doc["spec"]["resources"]["requests"]["storage"] == "8Gi"  # expansion is allowed
    code, doc, _ = http.request("PATCH", PVCS + "/data", body={"spec": {"storageClassName": "fast"}},
                                content_type="application/merge-patch+json")
    assert code == 422 and "spec: Forbidden: spec is immutable after creation" in doc["message"]
    assert http.get(PVCS + "/data")[1]["spec"]["storageClassName"] == "standard"
    bad = dict(pvc, metadata={"name": "nomodes"}, spec={"resources": {"requests": {"storage": "1Gi"}}})
    code, doc, _ = http.request("POST", PVCS, body=bad)
    assert code == 422 and doc["details"]["causes"][0]["field"] == "spec.accessModes"
    assert http.get(PVCS + "/nomodes")[0] == 404


def test_rbac_objects_validate_names_and_role_refs(http):
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "team:reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    code, doc, _ = http.request("POST", RBAC + "/clusterroles", body=role)
    assert code == 201 and "namespace" not in doc["metadata"]  # RBAC names may hold ':'
    _validate(doc)
    code, doc, _ = http.request("POST", RBAC + "/clusterroles", body=dict(role, metadata={"name": "a%b"}))
    assert code == 422 and "may not contain '%'" in doc["message"]
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "team-reader"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "team:reader"},
               "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "ml-dev"}]}
    code, doc, _ = http.request("POST", RBAC + "/clusterrolebindings", body=binding)
    assert code == 201
    _validate(doc)
    code, doc, _ = http.request("PATCH", RBAC + "/clusterrolebindings/team-reader",
                                body={"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                  "name": "cluster-admin"}},
                                content_type="application/merge-patch+json")
    assert code == 422 and "cannot change roleRef" in doc["message"]
    bad = dict(binding, metadata={"name": "x"}, subjects=[{"kind": "ServiceAccount", "name": "bot"}])
    code, doc, _ = http.request("POST", RBAC + "/clusterrolebindings", body=bad)
    assert code == 422 and doc["details"]["causes"][0]["field"] == "subjects[0].namespace"


def test_cronjob_defaults_and_schedule_validation(http):
    cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
          "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
              "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}}
    code, doc, _ = http.request("POST", "/apis/batch/v1/namespaces/ml-dev/cronjobs", body=cj)
    assert code == 201
    assert (doc["spec"]["concurrencyPolicy"], doc["spec"]["suspend"], doc["spec"]["successfulJobsHistoryLimit"],
            doc["spec"]["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    _validate(doc)
    code, doc, _ = http.request("POST", "/apis/batch/v1/namespaces/ml-dev/cronjobs",
                                body=dict(cj, metadata={"name": "bad"}, spec=dict(cj["spec"], schedule="every day")))
    assert code == 422 and doc["details"]["causes"][0]["field"] == "spec.schedule"
