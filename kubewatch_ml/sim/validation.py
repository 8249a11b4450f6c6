"""Write-time validation with the real API server's 422 Invalid messages and causes.
Covers what a dashboard's actions and a careless kubectl can get wrong: names, labels, annotations,
taints, replica counts, HPA bounds, and fields that cannot change after creation."""
from __future__ import annotations

import json
import re
from typing import Any

from .kinds import KindInfo
from .objects import ApiError

Obj = dict[str, Any]

_QNAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUB_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

QNAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
             "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
             "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                   "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_NAME_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                  "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                  "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# Kinds whose names must be DNS-1123 labels rather than subdomains.
LABEL_NAMED = {"namespaces", "services"}
# Kinds whose names need only be valid path segments (RBAC).
PATH_SEGMENT_NAMED = {"clusterroles", "clusterrolebindings"}
PVC_MUTABLE = ("resources", "volumeAttributesClassName")


class Errors:
    """An accumulating field.ErrorList."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []  # (reason, field, message)

    def invalid(self, field: str, value: Any, detail: str) -> None:
        self.items.append(("FieldValueInvalid", field, f"Invalid value: {_fmt(value)}: {detail}"))

    def required(self, field: str, detail: str = "") -> None:
        self.items.append(("FieldValueRequired", field, "Required value" + (f": {detail}" if detail else "")))

    def unsupported(self, field: str, value: Any, supported: tuple[str, ...]) -> None:
        opts = ", ".join(f'"{s}"' for s in supported)
        self.items.append(("FieldValueNotSupported", field, f"Unsupported value: {_fmt(value)}: supported values: {opts}"))

    def raise_for(self, info: KindInfo, name: str) -> None:
        if not self.items:
            return
        msgs = [f"{f}: {m}" for _, f, m in self.items]
        agg = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
        qual = f"{info.kind}.{info.group}" if info.group else info.kind
        raise ApiError(422, "Invalid", f'{qual} "{name}" is invalid: {agg}',
                       {"name": name, "group": info.group, "kind": info.kind,
                        "causes": [{"reason": r, "message": m, "field": f} for r, f, m in self.items]})


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def qualified_name_errors(key: str) -> list[str]:
    """Errors for a label/annotation/taint key: optional DNS-1123 subdomain prefix (<=253) + name (<=63)."""
    errs: list[str] = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        elif len(prefix) > 253:
            errs.append("prefix part must be no more than 253 characters")
        elif not _DNS1123_SUB_RE.match(prefix):
            errs.append("prefix part " + SUBDOMAIN_MSG)
    else:
        return ["a qualified name " + QNAME_MSG.split("name part ", 1)[1] +
                " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    elif not _QNAME_RE.match(name):
        errs.append(QNAME_MSG)
    return errs


def _check_labels(errs: Errors, labels: Any, field: str) -> None:
    if labels is None:
        return
    if not isinstance(labels, dict):
        errs.invalid(field, labels, "must be a map of string keys to string values")
        return
    for k, v in labels.items():
        for e in qualified_name_errors(k):
            errs.invalid(field, k, e)
        if not isinstance(v, str):
            errs.invalid(f"{field}[{k}]", v, "must be a string")
            continue
        if len(v) > 63:
            errs.invalid(field, v, "must be no more than 63 characters")
        elif not _LABEL_VALUE_RE.match(v):
            errs.invalid(field, v, LABEL_VALUE_MSG)


def _check_annotations(errs: Errors, ann: Any) -> None:
    if ann is None:
        return
    if not isinstance(ann, dict):
        errs.invalid("metadata.annotations", ann, "must be a map of string keys to string values")
        return
    for k, v in ann.items():
        for e in qualified_name_errors(k):
            errs.invalid("metadata.annotations", k, e)
        if not isinstance(v, str):
            errs.invalid(f"metadata.annotations[{k}]", v, "must be a string")


def _check_replicas(errs: Errors, value: Any, field: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        errs.invalid(field, value, "must be an integer")
    elif value < 0:
        errs.invalid(field, value, "must be greater than or equal to 0")


def validate(info: KindInfo, obj: Obj, old: Obj | None = None) -> None:
    """Raise a 422 ApiError listing every problem; `old` is the stored object on update/patch."""
    errs = Errors()
    md = obj.get("metadata")
    if not isinstance(md, dict):
        errs.required("metadata")
        errs.raise_for(info, "")
        return
    name = md.get("name") or ""
    if not name:
        errs.required("metadata.name", "name or generateName is required")
    elif not isinstance(name, str):
        errs.invalid("metadata.name", name, "must be a string")
    elif info.resource in PATH_SEGMENT_NAMED:  # RBAC names: any path segment ("system:node-proxier")
        bad = next((c for c in ("/", "%") if c in name), None)
        if name in (".", ".."):
            errs.invalid("metadata.name", name, f"may not be '{name}'")
        elif bad:
            errs.invalid("metadata.name", name, f"may not contain '{bad}'")
    elif info.resource in LABEL_NAMED:
        if len(name) > 63 or not _DNS1123_LABEL_RE.match(name):
            errs.invalid("metadata.name", name, LABEL_NAME_MSG if len(name) <= 63 else "must be no more than 63 characters")
    elif len(name) > 253 or not _DNS1123_SUB_RE.match(name):
        errs.invalid("metadata.name", name, SUBDOMAIN_MSG if len(name) <= 253 else "must be no more than 253 characters")
    _check_labels(errs, md.get("labels"), "metadata.labels")
    _check_annotations(errs, md.get("annotations"))
    if old is not None:
        omd = old["metadata"]
        for f in ("name", "namespace", "uid"):
            if f in md and md.get(f) != omd.get(f):
                errs.invalid(f"metadata.{f}", md.get(f), "field is immutable")
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    r = info.resource
    if r == "nodes":
        taints = spec.get("taints")
        if taints is not None and not isinstance(taints, list):
            errs.invalid("spec.taints", taints, "must be a list")
        for i, t in enumerate(taints or []):
            if not isinstance(t, dict):
                errs.invalid(f"spec.taints[{i}]", t, "must be an object")
                continue
            key = t.get("key") or ""
            if not key:
                errs.required(f"spec.taints[{i}].key")
            for e in qualified_name_errors(key) if key else []:
                errs.invalid(f"spec.taints[{i}].key", key, e)
            val = t.get("value") or ""
            if val and (len(val) > 63 or not _LABEL_VALUE_RE.match(val)):
                errs.invalid(f"spec.taints[{i}].value", val, LABEL_VALUE_MSG)
            eff = t.get("effect")
            if not eff:
                errs.required(f"spec.taints[{i}].effect")
            elif eff not in TAINT_EFFECTS:
                errs.unsupported(f"spec.taints[{i}].effect", eff, TAINT_EFFECTS)
        seen = set()
        for i, t in enumerate(taints or []):
            if isinstance(t, dict):
                k = (t.get("key"), t.get("effect"))
                if k in seen:
                    errs.items.append(("FieldValueDuplicate", f"spec.taints[{i}]",
                                       f"Duplicate value: {json.dumps({'key': k[0], 'effect': k[1]})}: "
                                       "taints must be unique by key and effect pair"))
                seen.add(k)
        if "unschedulable" in spec and not isinstance(spec["unschedulable"], bool):
            errs.invalid("spec.unschedulable", spec["unschedulable"], "must be a boolean")
    elif r in ("deployments", "statefulsets", "replicasets"):
        _check_replicas(errs, spec.get("replicas"), "spec.replicas")
        if old is not None and r == "statefulsets":
            ospec = old.get("spec") or {}
            if spec.get("selector") != ospec.get("selector") and "selector" in spec:
                errs.items.append(("FieldValueForbidden", "spec",
                                   "Forbidden: updates to statefulset spec for fields other than 'replicas', "
                                   "'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' "
                                   "and 'minReadySeconds' are forbidden"))
    elif r == "horizontalpodautoscalers":
        mn, mx = spec.get("minReplicas", 1), spec.get("maxReplicas")
        if mn is not None and (isinstance(mn, bool) or not isinstance(mn, int) or mn < 1):
            errs.invalid("spec.minReplicas", mn, "must be greater than or equal to 1")
        if mx is None:
            errs.required("spec.maxReplicas")
        elif isinstance(mx, bool) or not isinstance(mx, int) or mx < 1:
            errs.invalid("spec.maxReplicas", mx, "must be greater than or equal to 1")
        elif isinstance(mn, int) and mx < mn:
            errs.invalid("spec.maxReplicas", mx, "must be greater than or equal to `minReplicas`")
    elif r == "jobs":
        for f in ("parallelism", "completions"):
            _check_replicas(errs, spec.get(f), f"spec.{f}")
    elif r == "clusterrolebindings":
        ref = obj.get("roleRef")
        if not isinstance(ref, dict) or not ref.get("name"):
            errs.required("roleRef.name")
        elif ref.get("kind") != "ClusterRole":
            errs.unsupported("roleRef.kind", ref.get("kind"), ("ClusterRole",))
        elif old is not None and ref != old.get("roleRef"):
            errs.invalid("roleRef", ref, "cannot change roleRef")
        for i, sub in enumerate(obj.get("subjects") or []):
            kind = sub.get("kind") if isinstance(sub, dict) else None
            if kind not in ("ServiceAccount", "User", "Group"):
                errs.unsupported(f"subjects[{i}].kind", kind, ("ServiceAccount", "User", "Group"))
            elif kind == "ServiceAccount" and not sub.get("namespace"):
                errs.required(f"subjects[{i}].namespace")
    elif r == "persistentvolumeclaims":
        if not spec.get("accessModes"):
            errs.required("spec.accessModes", "at least 1 access mode is required")
        if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
            errs.required("spec.resources[storage]")
        if old is not None:
            ospec = old.get("spec") or {}
            if {k: v for k, v in spec.items() if k not in PVC_MUTABLE} != \
                    {k: v for k, v in ospec.items() if k not in PVC_MUTABLE}:
                errs.items.append(("FieldValueForbidden", "spec",
                                   "Forbidden: spec is immutable after creation except resources.requests and "
                                   "volumeAttributesClassName for bound claims"))
    elif r == "cronjobs":
        sched = spec.get("schedule")
        if not sched:
            errs.required("spec.schedule")
        elif not isinstance(sched, str) or not (sched.startswith("@") or len(sched.split()) == 5):
            errs.invalid("spec.schedule", sched, "unparseable schedule: expected exactly 5 fields")
    errs.raise_for(info, name if isinstance(name, str) else "")


SCALE_INFO = KindInfo("scale", "Scale", "autoscaling", "v1", True, "scale")


def validate_scale(scale: Obj, name: str) -> None:
    errs = Errors()
    _check_replicas(errs, (scale.get("spec") or {}).get("replicas"), "spec.replicas")
    errs.raise_for(SCALE_INFO, name)


def reject_unknown_fields(info: KindInfo, obj: Obj, verb: str) -> None:
    """fieldValidation=Strict (what kubectl create/apply/taint send): a field the 1.32 schema does not
    declare is a 400, as the real server's strict decoding. Uses kubernetes-validate's strict schemas
    when installed (the test extra; `make demo` has it); without it, unknown fields pass silently."""
    try:
        import kubernetes_validate
    except ImportError:
        return
    try:
        kubernetes_validate.validate(obj, "1.32", strict=True)
    except Exception as e:  # jsonschema.ValidationError, or no schema for the kind
        if getattr(e, "validator", None) != "additionalProperties":
            return  # only unknown fields: type/required checks are the handwritten ones above
        m = re.search(r"\('([^']+)' (?:was|were) unexpected\)", getattr(e, "message", ""))
        field = m.group(1).split("', '")[0] if m else "?"
        path = ""
        for part in list(getattr(e, "absolute_path", [])) + [field]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        what = f"{info.kind} in version \"{info.version}\" cannot be handled as a {info.kind}: " \
            if verb in ("create", "update") else ""
        raise ApiError(400, "BadRequest", f'{what}strict decoding error: unknown field "{path}"') from None
