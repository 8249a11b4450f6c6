"""Writes export/snapshot.schema.json from the view models, so the schema cannot drift from them.

Run `python -m kubewatch_ml.export.schema_gen` after adding a field to analysis/models.py; the
v1 contract only grows (objects accept unknown keys so older readers keep working).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import msgspec

from ..analysis import models as m
from .json_export import SCHEMA_ID, VIEWS

_VIEW_MODELS = {"quotas": m.QuotaView, "gpu_nodes": m.GpuView, "hpas": m.HpaView, "probes": m.ProbeView,
                "zones": m.ZoneView, "pending": m.PendingView}
_RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"


def generate_schema() -> dict:
    _, defs = msgspec.json.schema_components(list(_VIEW_MODELS.values()) + [m.Finding, m.Overview],
                                             ref_template="#/$defs/{name}")
    for d in defs.values():
        d.pop("title", None)
    defs["Finding"]["properties"]["severity"] = {"enum": ["info", "warning", "critical"]}
    defs["Finding"]["required"] = ["id", "severity", "kind", "namespace", "name", "summary", "action", "alert"]
    assert set(_VIEW_MODELS) == set(VIEWS)
    count = {"type": "integer", "minimum": 0}
    text = {"type": "string"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://kubewatch-ml.dev/schemas/snapshot/v1.json",
        "title": SCHEMA_ID,
        "description": "A kubewatch-ml snapshot: cluster identity, findings and the five views (docs/SNAPSHOT.md).",
        "type": "object",
        "required": ["schema", "taken_at", "generator", "source", "cluster", "metrics", "summary", "findings",
                     "views", "inventory"],
        "properties": {
            "schema": {"const": SCHEMA_ID},
            "taken_at": {"type": "string", "pattern": _RFC3339},
            "generator": text,
            "source": text,
            "cluster": {
                "type": "object",
                "required": ["context", "server", "version", "nodes", "pods", "namespaces"],
                "properties": {
                    "context": text, "server": text, "version": text, "nodes": count, "pods": count,
                    "namespaces": count, "ready_nodes": count, "cordoned_nodes": count, "gpu_nodes": count,
                    "gpu_allocatable": count, "gpu_requested": count, "insecure": {"type": "boolean"},
                    "kinds": {"type": "object", "additionalProperties": {
                        "type": "object", "required": ["listed", "complete", "forbidden", "error"]}},
                },
            },
            "metrics": {
                "type": "object", "required": ["source", "areas"],
                "properties": {"source": text, "areas": {"type": "object", "additionalProperties": text}},
            },
            "summary": {
                "type": "object", "required": ["critical", "warning", "info", "overview"],
                "properties": {"critical": count, "warning": count, "info": count,
                               "overview": {"$ref": "#/$defs/Overview"}},
            },
            "findings": {"type": "array", "items": {"$ref": "#/$defs/Finding"}},
            "views": {
                "type": "object",
                "additionalProperties": False,
                "properties": {v: {"$ref": f"#/$defs/{cls.__name__}"} for v, cls in _VIEW_MODELS.items()},
            },
            "inventory": {
                "type": "object", "required": ["nodes", "workloads"],
                "properties": {
                    "nodes": {"type": "array", "items": {
                        "type": "object", "required": ["name", "zone", "ready", "unschedulable", "taints", "labels"],
                        "properties": {"name": text, "zone": text, "ready": text,
                                       "unschedulable": {"type": "boolean"},
                                       "taints": {"type": "array", "items": text},
                                       "labels": {"type": "object", "additionalProperties": text}}}},
                    "workloads": {"type": "array", "items": {
                        "type": "object", "required": ["kind", "namespace", "name", "replicas", "ready_replicas"],
                        "properties": {"kind": text, "namespace": text, "name": text, "replicas": count,
                                       "ready_replicas": count}}},
                },
            },
        },
        "$defs": defs,
    }


def main() -> int:
    out = Path(__file__).with_name("snapshot.schema.json")
    out.write_text(json.dumps(generate_schema(), indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
