"""`kubewatch-ml` (tui) and `kubewatch-ml demo`: user mistakes are one line and an exit code, never a
traceback; the config file's read-only contexts reach the connection."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kubewatch_ml import feed as feed_mod
from kubewatch_ml.settings import KubeOptions, Settings

SCRIPT = Path(sys.executable).parent / "kubewatch-ml"


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60, env=env)


def one_line_error(p: subprocess.CompletedProcess) -> str:
    err = p.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("kubewatch-ml: ")
    return err


def test_unreachable_cluster_is_exit_3(tmp_path):
    p = run("--kubeconfig", str(tmp_path / "missing.yaml"), tmp_path=tmp_path)
    assert p.returncode == 3
    assert "missing.yaml" in one_line_error(p)


def test_bad_config_file_is_exit_2(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text("theme = [\n")
    p = run("tui", "--config", str(bad), "--kubeconfig", str(tmp_path / "x"), tmp_path=tmp_path)
    assert p.returncode == 2 and "not valid TOML" in one_line_error(p)


def test_unknown_binding_id_in_config_is_exit_2(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[keys]\n"view.gpuz" = "g"\n')
    p = run("tui", "--config", str(cfg), tmp_path=tmp_path)
    assert p.returncode == 2 and "view.gpuz" in one_line_error(p)


def test_demo_rejects_bad_sizes(tmp_path):
    p = run("demo", "--nodes", "0", tmp_path=tmp_path)
    assert p.returncode == 2 and "--nodes" in one_line_error(p)


def test_backfill_durations_are_checked(tmp_path):
    p = run("demo", "--backfill", "half an hour", tmp_path=tmp_path)
    assert p.returncode == 2 and "--backfill" in one_line_error(p)
    p = run("sim", "--prometheus", "--backfill", "7h", tmp_path=tmp_path)
    assert p.returncode == 2 and "at most 6h" in one_line_error(p)


class _Info:
    def __init__(self, context):
        self.context, self.server, self.insecure = context, "https://k8s", False


class _Conn:
    def __init__(self, opts: KubeOptions, log: list):
        self.readonly = opts.readonly
        self.info = _Info("prod-eu")
        log.append(opts)

    def close(self):
        pass


@pytest.mark.parametrize("patterns, readonly", [(("prod-*",), True), (("staging",), False)])
def test_readonly_contexts_from_the_config_reach_the_connection(monkeypatch, patterns, readonly):
    import kubewatch_ml.sources.kube as kube
    import kubewatch_ml.sources.metrics as metrics
    import kubewatch_ml.store as store
    from kubewatch_ml.config import Config

    log: list = []
    monkeypatch.setattr(kube, "connect", lambda opts: _Conn(opts, log))
    monkeypatch.setattr(metrics, "open_metrics", lambda opts, conn: None)

    class _Store:
        def __init__(self, conn, namespace=None, on_change=None):
            self.conn = conn

        def start(self):
            pass

        def stop(self):
            pass

        def progress(self):
            return {}

    monkeypatch.setattr(store, "ClusterStore", _Store)
    live = feed_mod.open_live_feed(Settings(), readonly_contexts=Config(readonly_contexts=patterns).readonly_for)
    try:
        assert live.conn.readonly is readonly
        assert live.progress().readonly is readonly
        assert [o.readonly for o in log] == ([False, True] if readonly else [False])
        if readonly:
            assert log[-1].context == "prod-eu"  # reconnected to the same context, read-only
    finally:
        live.close()
