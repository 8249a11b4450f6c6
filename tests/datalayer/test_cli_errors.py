"""Bad connection input reaches the user as one line and exit code 3, through the real CLI."""
import socket

import pytest

from kubewatch_ml.cli import main
from kubewatch_ml.errors import EXIT_CONNECT

from .fakeapi import write_kubeconfig


def _run(capsys, *argv):
    code = main(["snapshot", *argv])
    err = capsys.readouterr().err.strip()
    return code, err


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def test_unreachable(capsys, tmp_path):
    port = _free_port()
    cfg = write_kubeconfig(tmp_path / "c", f"https://127.0.0.1:{port}", "t")
    code, err = _run(capsys, "--kubeconfig", cfg, "-o", str(tmp_path / "out.json"))
    assert code == EXIT_CONNECT
    assert err.splitlines()[-1] == (f"kubewatch-ml: cannot reach https://127.0.0.1:{port} (connection refused): "
                                    "is the cluster up? check --context")
    assert "Traceback" not in err and not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("setup,expect", [
    ("missing", "does not exist"),
    ("invalid", "not valid YAML"),
    ("context", "context 'nope' not found in the kubeconfig; available: fake, other"),
])
def test_bad_kubeconfig_lines(capsys, tmp_path, fake_api, setup, expect):
    path = tmp_path / "kc"
    args = ["--kubeconfig", str(path)]
    if setup == "invalid":
        path.write_text("clusters: [\n")
    elif setup == "context":
        write_kubeconfig(path, fake_api.url, fake_api.token, extra_contexts=("other",))
        args += ["--context", "nope"]
    code, err = _run(capsys, *args, "-o", str(tmp_path / "out.json"))
    assert code == EXIT_CONNECT and expect in err and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.startswith("kubewatch-ml:")]) == 1


def test_expired_token(capsys, tmp_path, fake_api):
    cfg = write_kubeconfig(tmp_path / "kc", fake_api.url, "expired")
    code, err = _run(capsys, "--kubeconfig", cfg, "-o", str(tmp_path / "out.json"))
    assert code == EXIT_CONNECT and "401 Unauthorized" in err and "expired" in err
