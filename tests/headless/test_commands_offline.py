"""The headless commands end to end on recordings and files (no cluster): formats, exit codes,
stdout carrying only the output, one-line errors."""
import json

import jsonschema
import pytest

from kubewatch_ml.cli import main
from kubewatch_ml.export.json_export import load_schema
from kubewatch_ml.recording import Recording

from .conftest import T0, sample_cluster, sample_metrics


@pytest.fixture
def rec(tmp_path):
    path = tmp_path / "rec.db"
    with Recording.create(path) as r:
        r.append(sample_cluster(T0, cordon_gpu_b=True, replicas=2), sample_metrics(T0))
        r.append(sample_cluster(T0 + 600, replicas=4, quota_used_gpu=8), sample_metrics(T0 + 600))
    return path


def test_snapshot_json_from_a_recording_moment(rec, capsys):
    assert main(["snapshot", "--from", str(rec), "--at", "first", "-q"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)  # stdout is exactly one JSON document
    jsonschema.validate(doc, load_schema())
    assert doc["taken_at"] == "2026-05-28T20:26:40Z" and doc["source"] == "recording rec.db frame 1/2"
    assert next(n for n in doc["inventory"]["nodes"] if n["name"] == "gpu-b")["unschedulable"] is True
    assert err == ""


def test_snapshot_formats_to_files(rec, tmp_path, capsys):
    for name, marker in (("s.md", "## Findings"), ("s.html", "<!DOCTYPE html>"), ("s.json", '"schema"')):
        assert main(["snapshot", "--from", str(rec), "-o", str(tmp_path / name), "-q"]) == 0
        assert marker in (tmp_path / name).read_text()
    assert main(["snapshot", "--from", str(rec), "-f", "markdown", "--view", "gpus", "-q"]) == 0
    md = capsys.readouterr().out
    assert "## GPU nodes" in md and "## Zones" not in md


def test_progress_goes_to_stderr_not_stdout(rec, capsys):
    assert main(["snapshot", "--from", str(rec), "-f", "json"]) == 0
    out, err = capsys.readouterr()
    json.loads(out)
    assert "snapshot of prod-ml" in err


@pytest.mark.parametrize("argv, code, message", [
    (["snapshot", "--format", "xml"], 2, "unknown format 'xml'"),
    (["snapshot", "--view", "gpux"], 2, "unknown view 'gpux'"),
    (["snapshot", "-o", "/nonexistent-dir/x.json"], 4, "does not exist"),
    (["snapshot", "--at", "last"], 2, "--at needs --from"),
    (["snapshot", "-f", "svg", "--view", "quotas,hpas"], 2, "needs --output DIR"),
    (["triage", "--fail-on", "fatal"], 2, "bad --fail-on 'fatal'"),
    (["triage", "--format", "yaml"], 2, "unknown format 'yaml'"),
    (["snapshot", "--from", "/nonexistent.db"], 2, "no recording at /nonexistent.db"),
    (["triage", "--kubeconfig", "/nonexistent/kubeconfig"], 3, "kubeconfig"),
    (["diff", "/nonexistent-a.json", "/nonexistent-b.json"], 2, "no such file"),
    (["record", "/nonexistent-dir/r.db"], 4, "does not exist"),
    (["record", "r.db", "--retention", "forever"], 2, "bad retention"),
])
def test_bad_input_is_one_line_and_a_documented_code(argv, code, message, capsys):
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("kubewatch-ml: ") and message in err


def test_unwritable_outputs_exit_4_and_leave_nothing_behind(tmp_path, rec, capsys):
    assert main(["snapshot", "--from", str(rec), "-o", str(tmp_path)]) == 4  # a directory
    assert "is a directory" in capsys.readouterr().err
    # /proc refuses new files even to root: the write itself fails, after the work
    assert main(["snapshot", "--from", str(rec), "-q", "-o", "/proc/kubewatch-ml-test.json"]) == 4
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("kubewatch-ml: cannot write /proc/kubewatch-ml-test.json")
    target = tmp_path / "keep.json"
    target.write_text("previous export")
    assert main(["snapshot", "--from", str(rec), "-q", "-f", "svg", "--view", "a,b", "-o", str(target)]) == 2
    assert target.read_text() == "previous export"  # a failed run never truncates the old file
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("rec.db")) == ["keep.json"]


