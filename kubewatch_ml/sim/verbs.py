"""What each API verb does to the object store: create, update, patch, delete, the scale and eviction
subresources, and access reviews. Pure request -> (status, body); the HTTP layer lives in apiserver.py.
Every write is read-modify-write under the store lock and stores nothing when it fails."""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import orjson

from . import admission, auth
from .kinds import KindInfo
from .objects import ApiError, ObjectStore, not_found, rfc3339
from .patching import apply_patch, strategic_merge
from .selectors import selector_matches, selector_string
from .validation import reject_unknown_fields, validate, validate_scale

Obj = dict[str, Any]
PROTOBUF = "application/vnd.kubernetes.protobuf"
APPLY = "application/apply-patch+yaml"


@dataclass
class Call:
    store: ObjectStore
    info: KindInfo
    namespace: str
    name: str
    subresource: str
    params: dict[str, str]
    body: bytes
    content_type: str
    identity: auth.Identity
    on_write: Callable[[str, str, Obj], None] | None = None
    notes: dict = field(default_factory=dict)

    @property
    def dry_run(self) -> bool:
        return self.params.get("dryRun") == "All"

    def json_body(self) -> Any:
        if not self.body:
            raise ApiError(400, "BadRequest", "the server rejected our request due to an error in our request: "
                                              "request body is empty")
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as e:
            raise ApiError(400, "BadRequest", f"the server rejected our request due to an error in our request: "
                                              f"json parse error: {e}") from None

    def notify(self, verb: str, obj: Obj, resource: str | None = None) -> None:
        """Queue the on_write hook; `flush` runs it once the store lock is released (a hook may take
        its own locks, e.g. the dynamics' step lock, and must never wait inside ours)."""
        if self.on_write is not None and not self.dry_run:
            self.notes.setdefault("written", []).append((resource or self.info.resource, verb, obj))

    def flush(self) -> None:
        for resource, verb, obj in self.notes.pop("written", []):
            try:
                self.on_write(resource, verb, obj)
            except Exception:  # a faulty hook must not fail the write that already happened
                pass


def _qualified(info: KindInfo) -> str:
    return f"{info.resource}.{info.group}" if info.group else info.resource


def _bad(msg: str) -> ApiError:
    return ApiError(400, "BadRequest", msg)


def _check_type(call: Call, obj: Any) -> Obj:
    info = call.info
    if not isinstance(obj, dict):
        raise _bad(f"the object provided is unrecognized (must be of type {info.kind}): "
                   f"couldn't get version/kind; json parse error: cannot unmarshal into Go value of type struct")
    if obj.get("kind") not in (None, "", info.kind) or obj.get("apiVersion") not in (None, "", info.api_version):
        raise _bad(f'the API version in the data ({obj.get("apiVersion")}) does not match the expected API version '
                   f'({info.api_version})' if obj.get("kind") in (None, "", info.kind) else
                   f"the object provided is unrecognized (must be of type {info.kind}): {obj.get('kind')}")
    obj = dict(obj)
    obj["kind"], obj["apiVersion"] = info.kind, info.api_version
    md = dict(obj.get("metadata") or {})
    obj["metadata"] = md
    if info.namespaced:
        if md.get("namespace") and md["namespace"] != call.namespace:
            raise _bad("the namespace of the provided object does not match the namespace sent on the request")
        md["namespace"] = call.namespace
    else:
        md.pop("namespace", None)
    return obj


def _finish_update(call: Call, old: Obj, new: Obj) -> Obj:
    """Server-owned fields survive an update; status changes only through /status (and vice versa)."""
    new = dict(new)
    md = dict(new.get("metadata") or {})
    omd = old["metadata"]
    validate(call.info, dict(new, metadata=md), old)
    for f in ("uid", "creationTimestamp", "namespace", "name", "generation"):
        if f in omd:
            md[f] = omd[f]
    md.setdefault("resourceVersion", omd["resourceVersion"])
    new["metadata"] = md
    if "status" in call.info.subresources:
        if call.subresource == "status":
            new = dict(old, status=new.get("status"), metadata=dict(omd, **{k: v for k, v in md.items()
                                                                             if k in ("labels", "annotations")}))
            if new.get("status") is None:
                new.pop("status")
        elif "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)
    if call.subresource != "status" and new.get("spec") != old.get("spec") and "generation" in omd:
        new["metadata"] = dict(new["metadata"], generation=int(omd["generation"]) + 1)
    new["kind"], new["apiVersion"] = call.info.kind, call.info.api_version
    return new


