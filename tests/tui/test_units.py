"""Feed, config and renderer units (no terminal)."""
from __future__ import annotations

import threading
import time

import pytest

from kubewatch_ml.config import Config, config_from_dict, load_config
from kubewatch_ml.errors import UserError
from kubewatch_ml.feed import FeedStatus, LiveFeed, StaticFeed, metrics_state
from kubewatch_ml.metrics_snapshot import AreaState, MetricsSnapshot
from kubewatch_ml.snapshot import KindState
from kubewatch_ml.widgets.render import Palette, clean, fmt_age, fmt_bytes, fmt_cpu, gauge, inert, sparkline
from kubewatch_ml.widgets.table import Row, compute_view
from rich.text import Text

from .scenario import EVIL_MESSAGE, NOW, build_cluster, build_metrics, scenario_feed


# ---------------------------------------------------------------- inert text
def test_inert_strips_escape_sequences_and_never_parses_markup():
    t = inert(EVIL_MESSAGE)
    assert "\x1b" not in t.plain and "\x07" not in t.plain
    assert "[bold magenta]boom[/]" in t.plain  # markup kept literally, not interpreted
    assert t.spans == []
    assert clean("a\tb\nc\x9bd") == "a b cd"
    assert clean("plain") == "plain"


def test_gauge_and_sparkline_shapes():
    pal = Palette()
    g = gauge(0.5, 20, pal)
    assert g.cell_len == 20 and g.plain.endswith(" 50%")
    assert gauge(None, 12, pal).plain.strip().endswith("n/a")
    over = gauge(1.2, 12, pal)
    assert "120%" in over.plain
    assert over.spans[0].style == pal.critical  # full/over colours red
    assert gauge(0.95, 12, pal).spans[0].style == pal.warning
    s = sparkline([0, 50, 100], 10, lo=0, hi=100)
    assert s.plain == "▁▅█"
    assert sparkline([1, 2, 3, 4, 5], 3).plain == "▁▅█"  # keeps the last `width` values
    assert sparkline([], 5).plain == "···"


def test_human_units():
    assert fmt_cpu(250) == "250m" and fmt_cpu(1500) == "1.5" and fmt_cpu(None) == "-"
    assert fmt_bytes(3 * (1 << 30)) == "3.0Gi" and fmt_bytes(512) == "512"
    assert fmt_age(45) == "45s" and fmt_age(600) == "10m" and fmt_age(3 * 3600) == "3h" and fmt_age(5 * 86400) == "5d"


# ---------------------------------------------------------------- table model
def _rows():
    return [Row(k, (k, v), f"{k} {tag}", (Text(k), Text(str(v)))) for k, v, tag in
            (("a", 3, "gpu"), ("b", None, "cpu"), ("c", 1, "gpu prod"), ("d", 2, "cpu prod"))]


def test_compute_view_filters_all_terms_and_negation():
    assert [r.key for r in compute_view(_rows(), "gpu", None, False)] == ["a", "c"]
    assert [r.key for r in compute_view(_rows(), "prod !gpu", None, False)] == ["d"]
    assert [r.key for r in compute_view(_rows(), "GPU PROD", None, False)] == ["c"]
    assert compute_view(_rows(), "nothing-like-this", None, False) == []


def test_compute_view_sorts_with_missing_values_last():
    assert [r.key for r in compute_view(_rows(), "", 1, False)] == ["c", "d", "a", "b"]
    assert [r.key for r in compute_view(_rows(), "", 1, True)] == ["a", "d", "c", "b"]
    assert [r.key for r in compute_view(_rows(), "", 0, True)] == ["d", "c", "b", "a"]


# ---------------------------------------------------------------- config
def test_config_defaults_when_missing(tmp_path):
    c = load_config(tmp_path / "nope.toml")
    assert c == Config() and c.textual_theme == "textual-dark"


def test_config_reads_theme_keys_and_readonly_contexts(tmp_path):
    p = tmp_path / "config.toml"
    p.write_text('theme = "light"\nreadonly_contexts = ["prod-*"]\n[keys]\n"view.gpus" = "g"\n')
    c = load_config(p)
    assert c.textual_theme == "textual-light" and c.keys == {"view.gpus": "g"}
    assert c.readonly_for("prod-eu") and not c.readonly_for("staging")


@pytest.mark.parametrize("text, needle", [
    ("theme = [", "not valid TOML"),
    ("colour = 'x'", "unknown setting"),
    ("[keys]\n'view.gpus' = 3", "[keys]"),
    ("readonly_contexts = 3", "readonly_contexts"),
])
def test_bad_config_is_one_clear_line(tmp_path, text, needle):
    p = tmp_path / "config.toml"
    p.write_text(text)
    with pytest.raises(UserError) as e:
        load_config(p)
    assert needle in str(e.value) and "\n" not in str(e.value)


