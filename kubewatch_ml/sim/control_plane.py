"""Objects every real cluster has besides the workloads: a ServiceAccount per namespace ("default") and per
pod identity, a node Lease per node in kube-node-lease (the kubelet's heartbeat; the NotReady node's stale),
and the RBAC objects behind the simulator's identities (cluster-admin, view, ...). Deterministic from the
seed, with their own random stream so the rest of the scenario is unchanged."""
from __future__ import annotations

import calendar
import random
import time
from typing import Any

from . import manifests as mf
from .auth import BASIC_RULES, ROLES

Obj = dict[str, Any]
NODE_LEASE_NS = "kube-node-lease"
LEASE_DURATION_S = 40  # kubelet: nodeLeaseDurationSeconds; renewed every 10 s (a quarter of it)


def micro_time(ts: float) -> str:
    """metav1.MicroTime as the API server writes it."""
    whole = int(ts)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int(round((ts - whole) * 1e6)) % 1000000:06d}Z"


def _ts(s: str | None, default: float) -> float:
    if not s:
        return default
    return float(calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")))


def node_lease(node: Obj, renew: float, uid: str) -> Obj:
    md = node["metadata"]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": md["name"], "namespace": NODE_LEASE_NS, "uid": uid,
                         "creationTimestamp": md.get("creationTimestamp"),
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": md["name"],
                                              "uid": md.get("uid", "")}]},
            "spec": {"holderIdentity": md["name"], "leaseDurationSeconds": LEASE_DURATION_S,
                     "renewTime": micro_time(renew)}}


def is_ready(node: Obj) -> bool:
    conds = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def service_account(ns: str, name: str, created: str, uid: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": ns, "uid": uid, "creationTimestamp": created}}


def _cluster_role(name: str, rules: list[Obj], created: str, uid: str, bootstrap: bool) -> Obj:
    md: Obj = {"name": name, "uid": uid, "creationTimestamp": created}
    if bootstrap:
        md["labels"] = {"kubernetes.io/bootstrapping": "rbac-defaults"}
        md["annotations"] = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": md,
            "rules": [dict(r) for r in rules]}


def _binding(name: str, role: str, subjects: list[Obj], created: str, uid: str, bootstrap: bool) -> Obj:
    md: Obj = {"name": name, "uid": uid, "creationTimestamp": created}
    if bootstrap:
        md["labels"] = {"kubernetes.io/bootstrapping": "rbac-defaults"}
        md["annotations"] = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": md,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subjects}


def add_control_plane(objects: dict[str, list[Obj]], seed: int, start: float) -> None:
    rng = random.Random(seed * 104729 + 17)
    namespaces = {n["metadata"]["name"]: n for n in objects.get("namespaces", ())}
    cluster_born = min((_ts(n["metadata"].get("creationTimestamp"), start) for n in namespaces.values()),
                       default=start - 400 * 86400)
    born = mf.rfc3339(cluster_born)
    # ServiceAccounts: "default" in every namespace, and each identity a pod runs as.
    wanted: dict[tuple[str, str], str] = {}
    for ns, n in namespaces.items():
        wanted[(ns, "default")] = n["metadata"].get("creationTimestamp") or born
    for pod in objects.get("pods", ()):
        ns = pod["metadata"]["namespace"]
        sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        if (ns, sa) not in wanted:
            wanted[(ns, sa)] = (namespaces.get(ns) or {}).get("metadata", {}).get("creationTimestamp") or born
    objects["serviceaccounts"] = [service_account(ns, name, created, mf.new_uid(rng))
                                  for (ns, name), created in sorted(wanted.items())]
    # Node leases: renewed within the last 10 s on Ready nodes; the NotReady node's stopped with its heartbeats.
    leases = []
    for node in objects.get("nodes", ()):
        if is_ready(node):
            renew = start - rng.uniform(0.0, 10.0)
        else:
            hb = [c.get("lastHeartbeatTime") for c in (node.get("status") or {}).get("conditions") or []]
            renew = _ts(min((h for h in hb if h), default=None), start - 600) + rng.uniform(0.0, 10.0)
        leases.append(node_lease(node, renew, mf.new_uid(rng)))
    objects["leases"] = leases
    # RBAC: the bootstrap roles kubectl users know, and the simulator's identities bound to theirs.
    view_rules = [dict(r) for r in ROLES["viewer"] if "*" in r["resources"]]
    roles = [("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                                {"nonResourceURLs": ["*"], "verbs": ["*"]}], True),
             ("admin", [{"apiGroups": ["", "apps", "batch", "autoscaling", "policy", "networking.k8s.io"],
                         "resources": ["*"], "verbs": ["*"]}], True),
             ("edit", [{"apiGroups": ["", "apps", "batch", "autoscaling", "policy", "networking.k8s.io"],
                        "resources": ["*"], "verbs": ["create", "delete", "deletecollection", "get", "list", "patch",
                                                      "update", "watch"]}], True),
             ("view", view_rules, True),
             ("system:basic-user", [dict(r) for r in BASIC_RULES], True),
             ("viewer", [dict(r) for r in ROLES["viewer"]], False),
             ("readonly-role", [dict(r) for r in ROLES["readonly-role"]], False)]
    objects["clusterroles"] = [_cluster_role(name, rules, born, mf.new_uid(rng), boot) for name, rules, boot in roles]
    group = "rbac.authorization.k8s.io"
    bindings = [("cluster-admin", "cluster-admin", [{"apiGroup": group, "kind": "Group", "name": "system:masters"}], True),
                ("system:basic-user", "system:basic-user",
                 [{"apiGroup": group, "kind": "Group", "name": "system:authenticated"}], True),
                ("sim-admin", "cluster-admin", [{"apiGroup": group, "kind": "User", "name": "admin"}], False),
                ("sim-viewer", "viewer", [{"apiGroup": group, "kind": "User", "name": "viewer"}], False),
                ("sim-readonly-role", "readonly-role", [{"apiGroup": group, "kind": "User", "name": "readonly-role"}],
                 False)]
    objects["clusterrolebindings"] = [_binding(name, role, subjects, born, mf.new_uid(rng), boot)
                                      for name, role, subjects, boot in bindings]