def _store_update(call: Call, old: Obj, new: Obj, verb: str) -> Obj:
    body_rv = (new.get("metadata") or {}).get("resourceVersion")
    new = _finish_update(call, old, new)
    if call.params.get("fieldValidation") == "Strict":
        reject_unknown_fields(call.info, new, verb)
    if body_rv and body_rv != old["metadata"]["resourceVersion"]:
        raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {_qualified(call.info)} "{call.name}": '
                                        "the object has been modified; please apply your changes to the latest "
                                        "version and try again",
                       {"name": call.name, "group": call.info.group, "kind": call.info.resource})
    if call.dry_run:
        return new
    new["metadata"] = dict(new["metadata"])
    stored = call.store.replace(call.info.resource, new, expect_rv=old["metadata"]["resourceVersion"])
    call.notify(verb, stored)
    return stored


def _existing(call: Call) -> Obj:
    old = call.store.get(call.info.resource, call.namespace if call.info.namespaced else "", call.name)
    if old is None:
        raise not_found(call.info.resource, call.name)
    return old


# --- verbs -----------------------------------------------------------------------------------------
def get(call: Call) -> tuple[int, Obj]:
    obj = _existing(call)
    if call.subresource == "scale":
        return 200, scale_of(call.info, obj)
    return 200, obj


def create(call: Call) -> tuple[int, Obj]:
    obj = _check_type(call, call.json_body())
    md = obj["metadata"]
    if not md.get("name") and md.get("generateName"):
        md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
    validate(call.info, obj)
    if call.params.get("fieldValidation") == "Strict":
        reject_unknown_fields(call.info, obj, "create")
    if call.info.namespaced and call.info.resource != "events":
        if call.store.get("namespaces", "", call.namespace) is None and call.store.count("namespaces"):
            raise ApiError(404, "NotFound", f'namespaces "{call.namespace}" not found',
                           {"name": call.namespace, "kind": "namespaces"})
    for f in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp"):
        md.pop(f, None)
    if "spec" in obj:
        md["generation"] = 1
    obj = _defaults(call.info, obj)
    md = obj["metadata"]
    with call.store.lock:
        key_ns = md.get("namespace", "")
        if call.store.get(call.info.resource, key_ns, md["name"]) is not None:
            raise ApiError(409, "AlreadyExists", f'{_qualified(call.info)} "{md["name"]}" already exists',
                           {"name": md["name"], "group": call.info.group, "kind": call.info.resource})
        quotas: list[Obj] = []
        if call.info.resource == "pods":
            obj = admission.apply_limit_ranges(call.store, obj)
            quotas = admission.charge_quotas(call.store, obj)
            if "qosClass" not in obj["status"]:
                obj["status"] = dict(obj["status"], qosClass=_qos_class(obj["spec"]))
        if call.dry_run:
            md = obj["metadata"]
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = rfc3339(call.store.now())
            return 201, obj
        stored = call.store.create(call.info.resource, copy.deepcopy(obj))
        for q in quotas:
            call.notify("update", call.store.replace("resourcequotas", q), "resourcequotas")
    call.notify("create", stored)
    return 201, stored


def _qos_class(spec: Obj) -> str:
    res = [(c.get("resources") or {}) for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in res):
        return "BestEffort"
    guaranteed = all(
        all((r.get("limits") or {}).get(k) and (r.get("requests") or {}).get(k, (r.get("limits") or {})[k]) ==
            (r.get("limits") or {})[k] for k in ("cpu", "memory")) for r in res)
    return "Guaranteed" if guaranteed else "Burstable"


