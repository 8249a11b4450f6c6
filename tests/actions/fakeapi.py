"""A tiny in-memory stand-in for conn (the data layer's KubeConnection) for unit tests of the
planning logic: GET / PATCH (merge semantics, resourceVersion precondition, dryRun=All),
POST eviction and SelfSubjectAccessReview. Integration tests use the real simulator over HTTP."""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from kubewatch_ml.errors import UserError


class FakeReadOnly(UserError):
    pass


@dataclass
class Resp:
    status: int
    body: bytes
    headers: dict = field(default_factory=dict)


def _merge(target, patch):
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


def _status(code, msg):
    return Resp(code, json.dumps({"kind": "Status", "status": "Failure", "message": msg, "code": code}).encode())


class FakeConn:
    def __init__(self, readonly=False, allowed=True):
        self.objects: dict[str, dict] = {}
        self.rv = 100
        self.readonly = readonly
        self.allowed = allowed
        self.requests: list[tuple[str, str, dict, bytes | None]] = []
        self.evict_429 = {}  # pod path -> number of 429s before success
        self.on_request = None

    def put(self, path, obj):
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
        self.objects[path] = obj
        return obj

    def writes(self):
        return [r for r in self.requests if r[0] != "GET" and (r[2] or {}).get("dryRun") != "All"]

    def request(self, method, path, params=None, body=None, content_type=None, headers=None, timeout=None):
        if self.readonly and method not in ("GET", "HEAD"):
            raise FakeReadOnly("read-only mode: refusing " + method)
        self.requests.append((method, path, dict(params or {}), body))
        if self.on_request:
            self.on_request(method, path)
        doc = json.loads(body) if body else None
        if path.endswith("selfsubjectaccessreviews"):
            doc["status"] = {"allowed": self.allowed, "reason": "" if self.allowed else "no RBAC rule"}
            return Resp(201, json.dumps(doc).encode())
        if method == "GET" and path == "/api/v1/pods":
            node = params["fieldSelector"].split("=", 1)[1]
            items = [o for p, o in self.objects.items() if "/pods/" in p and o["spec"].get("nodeName") == node]
            return Resp(200, json.dumps({"items": items, "metadata": {}}).encode())
        if method == "GET" and path.endswith(("horizontalpodautoscalers", "poddisruptionbudgets")):
            items = [o for p, o in self.objects.items() if p.startswith(path + "/")]
            return Resp(200, json.dumps({"items": items, "metadata": {}}).encode())
        if method == "POST" and path.endswith("/eviction"):
            pod = path[: -len("/eviction")]
            if pod not in self.objects:
                return _status(404, "pod not found")
            if self.evict_429.get(pod, 0) > 0:
                self.evict_429[pod] -= 1
                return _status(429, "Cannot evict pod as it would violate the pod's disruption budget.")
            del self.objects[pod]
            return Resp(201, json.dumps({"kind": "Status", "status": "Success"}).encode())
        scale = path.endswith("/scale")
        base = path[: -len("/scale")] if scale else path
        obj = self.objects.get(base)
        if obj is None:
            return _status(404, f"{base.rsplit('/', 1)[-1]} not found")
        if method == "GET":
            return Resp(200, json.dumps(obj).encode())
        if method == "PATCH":
            want = ((doc or {}).get("metadata") or {}).get("resourceVersion")
            if want and want != obj["metadata"]["resourceVersion"]:
                return _status(409, "the object has been modified; please apply your changes to the latest version and try again")
            new = _merge(obj, doc)
            if (params or {}).get("dryRun") == "All":
                new["metadata"]["resourceVersion"] = obj["metadata"]["resourceVersion"]
                return Resp(200, json.dumps(new if not scale else {"spec": new["spec"]}).encode())
            new = self.put(base, new)
            return Resp(200, json.dumps(new if not scale else {"spec": new["spec"]}).encode())
        return _status(405, "method not allowed")


def node(name, labels=None, taints=None, unschedulable=False):
    spec = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {"kind": "Node", "metadata": {"name": name, "labels": labels or {}}, "spec": spec}
