"""The headless commands against the simulator over HTTP (its kubeconfig and exporter URLs), as a
user runs them. (deploy/ applied with the real kubectl: test_deploy.py.)"""
from __future__ import annotations

import json

import jsonschema
import pytest

from kubewatch_ml.cli import main
from kubewatch_ml.export.json_export import load_schema
from kubewatch_ml.recording import Recording

pytest.importorskip("kubewatch_ml.sim.cluster")
pytest.importorskip("kubewatch_ml.sources.metrics")
from kubewatch_ml.sim.cluster import SimCluster  # noqa: E402


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    # TLS: kubectl only sends the bearer token over https
    with SimCluster(seed=11, nodes=12, pods=150, speed=1.0, tls=True, workdir=tmp_path_factory.mktemp("sim"),
                    start_clock=False) as s:
        yield s


def _conn_args(sim) -> list[str]:
    urls = sim.exporter_urls
    args = ["--kubeconfig", str(sim.kubeconfig_path), "--no-prometheus",
            "--kube-state-metrics-url", urls["kube-state-metrics"], "--dcgm-url", urls["dcgm"]]
    if urls.get("kubelet"):
        args += ["--kubelet-url", urls["kubelet"]]
    return args


def test_snapshot_json_over_http_validates(sim, capsys):
    assert main(["snapshot", *_conn_args(sim)]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    jsonschema.validate(doc, load_schema())
    assert doc["cluster"]["nodes"] == 12 and doc["cluster"]["server"].startswith("http")
    assert len(doc["inventory"]["nodes"]) == 12
    assert doc["cluster"]["kinds"]["pods"]["complete"] is True
    assert "snapshot of" in err  # progress and summary on stderr only


def test_triage_over_http_exit_code_matches_its_report(sim, capsys):
    code = main(["triage", *_conn_args(sim), "-f", "json", "-q", "--fail-on", "info"])
    doc = json.loads(capsys.readouterr().out)
    worst = next((s for s in ("critical", "warning", "info") if doc["counts"][s]), None)
    assert code == doc["exit_code"] == {"critical": 12, "warning": 11, "info": 10, None: 0}[worst]


def test_record_then_replay_export_and_diff(sim, tmp_path, capsys):
    rec = tmp_path / "r.db"
    assert main(["record", str(rec), *_conn_args(sim), "--interval", "0.3", "--count", "3", "-q"]) == 0
    with Recording.open(rec) as r:
        infos = r.frames()
        assert len(infos) == 3 and infos[0].nodes == 12
        assert infos[0].taken_at < infos[1].taken_at < infos[2].taken_at  # each frame carries its own time
        _, metrics = r.load(infos[-1].id)
        assert metrics is not None
    assert main(["snapshot", "--from", str(rec), "--at", "first", "-f", "markdown", "-q"]) == 0
    assert "## Findings" in capsys.readouterr().out
    assert main(["diff", f"{rec}@first", f"{rec}@last", "-q"]) in (0, 1)
    assert capsys.readouterr().out.startswith("--- ")


def test_unreachable_cluster_is_one_line_exit_3(tmp_path, capsys):
    kc = tmp_path / "kubeconfig"
    kc.write_text("""apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
""")
    assert main(["snapshot", "--kubeconfig", str(kc), "--request-timeout", "2", "-q", "--no-prometheus"]) == 3
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("kubewatch-ml: ")


def test_demo_flag_runs_an_in_process_simulator(monkeypatch, tmp_path, capsys):
    from kubewatch_ml.sim import demo_cluster as _demo_cluster

    monkeypatch.setattr(_demo_cluster, "DEMO_NODES", 8)
    monkeypatch.setattr(_demo_cluster, "DEMO_PODS", 60)
    out = tmp_path / "demo.html"
    assert main(["snapshot", "--demo", "-q", "-o", str(out)]) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "source demo" in page
    code = main(["triage", "--demo", "-q", "--fail-on", "critical"])
    text = capsys.readouterr().out
    assert text.rstrip().endswith(f"exit {code} (fail-on critical)")


def test_no_metrics_reads_only_the_api(sim, capsys):
    assert main(["snapshot", "--kubeconfig", str(sim.kubeconfig_path), "--no-metrics", "-q", "--view", "gpus"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["metrics"]["source"] == "none"
    assert all(v.startswith("unavailable: --no-metrics") for v in doc["metrics"]["areas"].values())
    assert doc["views"]["gpu_nodes"]["rows"] and all(r["util_avg"] is None for r in doc["views"]["gpu_nodes"]["rows"])


def test_headless_needs_only_read_access(sim, capsys):
    """The simulator's viewer identity may only read (as the ClusterRole in deploy/): enough for a snapshot."""
    assert main(["snapshot", "--kubeconfig", str(sim.kubeconfig_path), "--context", "sim-viewer", "--no-metrics",
                 "--readonly", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cluster"]["context"] == "sim-viewer" and doc["cluster"]["nodes"] == 12
    assert not [k for k, s in doc["cluster"]["kinds"].items() if s["forbidden"] or s["error"]]
