"""Who may do what on the simulated cluster: bearer tokens map to identities, identities to RBAC-style
rules. "admin" may do everything; "viewer" reads everything it can see; "readonly-role" is exactly the
read-only ClusterRole the product ships for its in-cluster snapshot CronJob (READONLY_CLUSTERROLE_RULES).
Secrets are never readable except by admin (the simulator serves none anyway)."""
from __future__ import annotations

from dataclasses import dataclass

from .kinds import KINDS, PRODUCT_READ, READ_VERBS

_PRODUCT_KINDS = tuple(k for k in KINDS if k.resource in PRODUCT_READ)
# The rules of the product's read-only ClusterRole, deploy/20-clusterrole.yaml (a test keeps them equal).
READONLY_CLUSTERROLE_RULES: tuple[dict, ...] = tuple(
    {"apiGroups": [group], "resources": sorted(k.resource for k in _PRODUCT_KINDS if k.group == group),
     "verbs": list(READ_VERBS)}
    for group in sorted({k.group for k in _PRODUCT_KINDS})
) + ({"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews"], "verbs": ["create"]},)

# Everyone authenticated may ask what they may do (system:basic-user in a real cluster).
_BASIC = ({"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
           "verbs": ["create"]},)
_VIEWER_RULES = ({"apiGroups": ["*"], "resources": ["*"], "verbs": list(READ_VERBS)},
                 {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get"]})

ROLES: dict[str, tuple[dict, ...]] = {
    "admin": ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},),
    "viewer": _VIEWER_RULES + _BASIC,
    "readonly-role": READONLY_CLUSTERROLE_RULES + _BASIC,
}


@dataclass(frozen=True)
class Identity:
    user: str
    role: str


def _match(values: list[str], value: str) -> bool:
    return "*" in values or value in values


def allowed(identity: Identity, verb: str, group: str, resource: str, subresource: str = "") -> bool:
    if identity.role != "admin" and resource == "secrets":
        return False  # no read-only identity ever sees secrets
    res = f"{resource}/{subresource}" if subresource else resource
    for rule in ROLES.get(identity.role, ()):
        if not _match(rule["verbs"], verb):
            continue
        if not _match(rule["apiGroups"], group):
            continue
        resources = rule["resources"]
        if "*" in resources and (not subresource or identity.role == "admin" or verb in READ_VERBS):
            return True
        if res in resources:
            return True
    return False


def forbidden_message(identity: Identity, verb: str, group: str, resource: str, subresource: str,
                      namespace: str, name: str) -> str:
    res = f"{resource}/{subresource}" if subresource else resource
    subject = f'{resource} "{name}"' if name else resource
    if group:
        subject = f'{resource}.{group} "{name}"' if name else f"{resource}.{group}"
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return (f'{subject} is forbidden: User "{identity.user}" cannot {verb} resource "{res}" '
            f'in API group "{group}" {where}')


def access_reason(identity: Identity, allowed_: bool) -> str:
    if identity.role == "admin":
        return 'RBAC: allowed by ClusterRoleBinding "sim-admin" of ClusterRole "cluster-admin" to User "admin"'
    if allowed_:
        return f'RBAC: allowed by ClusterRoleBinding "sim-{identity.role}" of ClusterRole "{identity.role}" to User "{identity.user}"'
    return ""
