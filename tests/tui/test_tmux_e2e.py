"""End to end: the installed console script `kubewatch-ml demo` in a real terminal (tmux), keys pressed,
the screen read back with capture-pane. Fails (not skips) when CI is set and tmux is missing."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "kubewatch-ml"

pytestmark = pytest.mark.slow


def _need_tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is required for the end-to-end test (CI is set)")
        pytest.skip("tmux not installed")
    return tmux


class Tmux:
    def __init__(self, tmux: str, name: str):
        self.tmux, self.name = tmux, name

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([self.tmux, *args], capture_output=True, text=True, check=check, timeout=20)

    def alive(self) -> bool:
        return self.run("has-session", "-t", self.name, check=False).returncode == 0

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name).stdout

    def wait_gone(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text not in screen:
                return screen
            time.sleep(0.3)
        raise AssertionError(f"{text!r} still on screen after {timeout}s")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"the dashboard exited while waiting for {text!r}; last screen:\n{screen}")
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.3)
        raise AssertionError(f"{text!r} not on screen after {timeout}s:\n{screen}")


def _start(tmux: str, tmp_path, demo_args: str) -> Tmux:
    assert SCRIPT.exists(), f"console script missing: {SCRIPT} (pip install -e .)"
    name = f"kw-e2e-{uuid.uuid4().hex[:8]}"
    env = f"XDG_CONFIG_HOME={tmp_path}/config XDG_STATE_HOME={tmp_path}/state TMPDIR={tmp_path} TERM=xterm-256color"
    # (the short sleep: tmux may size a detached pane just after starting its command)
    cmd = f"sleep 1; cd {ROOT} && env {env} {SCRIPT} demo {demo_args}"
    subprocess.run([tmux, "new-session", "-d", "-s", name, "-x", "160", "-y", "48", cmd], check=True, timeout=20)
    return Tmux(tmux, name)


@pytest.fixture
def tmux_session(tmp_path):
    session = _start(_need_tmux(), tmp_path, "--nodes 30 --pods 300 --no-prometheus --seed 7")
    try:
        yield session
    finally:
        if session.alive():
            session.run("kill-session", "-t", session.name, check=False)


def _processes_under(path) -> list[str]:
    """Command lines of running processes that mention `path` (the demo's TMPDIR)."""
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(path) in cmd and "prometheus" in cmd:
                out.append(cmd)
    return out


def _quit(t: Tmux) -> None:
    t.keys("q")
    deadline = time.monotonic() + 30
    while t.alive() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not t.alive(), "q did not stop the demo (simulator and dashboard)"


def test_demo_with_a_real_prometheus(tmp_path):
    tmux = _need_tmux()
    from kubewatch_ml.sim.prometheus_server import find_prometheus_binary

    if find_prometheus_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("the prometheus binary is required for this test (CI is set)")
        pytest.skip("prometheus not installed")
    t = _start(tmux, tmp_path, "--nodes 20 --pods 200 --seed 7")
    try:
        screen = t.wait_for("Top findings", timeout=120)
        status = [line for line in screen.splitlines() if "ctx sim-admin" in line]
        assert status and "real Prometheus" in status[0] and "prometheus http://127.0.0.1:" in status[0], status
        assert "Traceback" not in screen
        assert _processes_under(tmp_path), "no Prometheus found running from the demo's directory"
        # the demo's simulated 30-min backfill: idle held GPUs at once, not after half an hour
        deadline = time.monotonic() + 60
        idle = None
        while time.monotonic() < deadline:
            found = re.search(r"idle held\s+(\d+) allocated but idle", t.screen())
            idle = int(found.group(1)) if found else None
            if idle:
                break
            time.sleep(0.5)
        assert idle, f"no idle held GPUs on the overview a minute after start:\n{t.screen()}"
        # the terminal goes away (SIGHUP): the demo still stops its Prometheus and simulator
        t.run("kill-session", "-t", t.name)
        deadline = time.monotonic() + 30
        while _processes_under(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not _processes_under(tmp_path), "processes left running after the terminal closed"
    finally:
        if t.alive():
            t.run("kill-session", "-t", t.name, check=False)


def test_demo_in_a_real_terminal(tmux_session):
    t = tmux_session
    screen = t.wait_for("Top findings", timeout=90)  # data arrived: the overview is drawn
    if "3 GPU nodes" not in screen:  # drawn at a default 80 columns: nudge a SIGWINCH so it reads 160
        t.run("resize-window", "-t", t.name, "-x", "159", "-y", "48")
        t.run("resize-window", "-t", t.name, "-x", "160", "-y", "48")
        screen = t.wait_for("3 GPU nodes")
    assert "ctx sim-admin" in screen and "API ●" in screen  # connected (or degraded, with the reason)
    assert "direct scrape" in screen  # the status line says where metrics come from
    assert "Traceback" not in screen
    t.keys("2")
    screen = t.wait_for("NAMESPACE")
    assert "Quotas" in screen and "LEVEL" in screen
    t.keys("3")
    screen = t.wait_for("GPUS REQ/ALLOC")
    assert "pods on node" in screen  # the detail pane of the selected GPU node
    nodes_before = screen.count(".internal") + screen.count("gpu-")
    t.keys("/")
    # type once the filter bar shows, as a person does: on a loaded 2-core CI machine keys sent in the same
    # instant as "/" were seen to land elsewhere (known race, issue 6's closing note)
    t.wait_for("words must all match")
    for ch in "a10g":
        t.keys(ch)
    screen = t.wait_for("filter: a10g")
    table = screen.split("GPUS REQ/ALLOC", 1)[1].split("────", 1)[0]
    rows = [line for line in table.splitlines()[1:] if line.strip()]
    assert rows and all("A10G" in line for line in rows), rows
    t.keys("Enter")
    time.sleep(0.5)  # (ESC right after another key reads as Alt+key)
    t.keys("Escape")  # clears the filter
    t.wait_gone("filter: a10g")
    t.keys("?")
    screen = t.wait_for("ID (config.toml [keys])")
    assert "view.gpus" in screen
    t.keys("Escape")
    t.wait_gone("ID (config.toml [keys])")
    time.sleep(0.5)
    _quit(t)
    assert nodes_before > 0
