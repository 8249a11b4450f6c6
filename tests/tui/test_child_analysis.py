"""analyze() in a forked child (child_analysis.py): the same result as in-process, and a failing child
falls back to in-process analysis instead of losing the frame."""
from __future__ import annotations

import os
import sys

import pytest

from kubewatch_ml import child_analysis
from kubewatch_ml.analysis import analyze

from .scenario import NOW, build_cluster, build_metrics

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork() analysis is Linux-only")


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch):
    monkeypatch.setattr(child_analysis, "_failed_reason", "")


def test_forked_analysis_equals_in_process():
    cluster, metrics = build_cluster(), build_metrics()
    here = analyze(cluster, metrics, NOW)
    there = child_analysis.analyze_forked(cluster, metrics, NOW)
    assert there == here
    assert there is not here and there.findings  # really came back through the pipe, not empty
    assert child_analysis.failure() == "" and child_analysis.available()


def test_a_failing_child_reports_its_error_in_one_line():
    cluster, metrics = build_cluster(), build_metrics()
    parent = os.getpid()

    def broken(c, m, now):  # fails in the child only
        if os.getpid() != parent:
            raise RuntimeError("child blew up\nsecond line")
        return analyze(c, m, now)

    parts = None
    with pytest.raises(child_analysis._ChildFailed) as e:
        parts = child_analysis._run_child(broken, cluster, metrics, NOW, 30)
    assert parts is None and "RuntimeError: child blew up" in str(e.value) and "second line" not in str(e.value)


def test_a_hung_child_is_killed_and_analysis_returns_in_process(monkeypatch):
    cluster, metrics = build_cluster(), build_metrics()

    def hang(c, m, now):
        import time
        time.sleep(60)

    with pytest.raises(child_analysis._ChildFailed, match="timed out"):
        child_analysis._run_child(hang, cluster, metrics, NOW, 0.5)
    # analyze_forked: a child failure is remembered and analysis stays in-process from then on
    monkeypatch.setattr(child_analysis, "_run_child", lambda *a: (_ for _ in ()).throw(child_analysis._ChildFailed("x")))
    result = child_analysis.analyze_forked(cluster, metrics, NOW)
    assert result == analyze(cluster, metrics, NOW)
    assert child_analysis.failure() == "x" and not child_analysis.available()


def test_forked_from_a_worker_thread_as_the_feed_does():
    import threading

    cluster, metrics = build_cluster(), build_metrics()
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("a", child_analysis.analyze_forked(cluster, metrics, NOW)))
    t.start()
    t.join(60)
    assert out["a"] == analyze(cluster, metrics, NOW)
    assert child_analysis.failure() == ""  # the child worked (signal resets are legal there), no fallback