def test_triage_exit_codes_follow_fail_on(rec, capsys):
    # the sample has warning findings, critical depends on analysis; compute from the JSON output
    assert main(["triage", "--from", str(rec), "-f", "json", "-q", "--fail-on", "info"]) in (10, 11, 12)
    doc = json.loads(capsys.readouterr().out)
    worst = next(s for s in ("critical", "warning", "info") if doc["counts"][s])
    assert doc["exit_code"] == {"critical": 12, "warning": 11, "info": 10}[worst]
    assert [f["rank"] for f in doc["findings"]] == list(range(1, len(doc["findings"]) + 1))
    sev = [("info", "warning", "critical").index(f["severity"]) for f in doc["findings"]]
    assert sev == sorted(sev, reverse=True)  # ranked worst first
    code = main(["triage", "--from", str(rec), "-q", "--fail-on", "critical"])
    text = capsys.readouterr().out
    assert code == (12 if doc["counts"]["critical"] else 0)
    assert text.startswith("triage of prod-ml at ") and text.rstrip().endswith(f"exit {code} (fail-on critical)")
    assert main(["triage", "--from", str(rec), "-q", "--view", "zones", "--fail-on", "critical", "-f", "json"]) in (0, 12)
    zones_only = json.loads(capsys.readouterr().out)
    assert all(f["view"] == "zones" for f in zones_only["findings"])


def test_diff_between_recording_moments_and_json_files(rec, tmp_path, capsys):
    assert main(["diff", f"{rec}@first", f"{rec}@last", "-q"]) == 1
    out = capsys.readouterr().out
    assert "uncordoned Node gpu-b" in out
    assert "replicas Deployment team-nlp/serve 2 -> 4" in out
    assert "usage ResourceQuota team-vision/gpu-quota/requests.nvidia.com/gpu 7 -> 8" in out
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["snapshot", "--from", str(rec), "--at", "first", "-o", str(a), "-q"]) == 0
    assert main(["snapshot", "--from", str(rec), "--at", "last", "-o", str(b), "-q"]) == 0
    assert main(["diff", str(a), str(b), "-f", "json", "-q"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert {"section": "nodes", "kind": "uncordoned", "object": "Node gpu-b", "before": "", "after": "",
            "detail": ""} in d["changes"]
    assert main(["diff", str(a), str(a), "-q"]) == 0
    assert "no changes" in capsys.readouterr().out


def test_one_read_then_render_and_triage_from_the_json(rec, tmp_path, capsys):
    """What the CronJob does: one snapshot JSON, then HTML and triage rendered from it."""
    js = tmp_path / "s.json"
    assert main(["snapshot", "--from", str(rec), "-q", "-o", str(js)]) == 0
    assert main(["snapshot", "--from", str(js), "-q", "-f", "html", "-o", str(tmp_path / "s.html")]) == 0
    assert "prod-ml" in (tmp_path / "s.html").read_text()
    code_rec = main(["triage", "--from", str(rec), "-q", "-f", "json", "--fail-on", "info"])
    from_rec = json.loads(capsys.readouterr().out)
    code_js = main(["triage", "--from", str(js), "-q", "-f", "json", "--fail-on", "info"])
    from_js = json.loads(capsys.readouterr().out)
    assert code_js == code_rec and from_js["findings"] == from_rec["findings"] and from_js["counts"] == from_rec["counts"]
    assert from_js["source"] == "snapshot s.json"
    assert main(["snapshot", "--from", str(js), "-q", "-f", "svg"]) == 2
    assert main(["snapshot", "--from", str(js), "--at", "first", "-q"]) == 2


class _FakeStore:
    def __init__(self, states, synced=False):
        self.states, self.synced, self.waits = states, synced, 0

    def wait_synced(self, timeout):
        self.waits += 1
        return self.synced

    def progress(self):
        return self.states


def test_record_gives_up_early_when_every_kind_failed():
    import threading

    from kubewatch_ml.commands._headless import Progress
    from kubewatch_ml.commands.record import wait_for_lists
    from kubewatch_ml.errors import UserError
    from kubewatch_ml.snapshot import KindState

    broken = _FakeStore({"pods": KindState("pods", error="HTTP 500"), "nodes": KindState("nodes", error="HTTP 500")})
    with pytest.raises(UserError, match=r"cannot list the cluster \(pods: HTTP 500\)|cannot list the cluster \(nodes"):
        wait_for_lists(broken, 600, Progress(quiet=True), threading.Event())
    assert broken.waits == 1  # not the whole --sync-timeout
    slow = _FakeStore({"pods": KindState("pods", listed=10), "nodes": KindState("nodes", complete=True)})
    with pytest.raises(UserError, match="still listing: pods"):
        wait_for_lists(slow, 0, Progress(quiet=True), threading.Event())
    wait_for_lists(_FakeStore({}, synced=True), 5, Progress(quiet=True), threading.Event())
