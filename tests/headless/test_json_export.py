import json

import jsonschema
import pytest

from kubewatch_ml.errors import UserError
from kubewatch_ml.export.json_export import (
    SCHEMA_ID,
    build_document,
    load_document,
    load_schema,
    render_json,
    resolve_views,
)

from .conftest import HOSTILE


def test_document_validates_against_the_committed_schema(analysis, cluster, metrics):
    doc = json.loads(render_json(build_document(analysis, cluster, metrics)))
    jsonschema.validate(doc, load_schema(), format_checker=jsonschema.FormatChecker())
    assert doc["schema"] == SCHEMA_ID
    assert doc["taken_at"] == "2026-05-28T20:26:40Z"
    assert doc["cluster"]["context"] == "prod-ml" and doc["cluster"]["nodes"] == 4 and doc["cluster"]["pods"] == 9
    assert list(doc["views"]) == ["quotas", "gpu_nodes", "hpas", "probes", "zones", "pending"]
    assert [f["id"] for f in doc["findings"]] == ["KW-P001", "KW-Q001", "KW-H001", "KW-N001"]
    assert list(doc["findings"][0])[:8] == ["id", "severity", "kind", "namespace", "name", "summary", "action", "alert"]
    assert doc["summary"]["critical"] == 1 and doc["summary"]["warning"] == 2
    gpu_b = next(n for n in doc["inventory"]["nodes"] if n["name"] == "gpu-b")
    assert gpu_b["taints"] == ["nvidia.com/gpu=present:NoSchedule"] and gpu_b["zone"] == "us-east-1b"
    # owned ReplicaSets are left out of the inventory; their Deployment stands for them
    assert [(w["kind"], w["name"]) for w in doc["inventory"]["workloads"]] == [("Deployment", "serve")]


def test_schema_rejects_broken_documents(analysis, cluster):
    schema = load_schema()
    doc = json.loads(render_json(build_document(analysis, cluster)))
    for breakage in (
        lambda d: d.pop("findings"),
        lambda d: d.__setitem__("schema", "kubewatch-ml/snapshot/v0"),
        lambda d: d["findings"][0].__setitem__("severity", "bad"),
        lambda d: d["views"].__setitem__("bogus", {}),
        lambda d: d["views"]["gpu_nodes"]["rows"][0].pop("allocatable"),
        lambda d: d.__setitem__("taken_at", "yesterday"),
    ):
        broken = json.loads(json.dumps(doc))
        breakage(broken)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)


def test_output_is_byte_stable_and_keeps_hostile_names_verbatim(analysis, cluster):
    a = render_json(build_document(analysis, cluster))
    b = render_json(build_document(analysis, cluster))
    assert a == b
    doc = json.loads(a)
    assert any(r["quota"] == HOSTILE for r in doc["views"]["quotas"]["quota_rows"])


def test_view_selection_and_aliases(analysis, cluster):
    doc = build_document(analysis, cluster, views=["gpus", "hpa"])
    assert list(doc["views"]) == ["gpu_nodes", "hpas"]
    jsonschema.validate(json.loads(render_json(doc)), load_schema())
    assert resolve_views(["zones,pending"]) == ("zones", "pending")
    with pytest.raises(UserError, match="unknown view 'gpux'"):
        resolve_views(["gpux"])


def test_load_document_errors(tmp_path, analysis, cluster):
    good = tmp_path / "s.json"
    good.write_bytes(render_json(build_document(analysis, cluster)))
    assert load_document(str(good))["cluster"]["context"] == "prod-ml"
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(UserError, match="not JSON"):
        load_document(str(tmp_path / "bad.json"))
    (tmp_path / "other.json").write_text('{"schema": "x"}')
    with pytest.raises(UserError, match="not a kubewatch-ml/snapshot/v1"):
        load_document(str(tmp_path / "other.json"))
    with pytest.raises(UserError, match="no such file"):
        load_document(str(tmp_path / "missing.json"))


def test_real_analysis_output_validates(cluster, metrics):
    """The committed schema against what analyze() really produces (with and without metrics)."""
    from kubewatch_ml.feed import build_frame

    for m in (metrics, None):
        frame = build_frame(cluster, m, cluster.taken_at)
        doc = json.loads(render_json(build_document(frame.analysis, cluster, m)))
        jsonschema.validate(doc, load_schema())
        assert doc["summary"]["warning"] == sum(1 for f in doc["findings"] if f["severity"] == "warning")
        sev = [("critical", "warning", "info").index(f["severity"]) for f in doc["findings"]]
        assert sev == sorted(sev)  # worst first