# ---------------------------------------------------------------- feeds
def test_static_feed_hands_out_each_frame_once():
    feed = scenario_feed()
    f = feed.next_frame(0.01)
    assert f is not None and f.status.api_state == "static" and f.status.context == "ml-staging"
    assert f.status.forbidden == ("networkpolicies",)
    assert f.analysis.overview.nodes == 6
    assert feed.next_frame(0.01) is None
    feed.close()


def test_metrics_state():
    ok = AreaState(ok=True)
    assert metrics_state(None) == "unavailable"
    assert metrics_state(MetricsSnapshot(taken_at=0, areas={"gpu": ok})) == "ok"
    assert metrics_state(MetricsSnapshot(taken_at=0, areas={"gpu": ok, "usage": AreaState(ok=False)})) == "partial"
    assert metrics_state(MetricsSnapshot(taken_at=0, areas={"gpu": AreaState(ok=True, stale=True)})) == "stale"


class FakeStore:
    def __init__(self, poke):
        self.poke = poke
        self.kinds = {"pods": KindState("pods", listed=10, pages=1), "nodes": KindState("nodes", complete=True, listed=6)}
        self.started = self.stopped = False
        self.snapshots = 0

    def start(self):
        self.started = True

    def stop(self):
        self.stopped = True

    def progress(self):
        return dict(self.kinds)

    def snapshot(self):
        self.snapshots += 1
        return build_cluster()


class FakeMetrics:
    def __init__(self, fail=False):
        self.fail = fail
        self.fetched = threading.Event()
        self.closed = False

    def describe(self):
        return "direct scrape: ksm, dcgm"

    def fetch(self, now):
        self.fetched.set()
        if self.fail:
            raise RuntimeError("connection refused\nsecond line")
        return build_metrics()

    def close(self):
        self.closed = True


class FakeConn:
    readonly = True

    class info:
        context = "kind-ml"
        server = "https://127.0.0.1:6443"
        insecure = True


def test_live_feed_waits_for_the_initial_lists_then_coalesces():
    metrics = FakeMetrics()
    feed = LiveFeed(FakeConn(), FakeStore, metrics, clock=lambda: NOW, refresh_seconds=60, min_interval=0.05).start()
    try:
        assert metrics.fetched.wait(5)
        st = feed.progress()
        assert st.api_state == "loading" and not st.loaded and st.load_progress() == (1, 2)
        assert st.readonly and st.insecure and st.context == "kind-ml"
        assert feed.next_frame(0.05) is None  # pods still listing: no frame, the loading screen shows progress
        feed.store.kinds["pods"] = KindState("pods", listed=13, complete=True)
        for _ in range(3):
            feed.store.poke()  # a burst of changes ...
        frame = feed.next_frame(1.0)
        assert frame is not None and frame.status.api_state == "connected"
        assert frame.metrics is not None and frame.status.metrics_source == "direct scrape: ksm, dcgm"
        assert feed.next_frame(0.05) is None  # ... became one frame
        assert feed.store.snapshots == 1
    finally:
        feed.close()
    assert feed.store.stopped and metrics.closed


def test_live_feed_survives_a_failing_metrics_source():
    metrics = FakeMetrics(fail=True)
    feed = LiveFeed(FakeConn(), FakeStore, metrics, clock=lambda: NOW, refresh_seconds=60, min_interval=0).start()
    try:
        assert metrics.fetched.wait(5)
        for _ in range(100):
            st = feed.progress()
            if st.metrics_state:
                break
            threading.Event().wait(0.01)
        assert st.metrics_state == "unavailable" and "connection refused" in st.metrics_source
        assert "\n" not in st.metrics_source
        feed.store.kinds["pods"] = KindState("pods", complete=True)
        feed.store.poke()
        frame = feed.next_frame(1.0)
        assert frame is not None and frame.metrics is None  # the dashboard still works without metrics
    finally:
        feed.close()


def test_feed_status_progress_counts():
    st = FeedStatus(kinds={"a": KindState("a", complete=True), "b": KindState("b", forbidden=True),
                           "c": KindState("c"), "d": KindState("d", error="boom")})
    assert st.load_progress() == (3, 4)


