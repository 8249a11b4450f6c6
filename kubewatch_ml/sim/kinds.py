"""The API kinds the simulator serves: group, version, resource, kind, scope, verbs, short names."""
from __future__ import annotations

from dataclasses import dataclass

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class KindInfo:
    resource: str  # plural, as in the URL
    kind: str
    group: str  # "" = core
    version: str
    namespaced: bool
    singular: str
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "scale", "eviction"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version


KINDS: tuple[KindInfo, ...] = (
    KindInfo("namespaces", "Namespace", "", "v1", False, "namespace", ("ns",), ("create", "delete", "get", "list", "patch", "update", "watch"), (), ("status",)),
    KindInfo("nodes", "Node", "", "v1", False, "node", ("no",), subresources=("status",)),
    KindInfo("pods", "Pod", "", "v1", True, "pod", ("po",), categories=("all",), subresources=("status", "eviction")),
    KindInfo("events", "Event", "", "v1", True, "event", ("ev",)),
    KindInfo("resourcequotas", "ResourceQuota", "", "v1", True, "resourcequota", ("quota",), subresources=("status",)),
    KindInfo("limitranges", "LimitRange", "", "v1", True, "limitrange", ("limits",)),
    KindInfo("services", "Service", "", "v1", True, "service", ("svc",), categories=("all",), subresources=("status", "proxy")),
    KindInfo("deployments", "Deployment", "apps", "v1", True, "deployment", ("deploy",), categories=("all",), subresources=("status", "scale")),
    KindInfo("replicasets", "ReplicaSet", "apps", "v1", True, "replicaset", ("rs",), categories=("all",), subresources=("status", "scale")),
    KindInfo("statefulsets", "StatefulSet", "apps", "v1", True, "statefulset", ("sts",), categories=("all",), subresources=("status", "scale")),
    KindInfo("daemonsets", "DaemonSet", "apps", "v1", True, "daemonset", ("ds",), categories=("all",), subresources=("status",)),
    KindInfo("jobs", "Job", "batch", "v1", True, "job", (), categories=("all",), subresources=("status",)),
    KindInfo("horizontalpodautoscalers", "HorizontalPodAutoscaler", "autoscaling", "v2", True, "horizontalpodautoscaler", ("hpa",), categories=("all",), subresources=("status",)),
    KindInfo("poddisruptionbudgets", "PodDisruptionBudget", "policy", "v1", True, "poddisruptionbudget", ("pdb",), subresources=("status",)),
    KindInfo("networkpolicies", "NetworkPolicy", "networking.k8s.io", "v1", True, "networkpolicy", ("netpol",)),
    KindInfo("selfsubjectaccessreviews", "SelfSubjectAccessReview", "authorization.k8s.io", "v1", False, "selfsubjectaccessreview", (), ("create",)),
    # What the in-cluster deployment (deploy/) and `kubectl describe node` need; the product reads none of them.
    KindInfo("serviceaccounts", "ServiceAccount", "", "v1", True, "serviceaccount", ("sa",), subresources=("token",)),
    KindInfo("persistentvolumeclaims", "PersistentVolumeClaim", "", "v1", True, "persistentvolumeclaim", ("pvc",), subresources=("status",)),
    KindInfo("cronjobs", "CronJob", "batch", "v1", True, "cronjob", ("cj",), categories=("all",), subresources=("status",)),
    KindInfo("clusterroles", "ClusterRole", "rbac.authorization.k8s.io", "v1", False, "clusterrole"),
    KindInfo("clusterrolebindings", "ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", False, "clusterrolebinding"),
    KindInfo("leases", "Lease", "coordination.k8s.io", "v1", True, "lease"),
)

# The kinds the product itself reads (kubewatch_ml/model.py RECORD_KINDS): what deploy/20-clusterrole.yaml grants.
PRODUCT_READ: tuple[str, ...] = (
    "namespaces", "nodes", "pods", "events", "resourcequotas", "limitranges", "services", "deployments",
    "replicasets", "statefulsets", "daemonsets", "jobs", "horizontalpodautoscalers", "poddisruptionbudgets",
    "networkpolicies")

BY_RESOURCE: dict[str, KindInfo] = {k.resource: k for k in KINDS}
BY_KIND: dict[str, KindInfo] = {k.kind: k for k in KINDS}
