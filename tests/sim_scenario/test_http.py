"""The assembled cluster over HTTP: the API with the admin token, the admin routes, the exporter
Services behind the API's service proxy, and `kubewatch-ml sim` as a subprocess."""
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from kubewatch_ml.sim.cluster import SimCluster

from .conftest import START


def get(url, token, method="GET", ca=None):
    req = urllib.request.Request(url, method=method, headers={"Authorization": f"Bearer {token}"})
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(req, timeout=20, context=ctx) as r:
        return r.status, r.read()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with SimCluster(seed=7, nodes=40, pods=600, start_clock=False, workdir=str(tmp_path_factory.mktemp("sim")),
                    start=START) as sim:
        yield sim


def test_nodes_over_http_with_the_admin_token(live):
    status, body = get(live.api_url + "/api/v1/nodes", live.admin_token)
    assert status == 200
    items = json.loads(body)["items"]
    assert len(items) == 40
    assert {n["metadata"]["name"] for n in items} == {n["metadata"]["name"] for n in live.store.list("nodes")[0]}
    with pytest.raises(urllib.error.HTTPError) as e:
        get(live.api_url + "/api/v1/nodes", "not-a-token")
    assert e.value.code == 401
    assert os.path.exists(live.kubeconfig_path)
    kc = open(live.kubeconfig_path).read()
    assert live.admin_token in kc and live.viewer_token in kc and live.api_url in kc


def test_advance_and_clock_routes(live):
    _, body = get(live.api_url + "/_sim/clock", live.admin_token)
    before = json.loads(body)["now"]
    status, body = get(live.api_url + "/_sim/advance?seconds=60", live.admin_token, method="POST")
    assert status == 200
    assert json.loads(body)["now"] == pytest.approx(before + 60)
    assert live.now() == pytest.approx(before + 60)
    with pytest.raises(urllib.error.HTTPError) as e:
        get(live.api_url + "/_sim/advance?seconds=abc", live.admin_token, method="POST")
    assert e.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as e:  # only the admin moves time
        get(live.api_url + "/_sim/advance?seconds=60", live.viewer_token, method="POST")
    assert e.value.code == 403
    assert live.now() == pytest.approx(before + 60)


def test_exporters_discoverable_through_the_service_proxy(live):
    for ns, svc, port, needle in (("monitoring", "kube-state-metrics", "8080", b"kube_pod_info"),
                                  ("gpu-operator", "nvidia-dcgm-exporter", "9400", b"DCGM_FI_DEV_GPU_UTIL")):
        assert live.store.get("services", ns, svc)["spec"]["ports"][0]["port"] == int(port)
        status, body = get(f"{live.api_url}/api/v1/namespaces/{ns}/services/{svc}:{port}/proxy/metrics", live.admin_token)
        assert status == 200 and needle in body
    for name, url in live.exporter_urls.items():
        assert url.startswith("http://127.0.0.1:")


