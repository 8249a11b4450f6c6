"""Discovery documents: /version, /api, /apis, and each group/version's APIResourceList."""
from __future__ import annotations

import hashlib
import re
from typing import Any

from .kinds import KINDS, KindInfo

Obj = dict[str, Any]

# Served only to say "no" (403 for all but admin, an empty list for admin): never stored.
SECRETS = KindInfo("secrets", "Secret", "", "v1", True, "secret", (), ("create", "delete", "deletecollection", "get",
                                                                       "list", "patch", "update", "watch"))

# `kubectl auth can-i --list` asks for the rules it has.
RULES_REVIEWS = KindInfo("selfsubjectrulesreviews", "SelfSubjectRulesReview", "authorization.k8s.io", "v1", False,
                         "selfsubjectrulesreview", (), ("create",))

SUBRESOURCES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    # name -> (group, version, kind, verbs); "" group/version = same as the parent
    "status": ("", "", "", ("get", "patch", "update")),
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "proxy": ("", "", "ServiceProxyOptions", ("create", "delete", "get", "patch", "update")),
    "log": ("", "", "Pod", ("get",)),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ("create",)),
}
# Subresources served beyond kinds.py's table (kept here so the shared table stays as it is).
EXTRA_SUBRESOURCES: dict[str, tuple[str, ...]] = {"pods": ("log",)}


def subresources(info: KindInfo) -> tuple[str, ...]:
    return info.subresources + EXTRA_SUBRESOURCES.get(info.resource, ())


def version_info(git_version: str) -> Obj:
    m = re.match(r"v?(\d+)\.(\d+)", git_version)
    major, minor = (m.group(1), m.group(2)) if m else ("1", "32")
    return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
            "gitVersion": git_version, "gitCommit": hashlib.sha1(git_version.encode()).hexdigest(),
            "gitTreeState": "clean", "buildDate": "2025-04-22T16:03:33Z", "goVersion": "go1.23.6",
            "compiler": "gc", "platform": "linux/amd64"}


# `kubectl auth whoami`.
SELF_REVIEWS = KindInfo("selfsubjectreviews", "SelfSubjectReview", "authentication.k8s.io", "v1", False,
                        "selfsubjectreview", (), ("create",))


def served_kinds() -> tuple[KindInfo, ...]:
    return KINDS + (SECRETS, RULES_REVIEWS, SELF_REVIEWS)


def group_versions() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k in served_kinds():
        out.setdefault(k.group, [])
        if k.version not in out[k.group]:
            out[k.group].append(k.version)
    return out


def api_versions(server_address: str) -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group(name: str) -> Obj | None:
    versions = group_versions().get(name)
    if not name or not versions:
        return None
    vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": vs, "preferredVersion": vs[0]}


def api_group_list() -> Obj:
    groups = [api_group(g) for g in group_versions() if g]
    for g in groups:
        g.pop("kind")
        g.pop("apiVersion")
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(group: str, version: str) -> Obj | None:
    kinds = [k for k in served_kinds() if k.group == group and k.version == version]
    if not kinds:
        return None
    gv = f"{group}/{version}" if group else version
    resources: list[Obj] = []
    for k in kinds:
        r: Obj = {"name": k.resource, "singularName": k.singular, "namespaced": k.namespaced, "kind": k.kind,
                  "verbs": list(k.verbs),
                  "storageVersionHash": hashlib.sha256(f"{gv}/{k.kind}".encode()).hexdigest()[:12]}
        if k.short_names:
            r["shortNames"] = list(k.short_names)
        if k.categories:
            r["categories"] = list(k.categories)
        resources.append(r)
        for sub in subresources(k):
            g, v, kind, verbs = SUBRESOURCES[sub]
            s: Obj = {"name": f"{k.resource}/{sub}", "singularName": "", "namespaced": k.namespaced,
                      "kind": kind or k.kind, "verbs": list(verbs)}
            if g:
                s["group"], s["version"] = g, v
            resources.append(s)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def lookup(group: str, version: str, resource: str) -> KindInfo | None:
    for k in served_kinds():
        if k.group == group and k.version == version and k.resource == resource:
            return k
    return None


# --- OpenAPI v3: just enough for kubectl to see that PATCH takes fieldValidation (server-side
# validation), so `kubectl create/apply -f` need no client-side schema. No component schemas.
def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_index() -> Obj:
    paths = {}
    for group, versions in group_versions().items():
        for v in versions:
            p = _gv_path(group, v)
            h = hashlib.sha512(p.encode()).hexdigest()[:64].upper()
            paths[p] = {"serverRelativeURL": f"/openapi/v3/{p}?hash={h}"}
    return {"paths": paths}


def openapi_v3_group_version(group: str, version: str) -> Obj | None:
    kinds = [k for k in served_kinds() if k.group == group and k.version == version]
    if not kinds:
        return None
    base = "/" + _gv_path(group, version)
    query = [{"name": n, "in": "query", "description": n, "schema": {"type": "string", "uniqueItems": True}}
             for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
    paths: Obj = {}
    for k in kinds:
        if "patch" not in k.verbs:
            continue
        item = f"{base}/namespaces/{{namespace}}/{k.resource}/{{name}}" if k.namespaced else f"{base}/{k.resource}/{{name}}"
        paths[item] = {"patch": {
            "operationId": f"patch{k.kind}", "parameters": query,
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {"group": k.group, "version": k.version, "kind": k.kind},
            "responses": {"200": {"description": "OK"}}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.4"}, "paths": paths,
            "components": {"schemas": {}}}