def _defaults(info: KindInfo, obj: Obj) -> Obj:
    """The defaulting a real API server applies on create, for the fields readers rely on."""
    r = info.resource
    if r in ("deployments", "replicasets", "statefulsets") and isinstance(obj.get("spec"), dict):
        obj["spec"] = dict(obj["spec"])
        obj["spec"].setdefault("replicas", 1)
    elif r == "pods" and isinstance(obj.get("spec"), dict):
        spec = obj["spec"] = dict(obj["spec"])
        for k, v in (("restartPolicy", "Always"), ("schedulerName", "default-scheduler"), ("dnsPolicy", "ClusterFirst"),
                     ("terminationGracePeriodSeconds", 30), ("serviceAccountName", "default")):
            spec.setdefault(k, v)
        containers = []
        for c in spec.get("containers") or []:  # an unset request defaults to its limit
            lim = ((c.get("resources") or {}).get("limits")) or {}
            if lim:
                req = dict(lim, **((c["resources"].get("requests")) or {}))
                c = dict(c, resources=dict(c["resources"], requests=req))
            containers.append(c)
        spec["containers"] = containers
        obj["status"] = obj.get("status") or {"phase": "Pending"}  # qosClass once LimitRanger has run
    elif r == "namespaces":
        obj["status"] = obj.get("status") or {"phase": "Active"}
    elif r == "persistentvolumeclaims" and isinstance(obj.get("spec"), dict):
        # DefaultStorageClass admission, then a dynamic provisioner binds it at once (WaitForFirstConsumer aside)
        spec = obj["spec"] = dict(obj["spec"])
        spec.setdefault("storageClassName", "standard")
        spec.setdefault("volumeMode", "Filesystem")
        md = obj["metadata"]
        md["uid"] = str(uuid.uuid4())
        spec.setdefault("volumeName", f'pvc-{md["uid"]}')
        md["finalizers"] = list(md.get("finalizers") or []) + (
            [] if "kubernetes.io/pvc-protection" in (md.get("finalizers") or []) else ["kubernetes.io/pvc-protection"])
        md["annotations"] = dict(md.get("annotations") or {}, **{
            "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
            "volume.beta.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
            "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com"})
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        obj["status"] = {"phase": "Bound", "accessModes": list(spec.get("accessModes") or []),
                         **({"capacity": {"storage": storage}} if storage else {})}
    elif r == "cronjobs" and isinstance(obj.get("spec"), dict):
        spec = obj["spec"] = dict(obj["spec"])
        for k, v in (("concurrencyPolicy", "Allow"), ("suspend", False), ("successfulJobsHistoryLimit", 3),
                     ("failedJobsHistoryLimit", 1)):
            spec.setdefault(k, v)
        obj["status"] = {}
    return obj


def update(call: Call) -> tuple[int, Obj]:
    body = call.json_body()
    with call.store.lock:
        old = _existing(call)
        if call.subresource == "scale":
            return 200, _scale_write(call, old, body, "update")
        new = _check_type(call, body)
        if new["metadata"].get("name") not in (None, call.name):
            raise _bad(f'the name of the object ({new["metadata"]["name"]}) does not match the name on the URL '
                       f'({call.name})')
        stored = _store_update(call, old, new, "update")
    return 200, stored


def patch(call: Call) -> tuple[int, Obj]:
    ct = call.content_type
    if ct == APPLY and not call.subresource:
        return server_side_apply(call)
    if ct not in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                  "application/json-patch+json"):
        apply_patch(ct, {}, {})  # raises the 415 with the accepted types
    try:
        body = orjson.loads(call.body)
    except orjson.JSONDecodeError as e:
        raise _bad(f"the server rejected our request due to an error in our request: error decoding patch: {e}") from None
    if ct != "application/json-patch+json" and not isinstance(body, dict):
        raise _bad("the server rejected our request due to an error in our request: "
                   "json: cannot unmarshal array into Go value of type map[string]interface {}")
    with call.store.lock:
        old = _existing(call)
        if call.subresource == "scale":
            patched = apply_patch(ct, scale_of(call.info, old), body)
            return 200, _scale_write(call, old, patched, "patch")
        patched = apply_patch(ct, old, body)
        if not isinstance(patched, dict):
            raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request: "
                                           "patched object is not an object")
        stored = _store_update(call, old, patched, "patch")
    return 200, stored


