"""The live feed in its own process (feed_process.ProcessFeed + feed_child): the same frames as the
in-process LiveFeed, the detail panes' questions answered by the child, a dead child said in one line,
and nothing left running after close. Against the simulator over HTTP, its clock held (a fixed cluster)."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from pathlib import Path

import pytest

from kubewatch_ml import feed_process
from kubewatch_ml.feed import connect_resolved, open_feed, open_live_feed
from kubewatch_ml.feed_process import FeedUnavailable, ProcessFeed, encode_views, join_value, split_value
from kubewatch_ml.settings import KubeOptions, MetricsOptions, Settings
from kubewatch_ml.sim.cluster import SimCluster

from .scenario import build_cluster, build_metrics, NOW


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimCluster(seed=7, nodes=40, pods=600, speed=1, workdir=str(tmp_path_factory.mktemp("sim")), start_clock=False) as s:
        yield s


def _settings(sim, **kube) -> Settings:
    urls = dict(sim.exporter_urls)
    return Settings(kube=KubeOptions(kubeconfig=str(sim.kubeconfig_path), **kube),
                    metrics=MetricsOptions(no_prometheus=True, kube_state_metrics_url=urls.get("kube-state-metrics"),
                                           dcgm_url=urls.get("dcgm"), kubelet_urls=(urls["kubelet"],)),
                    refresh_seconds=0.5)


def _first_frame(feed, timeout: float = 60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        frame = feed.next_frame(0.5)
        if frame is not None:
            return frame
    raise AssertionError(f"no frame within {timeout}s; status {feed.progress()}")


def _wait(pred, timeout: float = 20, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _keys(view) -> list:
    return [r.key for r in view.rows]


def test_views_split_into_pieces_and_join_back_equal(monkeypatch):
    from kubewatch_ml.analysis import analyze

    a = analyze(build_cluster(), build_metrics(), NOW)
    monkeypatch.setattr(feed_process, "CHUNK_ROWS", 2)  # every view with more than two rows is cut up
    cut = 0
    for f in dataclasses.fields(a):
        value = getattr(a, f.name)
        pieces = split_value(value)
        cut += len(pieces) > 1
        assert join_value([(field, _roundtrip(v)) for field, v in pieces]) == value, f.name
    assert cut >= 4  # quotas, GPU nodes, findings... really split
    # a view whose bytes did not change is sent as "same"
    sent: dict = {}
    views = {"findings": a.findings, "zones": a.zones}
    assert all(p is not None for _, p in encode_views(views, sent))
    assert [p for _, p in encode_views(views, sent)] == [None, None]
    views["zones"] = dataclasses.replace(a.zones, note="changed")
    assert [p is None for _, p in encode_views(views, sent)] == [True, False]


def _roundtrip(v):
    import pickle

    return pickle.loads(pickle.dumps(v))


def test_process_feed_gives_the_in_process_frames_and_answers_detail_questions(sim):
    settings = _settings(sim)
    live = open_live_feed(settings)
    feed = open_feed(settings)
    try:
        assert isinstance(feed, ProcessFeed) and feed.conn is not None
        mine, theirs = _first_frame(live), _first_frame(feed)
        a, b = mine.analysis, theirs.analysis
        # the rows the cluster's objects make; probe rows and findings also follow the metrics' timing
        for view in ("quotas", "gpu_nodes", "hpas", "zones", "pending"):
            assert _keys(getattr(b, view)) == _keys(getattr(a, view)), view
        assert b.probes.rows and b.findings and {f.id for f in a.findings} & {f.id for f in b.findings}
        # (values are the transport's, checked whole above; two feeds' first frames may differ in what the metrics had)
        assert [w.key for w in b.zones.workloads] == [w.key for w in a.zones.workloads]
        alloc = lambda v: [(r.key, r.nodes, r.allocatable, r.requested) for r in v.gpu_nodes.by_product]  # noqa: E731
        assert alloc(b) == alloc(a)  # (utilisation comes with the metrics, which one first frame may lack)
        assert theirs.status.loaded and theirs.status.context == "sim-admin" and theirs.metrics is None
        # the palette's names and the detail panes' questions, answered by the child from that frame
        c = mine.cluster
        assert sorted(theirs.cluster.nodes) == sorted(c.nodes) and sorted(theirs.cluster.workloads) == sorted(c.workloads)
        node = a.gpu_nodes.rows[0].node
        assert sorted(p.name for p in theirs.cluster.pods_on(node)) == sorted(p.name for p in c.pods_on(node))
        w = a.zones.workloads[0]
        key = (w.kind, w.namespace, w.name)
        assert len(theirs.cluster.pods_of(key)) == len(c.pods_of(key)) > 0
        with_events = next(k for k, evs in c.events_by_object.items() if k[0] == "Pod" and evs)
        assert theirs.cluster.events_by_object.get(with_events) == tuple(c.events_by_object[with_events])
        assert theirs.cluster.events_by_object.get(("Pod", "nope", "nope"), ()) == ()
    finally:
        live.close()
        live.conn.close()
        feed.close()
    assert feed.proc.returncode == 0 and not Path(feed.log_path).exists()  # a clean exit leaves no log behind
    with pytest.raises(FeedUnavailable, match="closed"):
        theirs.cluster.pods_on(node)


def test_a_dead_feed_process_is_said_in_one_line_and_started_again(sim):
    feed = open_feed(_settings(sim))
    try:
        frame = _first_frame(feed)
        node = frame.analysis.gpu_nodes.rows[0].node
        first = feed.proc
        os.kill(first.pid, signal.SIGKILL)
        status = _wait(lambda: feed.progress().api_state == "error" and feed.progress(), what="the error state")
        assert "feed process was killed by SIGKILL: nothing in its log" in status.api_error and "restarting in 1s" in status.api_error
        assert "\n" not in status.api_error
        with pytest.raises(FeedUnavailable, match="killed"):
            frame.cluster.pods_on(node)
        # a new child, a new frame, the error gone; the old frame's questions are answered by the new child
        again = _first_frame(feed)
        assert feed.proc is not first and feed.restarts == 1 and feed.generation == 2
        assert feed.progress().api_state != "error" and feed.progress().api_error == ""
        assert [r.key for r in again.analysis.gpu_nodes.rows] == [r.key for r in frame.analysis.gpu_nodes.rows]
        assert {p.name for p in frame.cluster.pods_on(node)} == {p.name for p in again.cluster.pods_on(node)}
    finally:
        feed.close()
    assert Path(feed.log_path).exists()  # kept: the status line named it
    Path(feed.log_path).unlink()


def test_a_feed_process_that_cannot_connect_says_why(sim, tmp_path):
    settings = _settings(sim)
    conn, settings = connect_resolved(settings)
    conn.close()
    broken = dataclasses.replace(settings, kube=dataclasses.replace(settings.kube, kubeconfig=str(tmp_path / "gone.yaml")))
    feed = ProcessFeed(broken, None)
    try:
        status = _wait(lambda: "restarting in" in feed.progress().api_error and feed.progress(), what="the error state")
        assert status.api_state == "error" and "gone.yaml does not exist" in status.api_error, status.api_error
    finally:
        feed.close()
        Path(feed.log_path).unlink(missing_ok=True)


def test_the_dashboard_on_a_process_feed_shows_a_gpu_nodes_pods(sim):
    from kubewatch_ml.app import KubewatchApp

    from .conftest import screen_text

    settings = _settings(sim)
    feed = open_feed(settings)

    async def scenario():
        app = KubewatchApp(feed, settings)
        async with app.run_test(size=(160, 50)) as pilot:
            for _ in range(400):
                if app.main_screen is not None and app.main_screen.latest is not None:
                    break
                await pilot.pause(0.05)
            await pilot.press("3")
            for _ in range(100):
                if "pods on node (" in screen_text(app):
                    break
                await pilot.pause(0.05)
            text = screen_text(app)
            assert "pods on node (" in text and "cannot render detail" not in text, text
            assert "pods on node (0)" not in text
            await pilot.press("q")

    try:
        asyncio.run(scenario())
    finally:
        feed.close()
        feed.conn.close()
    assert feed.proc.returncode == 0


def test_a_broken_stream_stops_the_child_and_starts_another(sim, monkeypatch):
    """A frame the dashboard cannot read (here: joining its pieces fails once) must not leave a live child
    writing into a pipe nobody reads, nor hang the reader: the child is stopped and a new one started."""
    real, calls = feed_process.join_value, []

    def flaky(pieces):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("garbled piece")
        return real(pieces)

    monkeypatch.setattr(feed_process, "join_value", flaky)
    feed = open_feed(_settings(sim))
    try:
        first = feed.proc
        status = _wait(lambda: "stream broken" in feed.progress().api_error and feed.progress(), what="the broken stream said")
        assert "garbled piece" in status.api_error and status.api_state == "error"
        frame = _first_frame(feed)
        assert feed.restarts == 1 and first.poll() is not None and frame.analysis.gpu_nodes.rows
    finally:
        feed.close()
        Path(feed.log_path).unlink(missing_ok=True)
