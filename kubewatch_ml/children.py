"""Helper processes the product starts (the feed process, list processes): how one is told to stop."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path


def child_env() -> dict[str, str]:
    """This environment, with this package importable by `python -m kubewatch_ml.<child>` (a source tree
    that is not installed included)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def end_child(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Close the child's stdin (its signal to stop), wait up to `timeout`, then kill it."""
    try:
        proc.stdin.close()
    except (OSError, AttributeError):
        pass
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)