def server_side_apply(call: Call) -> tuple[int, Obj]:
    """`kubectl apply --server-side`, simplified: the applied config creates the object or is merged
    into it like a strategic merge patch (no per-field managers, so no apply conflicts)."""
    import yaml
    if not call.params.get("fieldManager"):
        raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                       'is required for apply patch',
                       {"group": "meta.k8s.io", "kind": "PatchOptions",
                        "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                                    "field": "fieldManager"}]})
    try:
        body = yaml.safe_load(call.body or b"")
    except yaml.YAMLError as e:
        raise _bad(f"error decoding YAML: {str(e).splitlines()[0]}") from None
    applied = _check_type(call, body)
    if applied["metadata"].get("name") not in (None, call.name):
        raise _bad(f'the name of the object ({applied["metadata"]["name"]}) does not match the name on the URL '
                   f'({call.name})')
    applied["metadata"]["name"] = call.name
    with call.store.lock:
        old = call.store.get(call.info.resource, call.namespace if call.info.namespaced else "", call.name)
        if old is None:
            sub = Call(call.store, call.info, call.namespace, call.name, "", call.params,
                       orjson.dumps(applied), "application/json", call.identity, call.on_write, call.notes)
            return create(sub)
        applied["metadata"].pop("resourceVersion", None)
        stored = _store_update(call, old, strategic_merge(old, applied), "patch")
    return 200, stored


def delete(call: Call) -> tuple[int, Obj]:
    opts: Obj = {}
    if call.body:
        try:
            opts = orjson.loads(call.body) or {}
        except orjson.JSONDecodeError as e:
            raise _bad(f"the server rejected our request due to an error in our request: {e}") from None
    if opts.get("dryRun") == ["All"]:
        call.params["dryRun"] = "All"
    with call.store.lock:
        old = _existing(call)
        pre = opts.get("preconditions") or {}
        if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {_qualified(call.info)} "{call.name}": '
                                            f'Precondition failed: ResourceVersion in precondition: '
                                            f'{pre["resourceVersion"]}, ResourceVersion in object meta: '
                                            f'{old["metadata"]["resourceVersion"]}',
                           {"name": call.name, "group": call.info.group, "kind": call.info.resource})
        if pre.get("uid") and pre["uid"] != old["metadata"].get("uid"):
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {_qualified(call.info)} "{call.name}": '
                                            f'Precondition failed: UID in precondition: {pre["uid"]}, '
                                            f'UID in object meta: {old["metadata"].get("uid")}',
                           {"name": call.name, "group": call.info.group, "kind": call.info.resource})
        if call.dry_run:
            gone = old
        else:
            gone = call.store.delete(call.info.resource, call.namespace if call.info.namespaced else "", call.name)
    call.notify("delete", gone)
    if call.info.resource == "pods":
        return 200, gone
    return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                 "details": {"name": call.name, "group": call.info.group, "kind": call.info.resource,
                             "uid": gone["metadata"].get("uid")}}


# --- scale -------------------------------------------------------------------------------------
def scale_of(info: KindInfo, obj: Obj) -> Obj:
    md, spec, st = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in md},
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": {"replicas": st.get("replicas", 0), "selector": selector_string(spec.get("selector"))}}


