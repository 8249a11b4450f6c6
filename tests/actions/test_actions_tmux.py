"""End to end in a real terminal: `kubewatch-ml tui` in tmux against the simulated cluster; cordon and
relabel a node with keys, then check the result with real kubectl (and the audit log)."""
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from actions_support import kubectl_bin

pytestmark = pytest.mark.slow


def _tmux():
    path = shutil.which("tmux")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is required when CI is set")
        pytest.skip("tmux not installed")
    return path


class Term:
    def __init__(self, tmux, name):
        self.tmux, self.name = tmux, name

    def keys(self, *keys, literal=False):
        subprocess.run([self.tmux, "send-keys", "-t", self.name, *(["-l"] if literal else []), *keys], check=True)

    def text(self):
        return subprocess.run([self.tmux, "capture-pane", "-p", "-t", self.name], capture_output=True, text=True).stdout

    def wait_for(self, needle, timeout=40.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            t = self.text()
            if needle in t:
                return t
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} never appeared; screen:\n{self.text()}")


def _kubectl_json(cluster, *args):
    out = subprocess.run([kubectl_bin(), "--kubeconfig", cluster.kubeconfig_path, "--context", "sim-admin", *args, "-o", "json"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _until(pred, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def test_cordon_and_relabel_by_keys_in_tmux(cluster, tmp_path):
    tmux = _tmux()
    kubectl_bin()
    name = f"kw-actions-{uuid.uuid4().hex[:8]}"
    exe = str(Path(sys.executable).with_name("kubewatch-ml"))
    cmd = (f"env XDG_STATE_HOME={tmp_path} XDG_CONFIG_HOME={tmp_path} TERM=xterm-256color "
           f"{exe} tui --kubeconfig {cluster.kubeconfig_path} --context sim-admin --no-prometheus")
    subprocess.run([tmux, "new-session", "-d", "-s", name, "-x", "160", "-y", "45", cmd], check=True)
    term = Term(tmux, name)
    subprocess.run([tmux, "resize-window", "-t", name, "-x", "160", "-y", "45"], capture_output=True)
    try:
        term.wait_for("GPU nodes")
        term.keys("3")
        term.wait_for("REQ/ALLOC")
        term.keys("/")
        term.wait_for("Esc clears")  # the filter bar has the focus
        term.keys("kw-gpu-b", literal=True)
        term.keys("Enter")
        term.wait_for("filter: kw-gpu-b")
        term.keys("c")
        screen = term.wait_for("Cordon node/kw-gpu-b?")
        assert "schedulable -> cordoned" in screen and '"unschedulable": true' in screen
        term.keys("y")
        assert _until(lambda: _kubectl_json(cluster, "get", "node", "kw-gpu-b")["spec"].get("unschedulable") is True)
        term.wait_for("SchedulingDisabled")  # the view updated from the watch

        term.keys("l")
        term.wait_for("Labels on node kw-gpu-b")
        term.keys("pool=h100 nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3", literal=True)
        term.keys("Enter")
        screen = term.wait_for("Label node/kw-gpu-b?")
        assert "pool: 'a100' -> 'h100'" in screen
        term.keys("y")
        assert _until(lambda: _kubectl_json(cluster, "get", "node", "kw-gpu-b")["metadata"]["labels"].get("pool") == "h100")
        labels = _kubectl_json(cluster, "get", "node", "kw-gpu-b")["metadata"]["labels"]
        assert labels["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
        term.keys("q")
        assert _until(lambda: subprocess.run([tmux, "has-session", "-t", name], capture_output=True).returncode != 0, 10)
    finally:
        subprocess.run([tmux, "kill-session", "-t", name], capture_output=True)
    rows = [json.loads(x) for x in (tmp_path / "kubewatch-ml" / "audit.jsonl").read_text().splitlines()]
    assert [(r["action"], r["result"], r["context"]) for r in rows] == [("cordon", "ok", "sim-admin"), ("label", "ok", "sim-admin")]
    assert cluster.admin_token not in (tmp_path / "kubewatch-ml" / "audit.jsonl").read_text()
