"""The simulator's fault injection itself: the spec, the admin endpoint, restart and 410."""
from __future__ import annotations

import socket
import ssl
import subprocess
import sys

import pytest

from faults_support import admin, faults, wait_for
from kubewatch_ml.sim.faults import FaultSpecError, parse_spec


def test_spec_parses_every_fault_and_names_a_bad_item():
    items = dict(parse_spec("api-500=pods+events, api-429, api-forbid=secrets,api-slow=1.5,api-drop-watches,"
                            "exporter-malformed=ksm+dcgm,exporter-down,prometheus-error=502,api-restart"))
    assert items["api-500"] == ["pods", "events"] and items["api-429"] == ["*"]
    assert items["exporter-malformed"] == ["dcgm", "kube-state-metrics"]
    assert items["exporter-down"] == ["dcgm", "kube-state-metrics", "kubelet"]
    assert items["api-slow"] == 1.5 and items["api-restart"] == 2.0 and items["prometheus-error"] == 502
    for bad, says in (("api-teapot", "unknown fault 'api-teapot'"), ("api-slow", "needs a number"),
                      ("api-slow=x", "not a number"), ("api-slow=9999", "between 0 and 600"),
                      ("exporter-down=nvidia", "unknown exporter 'nvidia'"), ("api-forbid", "needs names"),
                      ("prometheus-error=200", "400-599"), ("api-gone=3", "takes no value")):
        with pytest.raises(FaultSpecError, match=says) as e:
            parse_spec(bad)
        assert "\n" not in str(e.value)


def test_status_faults_switch_on_and_off_over_http(sim):
    conn = admin(sim)
    try:
        state = faults(sim, "api-500=nodes,api-forbid=resourcequotas")
        assert state["active"] == ["api-500=nodes", "api-forbid=resourcequotas"]
        assert conn.request("GET", "/api/v1/nodes").status == 500
        assert conn.request("GET", "/api/v1/resourcequotas").status == 403
        assert conn.request("GET", "/api/v1/pods", params={"limit": 1}).status == 200
        faults(sim, "api-429=pods")
        r = conn.request("GET", "/api/v1/pods")
        assert r.status == 429 and r.headers.get("retry-after") == "1"
        assert faults(sim, clear=True)["active"] == []
        assert conn.request("GET", "/api/v1/nodes").status == 200
        assert conn.request("GET", "/api/v1/pods", params={"limit": 1}).status == 200
        # a bad spec changes nothing and says why in one line
        r = conn.request("PUT", "/_sim/faults", params={"spec": "api-500=nodes,api-bogus"})
        assert r.status == 400 and "unknown fault 'api-bogus'" in r.json()["message"]
        assert conn.request("GET", "/api/v1/nodes").status == 200
        # the viewer may not switch faults
        viewer = __import__("faults_support").connect(
            __import__("kubewatch_ml.settings", fromlist=["KubeOptions"]).KubeOptions(
                kubeconfig=sim.kubeconfig_path, context="sim-viewer"))
        assert viewer.request("PUT", "/_sim/faults", params={"spec": "api-500"}).status == 403
        viewer.close()
    finally:
        conn.close()


def test_status_fault_cuts_open_watches(sim):
    conn = admin(sim)
    try:
        rv = conn.request("GET", "/api/v1/nodes").json()["metadata"]["resourceVersion"]
        w = conn.request("GET", "/api/v1/nodes", params={"watch": "true", "resourceVersion": rv}, stream=True)
        assert w.status == 200
        wait_for(lambda: sim.api._watch_socks, what="the watch to be served")
        faults(sim, "api-503=nodes")
        lines = list(w)  # ends: the server cut it
        assert all(b'"ERROR"' not in ln for ln in lines)
        assert conn.request("GET", "/api/v1/nodes", params={"watch": "true", "resourceVersion": rv},
                            stream=True).status == 503
    finally:
        faults(sim, clear=True)
        conn.close()


def test_gone_makes_a_resumed_watch_get_410(sim):
    conn = admin(sim)
    try:
        rv = conn.request("GET", "/api/v1/pods").json()["metadata"]["resourceVersion"]
        assert conn.request("PATCH", "/api/v1/nodes/" + sim.scenario.cordoned_node, body={"metadata": {"labels": {"x": "1"}}},
                            content_type="application/merge-patch+json").status == 200
        faults(sim, "api-gone")
        w = conn.request("GET", "/api/v1/nodes", params={"watch": "true", "resourceVersion": rv}, stream=True)
        body = b"".join(w)
        assert b'"ERROR"' in body and b'"code":410' in body
        assert faults(sim)["gone"] == 1
    finally:
        conn.close()


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return False
    except OSError:
        return True


def test_restart_closes_the_port_then_serves_the_same_port_and_ca_with_a_new_history(sim):
    conn = admin(sim)
    try:
        old_rv = conn.request("GET", "/api/v1/nodes").json()["metadata"]["resourceVersion"]
        ca_before = open(sim.api.ca_file).read()
        port = sim.api.port
        sim.advance(30)  # the cluster moves on: the old resourceVersion is behind the new history's start
        faults(sim, "api-restart=1.5")
        wait_for(lambda: _refused(sim.host, port), timeout=5, what="the port to close")
        wait_for(lambda: not _refused(sim.host, port), timeout=15, what="the port to open again")
        wait_for(lambda: faults(sim)["restarts"] == 1, what="the restart to finish")
        assert sim.api.port == port and open(sim.api.ca_file).read() == ca_before
        ctx = ssl.create_default_context(cafile=sim.api.ca_file)  # same CA: clients need no new kubeconfig
        with socket.create_connection((sim.host, port)) as raw, ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
            pass
        assert conn.request("GET", "/api/v1/nodes").status == 200  # the client reconnects by itself
        w = conn.request("GET", "/api/v1/nodes", params={"watch": "true", "resourceVersion": old_rv}, stream=True)
        assert b'"code":410' in b"".join(w)
    finally:
        conn.close()


def test_sim_command_refuses_a_bad_fault_spec_in_one_line():
    p = subprocess.run([sys.executable, "-m", "kubewatch_ml", "sim", "--faults", "api-500=pods,api-melt"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip() == "kubewatch-ml: --faults: unknown fault 'api-melt' (see `kubewatch-ml sim --help` for the list)"


def test_sim_command_starts_with_faults_on(tmp_path):
    import signal
    kc = tmp_path / "kc"
    p = subprocess.Popen([sys.executable, "-m", "kubewatch_ml", "sim", "--nodes", "6", "--pods", "30", "--speed", "1",
                          "--faults", "api-500=nodes,exporter-malformed=dcgm", "--kubeconfig-out", str(kc)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in p.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        assert "faults:              api-500=nodes, exporter-malformed=dcgm\n" in lines
        from kubewatch_ml.settings import KubeOptions
        from kubewatch_ml.sources.kube import connect
        conn = connect(KubeOptions(kubeconfig=str(kc), context="sim-viewer"))
        try:
            assert conn.request("GET", "/api/v1/nodes").status == 500
            assert conn.request("GET", "/api/v1/namespaces").status == 200
        finally:
            conn.close()
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0


def test_demo_refuses_a_bad_fault_spec_before_starting_anything(capsys):
    from kubewatch_ml.cli import main
    assert main(["demo", "--faults", "exporter-down=nvidia"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "kubewatch-ml: --faults: fault 'exporter-down': unknown exporter 'nvidia' (ksm, dcgm, kubelet)\n"