def test_background_clock_runs_at_speed(tmp_path):
    with SimCluster(seed=3, nodes=6, pods=60, speed=600.0, start_clock=True, workdir=str(tmp_path), start=START,
                    exporters=False) as sim:
        t0 = sim.now()
        deadline = time.monotonic() + 20
        while sim.dynamics.stats["ticks"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sim.dynamics.stats["ticks"] >= 3
        assert sim.now() - t0 >= 45
        sim.advance(300)  # advance() and the runner share the clock without going back
        assert sim.now() - t0 >= 345


def test_sim_command_prints_urls_and_exits_0_on_sigterm(tmp_path):
    kc = tmp_path / "kc.yaml"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.Popen([sys.executable, "-m", "kubewatch_ml", "sim", "--nodes", "8", "--pods", "100", "--seed", "3",
                          "--speed", "10", "--kubeconfig-out", str(kc)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        out = "".join(lines)
        api = re.search(r"API server:\s+(https://127\.0\.0\.1:\d+)", out)
        assert api, out
        for name in ("kube-state-metrics", "dcgm", "kubelet"):
            assert re.search(rf"{name}:\s+http://127\.0\.0\.1:\d+", out), out
        assert f"export KUBECONFIG={kc}" in out
        assert re.search(r"clock:\s+simulated time is 2[34]h\d\dm behind wall time and runs at 10x until it catches up "
                         r"\(in about 2h40m\), then at 1x", out), out
        assert kc.exists() and api.group(1) in kc.read_text()
        p.send_signal(signal.SIGTERM)
        rest, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("argv,needle", [
    (["--nodes", "0"], "--nodes must be at least 1"),
    (["--nodes", "2", "--pods", "500"], "at most 110 pods per node"),
    (["--speed", "-1"], "--speed must be above 0"),
    (["--kubeconfig-out", "/nonexistent-dir/kc"], "does not exist"),
])
def test_sim_command_bad_values_one_line(argv, needle):
    r = subprocess.run([sys.executable, "-m", "kubewatch_ml", "sim", *argv], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_sim_command_refuses_the_users_kubeconfig(tmp_path):
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    cfg = home / ".kube" / "config"
    cfg.write_text("keep me")
    r = subprocess.run([sys.executable, "-m", "kubewatch_ml", "sim", "--kubeconfig-out", str(cfg)],
                       capture_output=True, text=True, timeout=60, env=dict(os.environ, HOME=str(home)))
    assert r.returncode == 2 and "refusing to overwrite" in r.stderr
    assert cfg.read_text() == "keep me"


def test_scenario_route_names_the_planted_cases(live):
    _, body = get(live.api_url + "/_sim/scenario", live.admin_token)
    planted = json.loads(body)
    assert planted["cordoned_node"] and live.store.get("nodes", "", planted["cordoned_node"])["spec"]["unschedulable"]
    ns, name = planted["maxed_hpa"]
    assert live.store.get("horizontalpodautoscalers", ns, name) is not None
    for ns, prefix, why in planted["pending_gpu_pods"]:
        pods = [p for p in live.store.list("pods", ns)[0] if p["metadata"]["name"].startswith(prefix)]
        assert pods and all(p["status"]["phase"] == "Pending" and why in p["status"]["conditions"][0]["message"] for p in pods)


def test_sim_command_refuses_a_foreign_file(tmp_path):
    other = tmp_path / "notes.yaml"
    other.write_text("apiVersion: v1\nclusters: [{name: prod}]\n")
    r = subprocess.run([sys.executable, "-m", "kubewatch_ml", "sim", "--kubeconfig-out", str(other)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "refusing to overwrite" in r.stderr
    assert "prod" in other.read_text()


def test_a_faster_clock_starts_a_day_behind_wall_time():
    wall = time.time()
    fast = SimCluster(speed=10, serve=False)  # not started: only the epoch is chosen
    assert wall - 86400 - 1 <= fast.start_time <= time.time() - 86400
    assert fast.clamp_to_wall and "24h00m behind wall time" in fast.clock_summary()
    real = SimCluster(speed=1, serve=False)
    assert wall - 1 <= real.start_time <= time.time()
    assert real.clock_summary() == "simulated time follows wall time (1x)"
    assert SimCluster(speed=10, start=START, serve=False).start_time == START  # tests stay deterministic


def _max_ahead_of_wall(sim, until) -> float:
    ahead = float("-inf")
    deadline = time.monotonic() + 30
    while not until() and time.monotonic() < deadline:
        ahead = max(ahead, sim.now() - time.time())
        time.sleep(0.01)
    assert until(), "the clock did not get there in 30 s"
    return max(ahead, sim.now() - time.time())


def test_the_running_clock_catches_up_with_wall_time_and_never_passes_it(tmp_path):
    with SimCluster(seed=3, nodes=6, pods=60, speed=600.0, start=time.time() - 90, workdir=str(tmp_path),
                    serve=False) as sim:
        ahead = _max_ahead_of_wall(sim, lambda: time.time() - sim.now() < 2)  # 90 s at 600x: caught up quickly
        ticks = sim.dynamics.stats["ticks"]
        ahead = max(ahead, _max_ahead_of_wall(sim, lambda: sim.dynamics.stats["ticks"] >= ticks + 1))  # then 1x
        assert ahead <= 0.01, ahead
        assert "caught up with wall time and now runs at 1x" in sim.clock_summary()
    # the same clock unclamped runs ahead (what clients saw before: timestamps in the future)
    with SimCluster(seed=3, nodes=6, pods=60, speed=600.0, start=time.time() - 90, workdir=str(tmp_path / "b"),
                    serve=False, clamp_to_wall=False) as sim:
        assert _max_ahead_of_wall(sim, lambda: sim.now() - time.time() > 30) > 25