def _scale_write(call: Call, old: Obj, scale: Any, verb: str) -> Obj:
    if not isinstance(scale, dict):
        raise _bad("the object provided is unrecognized (must be of type Scale)")
    validate_scale(scale, call.name)
    replicas = (scale.get("spec") or {}).get("replicas")
    if replicas is None:
        replicas = 0
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    if rv and rv != old["metadata"]["resourceVersion"]:
        raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {_qualified(call.info)} "{call.name}": '
                                        "the object has been modified; please apply your changes to the latest "
                                        "version and try again",
                       {"name": call.name, "group": call.info.group, "kind": call.info.resource})
    new = dict(old, spec=dict(old.get("spec") or {}, replicas=replicas), metadata=dict(old["metadata"]))
    if new["spec"] != old.get("spec") and "generation" in old["metadata"]:
        new["metadata"]["generation"] = int(old["metadata"]["generation"]) + 1
    if call.dry_run:
        return scale_of(call.info, new)
    stored = call.store.replace(call.info.resource, new, expect_rv=old["metadata"]["resourceVersion"])
    call.notify(verb, stored)
    return scale_of(call.info, stored)


# --- eviction ------------------------------------------------------------------------------------
def evict(call: Call) -> tuple[int, Obj]:
    from .protobuf import decode_eviction
    body = decode_eviction(call.body) if call.content_type == PROTOBUF else call.json_body()
    if not isinstance(body, dict) or body.get("kind") not in (None, "Eviction", "DeleteOptions"):
        raise _bad("the object provided is unrecognized (must be of type Eviction)")
    bname = (body.get("metadata") or {}).get("name")
    if bname and bname != call.name:
        raise _bad(f"name in URL does not match name in Eviction object")
    opts = body.get("deleteOptions") or {}
    dry = call.dry_run or opts.get("dryRun") == ["All"]
    store = call.store
    with store.lock:
        pod = store.get("pods", call.namespace, call.name)
        if pod is None:
            raise not_found("pods", call.name)
        phase = (pod.get("status") or {}).get("phase")
        labels = pod["metadata"].get("labels") or {}
        pdbs = [] if phase in ("Succeeded", "Failed", "Pending") or pod["metadata"].get("deletionTimestamp") else [
            p for p in store.list("poddisruptionbudgets", call.namespace)[0]
            if (p.get("spec") or {}).get("selector") and selector_matches(p["spec"]["selector"], labels)]
        if len(pdbs) > 1:
            raise ApiError(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the "
                                                 "eviction subresource does not support.")
        if pdbs:
            pdb = pdbs[0]
            st = pdb.get("status") or {}
            if int(st.get("disruptionsAllowed", 0)) <= 0:
                call.notes["blocked_by"] = pdb["metadata"]["name"]
                raise ApiError(429, "TooManyRequests",
                               "Cannot evict pod as it would violate the pod's disruption budget.",
                               {"causes": [{"reason": "DisruptionBudget",
                                            "message": f'The disruption budget {pdb["metadata"]["name"]} needs '
                                                       f'{st.get("desiredHealthy", 0)} healthy pods and has '
                                                       f'{st.get("currentHealthy", 0)} currently'}]})
            if not dry:
                disrupted = dict(st.get("disruptedPods") or {})
                disrupted[call.name] = rfc3339(store.now())
                new_st = dict(st, disruptionsAllowed=int(st["disruptionsAllowed"]) - 1, disruptedPods=disrupted)
                new_pdb = dict(pdb, status=new_st, metadata=dict(pdb["metadata"]))
                call.notify("update", store.replace("poddisruptionbudgets", new_pdb), "poddisruptionbudgets")
        if not dry:
            gone = store.delete("pods", call.namespace, call.name)
    if not dry:
        call.notify("delete", gone)
    return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


