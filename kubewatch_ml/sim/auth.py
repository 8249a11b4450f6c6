"""Who may do what on the simulated cluster: bearer tokens map to identities, identities to RBAC-style
rules. "admin" may do everything; "viewer" reads everything it can see; "readonly-role" is exactly the
read-only ClusterRole the product ships for its in-cluster snapshot CronJob (READONLY_CLUSTERROLE_RULES).
Secrets are never readable except by admin (the simulator serves none anyway)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
           "verbs": ["create"]},
          {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]})
_VIEWER_RULES = ({"apiGroups": ["*"], "resources": ["*"], "verbs": list(READ_VERBS)},
                 {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get"]})

BASIC_RULES = _BASIC  # ClusterRole system:basic-user, bound to system:authenticated

ROLES: dict[str, tuple[dict, ...]] = {
    "admin": ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},),
    "viewer": _VIEWER_RULES + _BASIC,
    "readonly-role": READONLY_CLUSTERROLE_RULES + _BASIC,
}


@dataclass(frozen=True)
class Identity:
    user: str
    role: str  # "admin" | "viewer" | "readonly-role" | "rbac" (rules from the stored bindings, in `grants`)
    # role "rbac": (binding name, cluster role name, subject as the reason names it, rules) per matching binding
    grants: tuple = ()


SA_TOKEN_PREFIX = "serviceaccount:"  # ApiServer.tokens value for a TokenRequest token: "serviceaccount:<ns>:<name>"


def service_account_identity(store: Any, namespace: str, name: str) -> Identity:
    """RBAC as a real API server evaluates it for a ServiceAccount: every stored ClusterRoleBinding whose
    subjects name the account (or its groups) grants its ClusterRole's rules, as they are now."""
    user = f"system:serviceaccount:{namespace}:{name}"
    groups = {"system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"}
    grants = []
    for b in store.list("clusterrolebindings")[0]:
        subjects = b.get("subjects") or []
        if not any((sub.get("kind") == "ServiceAccount" and sub.get("name") == name
                    and sub.get("namespace") == namespace)
                   or (sub.get("kind") == "User" and sub.get("name") == user)
                   or (sub.get("kind") == "Group" and sub.get("name") in groups) for sub in subjects):
            continue
        ref = b.get("roleRef") or {}
        role = store.get("clusterroles", "", ref.get("name", "")) if ref.get("kind") == "ClusterRole" else None
        if role is None:
            continue  # a binding to a missing role grants nothing
        rules = tuple(r for r in role.get("rules") or [] if r.get("resources") and not r.get("resourceNames"))
        grants.append((b["metadata"]["name"], role["metadata"]["name"], f'ServiceAccount "{namespace}/{name}"', rules))
    return Identity(user=user, role="rbac", grants=tuple(grants))


def rules_for(identity: Identity) -> tuple[dict, ...]:
    if identity.role == "rbac":
        return tuple(r for g in identity.grants for r in g[3])
    return ROLES.get(identity.role, ())


def _match(values: list[str], value: str) -> bool:
    return "*" in values or value in values


def allowed(identity: Identity, verb: str, group: str, resource: str, subresource: str = "") -> bool:
    if identity.role != "admin" and resource == "secrets":
        return False  # no read-only identity ever sees secrets
    return _allowed_by(rules_for(identity), identity.role, verb, group, resource, subresource)


def _allowed_by(rules: Any, role: str, verb: str, group: str, resource: str, subresource: str) -> bool:
    res = f"{resource}/{subresource}" if subresource else resource
    for rule in rules:
        if not _match(rule.get("verbs") or [], verb):
            continue
        if not _match(rule.get("apiGroups") or [], group):
            continue
        resources = rule.get("resources") or []
        if "*" in resources and (not subresource or role in ("admin", "rbac") or verb in READ_VERBS):
            return True
        if res in resources:
            return True
    return False


def granting_binding(identity: Identity, verb: str, group: str, resource: str, subresource: str = "") -> tuple | None:
    """The first grant (binding, role, subject, rules) that allows the request (role "rbac" only)."""
    for g in identity.grants:
        if _allowed_by(g[3], "rbac", verb, group, resource, subresource):
            return g
    return None


def forbidden_message(identity: Identity, verb: str, group: str, resource: str, subresource: str,
                      namespace: str, name: str) -> str:
    res = f"{resource}/{subresource}" if subresource else resource
    subject = f'{resource} "{name}"' if name else resource
    if group:
        subject = f'{resource}.{group} "{name}"' if name else f"{resource}.{group}"
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return (f'{subject} is forbidden: User "{identity.user}" cannot {verb} resource "{res}" '
            f'in API group "{group}" {where}')


def access_reason(identity: Identity, allowed_: bool, request: tuple = ()) -> str:
    if identity.role == "rbac":
        g = granting_binding(identity, *request) if allowed_ and request else None
        return f'RBAC: allowed by ClusterRoleBinding "{g[0]}" of ClusterRole "{g[1]}" to {g[2]}' if g else ""
    if identity.role == "admin":
        return 'RBAC: allowed by ClusterRoleBinding "sim-admin" of ClusterRole "cluster-admin" to User "admin"'
    if allowed_:
        return f'RBAC: allowed by ClusterRoleBinding "sim-{identity.role}" of ClusterRole "{identity.role}" to User "{identity.user}"'
    return ""