def test_live_feed_fetches_metrics_once_while_loading_then_resumes():
    class CountingMetrics(FakeMetrics):
        def __init__(self):
            super().__init__()
            self.calls = 0
            self.again = threading.Event()

        def fetch(self, now):
            self.calls += 1
            if self.calls > 1:
                self.again.set()
            return super().fetch(now)

    metrics = CountingMetrics()
    feed = LiveFeed(FakeConn(), FakeStore, metrics, clock=lambda: NOW, refresh_seconds=0.2, min_interval=0).start()
    try:
        assert metrics.fetched.wait(5)
        assert not metrics.again.wait(0.8)  # four refresh periods while pods still list: no second fetch
        assert metrics.calls == 1
        feed.store.kinds["pods"] = KindState("pods", complete=True)
        feed.store.poke()
        frame = feed.next_frame(1.0)
        assert frame is not None and frame.metrics is not None  # the first frame has the load-time metrics
        assert metrics.again.wait(5)  # loaded: fetching resumes
    finally:
        feed.close()


def test_live_feed_sets_the_ui_switch_interval_before_the_store_starts():
    import sys

    from kubewatch_ml import feed as feed_mod

    seen = []

    class RecordingStore(FakeStore):
        def start(self):
            seen.append(sys.getswitchinterval())  # what the real store saves and later restores
            super().start()

    saved = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        feed = LiveFeed(FakeConn(), RecordingStore, None, clock=lambda: NOW).start()
        feed.close()
        assert seen == [feed_mod.UI_SWITCH_INTERVAL_S] and sys.getswitchinterval() == feed_mod.UI_SWITCH_INTERVAL_S
    finally:
        sys.setswitchinterval(saved)


def test_live_feed_analyses_on_the_cluster_clock_and_ages_data_on_ours(monkeypatch):
    """A cluster whose clock runs a day behind ours (API Date headers): its pending pods are not
    'pending for a day', and the status line's data age is not the skew."""
    day = 86400.0

    class SkewedConn(FakeConn):
        def server_now(self):
            return time.time() - day

    seen = []

    def analyze(cluster, metrics, now):
        seen.append(now)
        return None

    import kubewatch_ml.analysis as analysis_pkg

    monkeypatch.setattr(analysis_pkg, "analyze", analyze)
    feed = LiveFeed(SkewedConn(), FakeStore, None, clock=time.time, min_interval=0).start()
    try:
        feed.store.kinds["pods"] = KindState("pods", complete=True)
        feed.store.poke()
        frame = feed.next_frame(2.0)
    finally:
        feed.close()
    assert frame is not None and seen
    assert abs(seen[-1] - (time.time() - day)) < 5  # analysis "now" is the cluster's
    assert abs(frame.taken_at - (frame.cluster.taken_at + day)) < 5  # the frame's time is ours


def test_loading_screen_says_why_the_feed_is_not_coming():
    """A feed that failed before its first frame (the feed process could not connect, or died) is said on
    the loading screen, not left as a spinner."""
    import io

    from rich.console import Console

    from kubewatch_ml.screens.loading import loading_text

    def shown(status):
        c = Console(width=120, file=io.StringIO(), color_system=None)
        c.print(loading_text(status, Palette(), "*"))
        return c.file.getvalue()

    fine = FeedStatus(context="prod", server="https://k8s", api_state="connecting")
    failed = FeedStatus(context="prod", server="https://k8s", api_state="error",
                        api_error="the feed process was killed by SIGKILL: nothing in its log; restarting in 1s")
    assert "killed by SIGKILL" not in shown(fine)
    assert "the feed process was killed by SIGKILL: nothing in its log; restarting in 1s" in shown(failed)


def test_status_line_names_stale_kinds_short_and_keeps_the_reason_in_160_columns():
    """Two stale kinds with long names must not push the outage's reason off a 160-column status line."""
    from kubewatch_ml.widgets.status import status_text

    kinds = {k: KindState(k, complete=True, synced_at=NOW - 5, error="cannot reach")
             for k in ("horizontalpodautoscalers", "networkpolicies", "poddisruptionbudgets")}
    kinds["pods"] = KindState("pods", complete=True, synced_at=NOW)
    kinds["limitranges"] = KindState("limitranges", error="never read")
    st = FeedStatus(context="sim-viewer", api_state="degraded", kinds=kinds,
                    api_error="horizontalpodautoscalers: cannot reach https://127.0.0.1:45751 (connection refused): "
                              "is the cluster up? check --context")
    line = status_text(st, NOW, NOW, Palette()).plain
    assert " STALE hpa,netpol +1 5s " in line and " MISSING limits " in line, line
    assert "(hpa: cannot reach https://127.0.0.1:45751 (connection refused)" in line, line
    assert line.index("refused") < 150, line
    unchanged = FeedStatus(context="c", api_state="degraded", api_error="pods: HTTP 500",
                           kinds={"pods": KindState("pods", complete=True, synced_at=NOW - 120, error="HTTP 500")})
    assert " STALE pods 2m " in status_text(unchanged, NOW, NOW, Palette()).plain  # short names keep theirs
