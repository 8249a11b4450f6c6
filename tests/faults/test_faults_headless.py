"""Faults seen by the headless commands (`snapshot`, `triage`): they finish or fail with one line,
never a traceback, and never present a kind they could not read as empty."""
from __future__ import annotations

import json

import pytest

from faults_support import faults
from kubewatch_ml.cli import main


def _run(capsys, sim, *args):
    code = main([*args, "--kubeconfig", sim.kubeconfig_path, "--context", "sim-viewer"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _warnings(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("kubewatch-ml: warning:")]


def test_500_on_a_kind_is_a_warning_and_marked_in_the_json(sim, capsys):
    faults(sim, "api-500=pods")
    code, out, err = _run(capsys, sim, "snapshot", "-f", "json", "--no-metrics", "-q")
    assert code == 0
    assert _warnings(err) == ["kubewatch-ml: warning: could not list pods (500 InternalError: injected fault: 500 "
                              "for pods); the output lacks them (JSON: kinds.<kind>.error)"]
    doc = json.loads(out)
    assert "500" in doc["cluster"]["kinds"]["pods"]["error"] and not doc["cluster"]["kinds"]["pods"]["complete"]
    assert doc["cluster"]["kinds"]["nodes"]["complete"] and not doc["cluster"]["kinds"]["nodes"]["error"]
    code, out, err = _run(capsys, sim, "triage", "--no-metrics", "-q")
    assert code in (10, 11, 12) and len(_warnings(err)) == 1 and "could not list pods" in err
    faults(sim, clear=True)  # recovers on the next run, no state kept
    code, out, err = _run(capsys, sim, "snapshot", "-f", "json", "--no-metrics", "-q")
    assert code == 0 and err == "" and json.loads(out)["cluster"]["kinds"]["pods"]["complete"]


def test_forbidden_kind_is_noted_not_warned(sim, capsys):
    faults(sim, "api-forbid=resourcequotas+events")
    code, out, err = _run(capsys, sim, "snapshot", "-f", "json", "--no-metrics", "-q")
    doc = json.loads(out)
    assert code == 0 and err == ""
    assert doc["cluster"]["kinds"]["resourcequotas"]["forbidden"] and doc["cluster"]["kinds"]["events"]["forbidden"]
    code, out, err = _run(capsys, sim, "snapshot", "-f", "md", "--no-metrics", "-q")
    assert code == 0 and "resourcequotas" in out  # the quota view says why it is empty


@pytest.mark.parametrize("spec,says", [
    ("api-429", "is overloaded (429 Too Many Requests): the API server is unhealthy; retry later"),
    ("api-503", "is failing (HTTP 503): the API server is unhealthy; retry later"),
])
def test_whole_api_failing_is_one_line_exit_3(sim, capsys, spec, says):
    faults(sim, spec)
    for cmd in (["snapshot", "-f", "json"], ["triage"]):
        code, out, err = _run(capsys, sim, *cmd, "--no-metrics", "-q")
        assert code == 3 and out == ""
        assert err.strip().splitlines() == [f"kubewatch-ml: {sim.api_url} {says}"]


def test_slow_api_times_out_in_one_line_and_a_patient_run_finishes(sim, capsys):
    faults(sim, "api-slow=1")
    code, out, err = _run(capsys, sim, "triage", "--no-metrics", "-q", "--request-timeout", "0.3")
    assert code == 3 and out == ""
    assert err.strip() == (f"kubewatch-ml: cannot reach {sim.api_url} (timed out): is the cluster up? "
                           f"check --context or --request-timeout")
    faults(sim, "none,api-slow=0.05")
    code, out, err = _run(capsys, sim, "triage", "--no-metrics", "-q", "-f", "json")
    assert code in (10, 11, 12) and err == "" and json.loads(out)


def test_api_down_is_one_line_exit_3(sim, capsys):
    faults(sim, "api-restart=4")
    import socket
    import time
    end = time.monotonic() + 5
    while time.monotonic() < end:  # wait for the port to close
        try:
            socket.create_connection((sim.host, sim.api.port), timeout=0.2).close()
            time.sleep(0.05)
        except OSError:
            break
    code, out, err = _run(capsys, sim, "snapshot", "-f", "json", "--no-metrics", "-q")
    assert code == 3 and out == ""
    assert err.strip() == (f"kubewatch-ml: cannot reach {sim.api_url} (connection refused): is the cluster up? "
                           f"check --context")
    assert sim.faults.wait_restarted(20)
    code, out, err = _run(capsys, sim, "snapshot", "-f", "json", "--no-metrics", "-q")
    assert code == 0 and json.loads(out)["cluster"]["kinds"]["pods"]["complete"]


def test_malformed_exporter_is_a_warning_and_marked_in_the_snapshot(sim, capsys):
    faults(sim, "exporter-malformed=dcgm")
    code, out, err = _run(capsys, sim, "snapshot", "-f", "json", "-q")
    assert code == 0
    w = _warnings(err)
    assert len(w) == 1 and "metrics unavailable for gpu:" in w[0] and "malformed exposition" in w[0]
    doc = json.loads(out)
    areas = doc["metrics"]["areas"]
    assert areas["gpu"].startswith(("unavailable:", "stale:")) and "malformed" in areas["gpu"]
    assert areas["quota"] == "ok"
    faults(sim, clear=True)
    code, out, err = _run(capsys, sim, "snapshot", "-f", "json", "-q")
    assert code == 0 and err == "" and json.loads(out)["metrics"]["areas"]["gpu"] == "ok"