# --- access reviews ------------------------------------------------------------------------------
def access_review(call: Call) -> tuple[int, Obj]:
    from .protobuf import decode_ssar
    review = decode_ssar(call.body) if call.content_type == PROTOBUF else call.json_body()
    if not isinstance(review, dict):
        raise _bad("the object provided is unrecognized (must be of type SelfSubjectAccessReview)")
    spec = review.get("spec") or {}
    ra, na = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if ra:
        ok = _allowed_any(call.identity, ra.get("verb", ""), ra.get("group", ""), ra.get("resource", ""),
                          ra.get("subresource", ""))
    elif na:
        ok = call.identity.role == "admin" or na.get("verb") == "get"
    else:
        raise ApiError(422, "Invalid", 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: '
                                       'spec.resourceAttributes: Invalid value: "null": exactly one of '
                                       'nonResourceAttributes or resourceAttributes must be specified',
                       {"group": "authorization.k8s.io", "kind": "SelfSubjectAccessReview",
                        "causes": [{"reason": "FieldValueInvalid", "field": "spec.resourceAttributes",
                                    "message": "exactly one of nonResourceAttributes or resourceAttributes must be specified"}]})
    status: Obj = {"allowed": ok}
    reason = auth.access_reason(call.identity, ok, (ra.get("verb", ""), ra.get("group", ""), ra.get("resource", ""),
                                                   ra.get("subresource", "")) if ra else ())
    if reason:
        status["reason"] = reason
    return 201, {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                 "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}


def _allowed_any(identity: auth.Identity, verb: str, group: str, resource: str, sub: str) -> bool:
    if resource == "*" or verb == "*":
        return identity.role == "admin"
    return auth.allowed(identity, verb, group, resource, sub)


def rules_review(call: Call) -> tuple[int, Obj]:
    from .protobuf import decode_ssrr
    review = decode_ssrr(call.body) if call.content_type == PROTOBUF else (call.json_body() if call.body else {})
    ns = ((review or {}).get("spec") or {}).get("namespace", "")
    rules = [{"verbs": r["verbs"], "apiGroups": r["apiGroups"], "resources": r["resources"]}
             for r in auth.rules_for(call.identity)]
    return 201, {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
                 "metadata": {"creationTimestamp": None}, "spec": {"namespace": ns},
                 "status": {"resourceRules": rules,
                            "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis",
                                                                                        "/apis/*", "/version"]}],
                            "incomplete": False}}


# --- serviceaccounts/token (TokenRequest: `kubectl create token`) ---------------------------------------
def token_request(call: Call, issue: Callable[[str, str, float], str]) -> tuple[int, Obj]:
    """A bound token for the ServiceAccount; `issue(namespace, name, expires_at)` registers it with the server."""
    _existing(call)  # 404 for an unknown ServiceAccount
    if call.content_type == PROTOBUF:
        from .protobuf import decode_token_request
        body = decode_token_request(call.body)
    else:
        body = call.json_body() if call.body else {}
    if not isinstance(body, dict):
        raise _bad("the object provided is unrecognized (must be of type TokenRequest)")
    spec = dict(body.get("spec") or {})
    seconds = spec.get("expirationSeconds", 3600)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 600:
        raise ApiError(422, "Invalid", 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: '
                                       f'Invalid value: {seconds}: may not specify a duration less than 10 minutes',
                       {"group": "authentication.k8s.io", "kind": "TokenRequest",
                        "causes": [{"reason": "FieldValueInvalid", "field": "spec.expirationSeconds",
                                    "message": "may not specify a duration less than 10 minutes"}]})
    expires = call.store.now() + seconds
    spec.setdefault("audiences", ["https://kubernetes.default.svc"])
    spec["expirationSeconds"] = seconds
    token = "" if call.dry_run else issue(call.namespace, call.name, expires)
    return 201, {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                 "metadata": {"name": call.name, "namespace": call.namespace, "creationTimestamp": None},
                 "spec": spec, "status": {"token": token, "expirationTimestamp": rfc3339(expires)}}


def self_subject_review(call: Call) -> tuple[int, Obj]:
    """`kubectl auth whoami`: who the request authenticated as."""
    ident = call.identity
    if ident.role == "rbac":
        ns = ident.user.split(":")[2] if ident.user.count(":") >= 3 else ""
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]
    else:
        groups = (["system:masters"] if ident.role == "admin" else []) + ["system:authenticated"]
    return 201, {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                 "metadata": {"creationTimestamp": None},
                 "status": {"userInfo": {"username": ident.user, "groups": groups}}}
