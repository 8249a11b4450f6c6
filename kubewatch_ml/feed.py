"""The dashboard's data path as a feed of frames: what one refresh produced, handed to the UI.

The TUI pulls frames from a thread worker (`Feed.next_frame` blocks), so the same app renders a
live cluster (`LiveFeed`: store + metrics + analyze), fixed frames (`StaticFeed`: tests, SVG
export) or a recording (replay). No Textual here: the feed runs headless.
"""
from __future__ import annotations

import gc
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, NamedTuple, Protocol, Sequence

from .metrics_snapshot import MetricsSnapshot
from .snapshot import ClusterSnapshot, KindState


class ObjectRef(NamedTuple):
    """The Kubernetes object behind a selected row (what actions operate on)."""

    kind: str  # Node | Namespace | Pod | Deployment | StatefulSet | HorizontalPodAutoscaler | ...
    namespace: str  # "" for cluster-scoped kinds
    name: str


@dataclass(frozen=True)
class FeedStatus:
    """Connection and load state for the status line and the loading screen."""

    context: str = ""
    server: str = ""
    api_state: str = "connecting"  # connecting | loading | connected | degraded | error | static | replay
    api_error: str = ""  # one line, "" when healthy
    metrics_source: str = ""  # metrics.describe(): "prometheus http://… (ready)" / "direct scrape: …" / "none: …"
    metrics_state: str = ""  # ok | partial | stale | unavailable | "" (unknown yet)
    kinds: Mapping[str, KindState] = field(default_factory=dict)
    forbidden: tuple[str, ...] = ()  # kinds we may not list
    readonly: bool = False
    insecure: bool = False  # TLS verification skipped
    loaded: bool = False  # every kind's initial list finished (complete, forbidden or failed)

    def load_progress(self) -> tuple[int, int]:
        """(kinds finished, kinds total) of the initial list."""
        done = sum(1 for k in self.kinds.values() if k.complete or k.forbidden or k.error)
        return done, len(self.kinds)


@dataclass(frozen=True)
class Frame:
    cluster: ClusterSnapshot
    metrics: MetricsSnapshot | None
    analysis: object  # analysis.models.Analysis
    taken_at: float
    status: FeedStatus = field(default_factory=FeedStatus)


class Feed(Protocol):
    def next_frame(self, timeout: float) -> Frame | None:
        """Block up to `timeout` seconds for a new frame; None when nothing new."""

    def progress(self) -> FeedStatus:
        """Cheap: the current load/connection state, for the loading screen."""

    def close(self) -> None: ...


def metrics_state(metrics: MetricsSnapshot | None) -> str:
    if metrics is None or not metrics.areas:
        return "unavailable"
    oks = [a.ok for a in metrics.areas.values()]
    if any(a.ok and a.stale for a in metrics.areas.values()):
        return "stale"
    if all(oks):
        return "ok"
    return "partial" if any(oks) else "unavailable"


def settle_long_lived() -> None:
    """After the initial load: move what exists now (the store's records, the first analysis) out
    of the cyclic collector's reach. At 150,000 pods every full collection otherwise walks millions
    of long-lived objects (0.2-0.7 s pauses, in whichever thread triggers them). Records hold no
    cycles, so frozen ones are still freed by reference counting when the store drops them."""
    gc.freeze()


def build_frame(cluster: ClusterSnapshot, metrics: MetricsSnapshot | None, now: float,
                status: FeedStatus | None = None) -> Frame:
    """Analyze one (cluster, metrics) pair into a frame."""
    from .analysis import analyze  # the analysis package, imported when first needed

    analysis = analyze(cluster, metrics, now)
    if status is None:
        status = FeedStatus(context=cluster.cluster.context, server=cluster.cluster.server,
                            api_state="static", insecure=cluster.cluster.insecure,
                            kinds=cluster.kinds, loaded=True,
                            forbidden=tuple(sorted(k for k, s in cluster.kinds.items() if s.forbidden)),
                            metrics_source=metrics.source if metrics else "none",
                            metrics_state=metrics_state(metrics))
    return Frame(cluster=cluster, metrics=metrics, analysis=analysis, taken_at=cluster.taken_at, status=status)


class StaticFeed:
    """Fixed frames, handed out once each in order (then nothing): tests, SVG export, snapshots."""

    def __init__(self, frames: Sequence[Frame]):
        self._frames = list(frames)
        self._next = 0
        self._closed = threading.Event()
        self._lock = threading.Lock()

    @classmethod
    def from_snapshot(cls, cluster: ClusterSnapshot, metrics: MetricsSnapshot | None, now: float,
                      status: FeedStatus | None = None) -> "StaticFeed":
        return cls([build_frame(cluster, metrics, now, status)])

    def next_frame(self, timeout: float) -> Frame | None:
        with self._lock:
            if self._next < len(self._frames):
                self._next += 1
                return self._frames[self._next - 1]
        self._closed.wait(timeout)
        return None

    def progress(self) -> FeedStatus:
        if self._frames:
            return self._frames[min(self._next, len(self._frames) - 1)].status
        return FeedStatus(api_state="static")

    def close(self) -> None:
        self._closed.set()


UI_SWITCH_INTERVAL_S = 0.001  # as app.py sets it: the UI thread takes the GIL back within 1 ms


class LiveFeed:
    """A live cluster: the store's watch changes and periodic metrics fetches become frames,
    coalesced to at most one per `min_interval` seconds. Metrics are fetched in their own thread
    so a slow Prometheus never delays cluster changes (and vice versa)."""

    def __init__(self, conn, store_factory: Callable[[Callable[[], None]], object], metrics,
                 *, clock: Callable[[], float] = time.time, refresh_seconds: float = 2.0,
                 min_interval: float = 0.5):
        self._conn = conn
        self._metrics_source = metrics
        self._clock = clock
        self._refresh = max(0.2, refresh_seconds)
        self._min_interval = min_interval
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._metrics: MetricsSnapshot | None = None
        self._metrics_error = ""
        self._last_frame_at = 0.0
        self._last_cost = 0.0  # seconds the last frame took to build
        self._started = False
        self._first_frame = threading.Event()  # the first frame was built (metrics fetching resumes after it)
        self._frames_made = 0
        self.store = store_factory(self._changed.set)
        self._describe = ""
        self._metrics_thread = threading.Thread(target=self._metrics_loop, name="kubewatch-metrics", daemon=True)

    def start(self) -> "LiveFeed":
        if not self._started:
            self._started = True
            # the dashboard's GIL switch interval, set before the store starts: its list code lowers the
            # interval while paging and restores what it found, which used to be the default 5 ms (the
            # app had not mounted yet), so the UI ran at 5 ms from the end of the initial load on
            if sys.getswitchinterval() > UI_SWITCH_INTERVAL_S:
                sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
            self.store.start()
            self._metrics_thread.start()
        return self

    # -- metrics thread: fetch, then wait, then fetch again (never overlapping)
    def _metrics_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._describe = self._metrics_source.describe() if self._metrics_source else "none"
                if self._metrics_source is not None:
                    self._metrics = self._metrics_source.fetch(self._clock())
                    self._metrics_error = ""
                    self._changed.set()
            except Exception as e:  # a source fault must not kill the feed; the status line says it
                self._metrics_error = f"{type(e).__name__}: {e}".splitlines()[0][:200]
            # as for frames: parsing exporter text for 150,000 pods is CPU the UI thread also needs,
            # so the pause is at least twice what the fetch cost
            self._stop.wait(max(self._refresh, 2 * (time.monotonic() - started)))
            # nothing shows metrics before the first frame: one fetch (for that frame) while the initial
            # lists load (parsing took 2/3 of the GIL during a 150k-pod load); the next a refresh period
            # after the first frame, not piled onto its build and first render
            if not self._first_frame.is_set():
                while not self._first_frame.is_set() and not self._stop.is_set():
                    self._first_frame.wait(0.25)
                self._stop.wait(self._refresh)

    def progress(self) -> FeedStatus:
        info = getattr(self._conn, "info", None)
        try:
            kinds = dict(self.store.progress())
        except Exception:
            kinds = {}
        errors = [f"{k}: {s.error}" for k, s in sorted(kinds.items()) if s.error and not s.forbidden]
        forbidden = tuple(sorted(k for k, s in kinds.items() if s.forbidden))
        loaded = bool(kinds) and all(s.complete or s.forbidden or s.error for s in kinds.values())
        if errors:
            api_state = "degraded"
        elif loaded:
            api_state = "connected"
        else:
            api_state = "loading"
        desc = self._describe or ""
        state = metrics_state(self._metrics) if self._metrics is not None else ""
        if self._metrics_error:
            desc, state = f"{desc} (error: {self._metrics_error})".strip(), "unavailable"
        return FeedStatus(
            context=getattr(info, "context", ""), server=getattr(info, "server", ""),
            api_state=api_state, api_error=errors[0] if errors else "",
            metrics_source=desc, metrics_state=state, kinds=kinds, forbidden=forbidden,
            readonly=bool(getattr(self._conn, "readonly", False)), insecure=bool(getattr(info, "insecure", False)),
            loaded=loaded,
        )

    def next_frame(self, timeout: float) -> Frame | None:
        changed = self._changed.wait(timeout)
        if self._stop.is_set() or (not changed and self._frames_made):
            return None
        status = self.progress()
        if not status.loaded:
            self._changed.clear()
            return None  # the loading screen shows progress() until the initial lists are in
        # coalesce: a burst of watch events becomes one frame. The gap after a frame is at least twice
        # what building it cost, so analysis never takes more than a third of the CPU (in-process: of the
        # GIL the UI thread needs; in the feed process: of a core, and of the frames the UI unpickles)
        gap = max(self._min_interval, 2 * self._last_cost)
        wait = self._last_frame_at + gap - time.monotonic()
        if wait > 0 and self._stop.wait(wait):
            return None
        self._changed.clear()
        started = time.monotonic()
        self._frames_made += 1
        cluster = self.store.snapshot()
        # ages are measured on the cluster's clock (API server Date headers), metrics on ours
        skew = getattr(self._conn, "server_now", None)
        offset = skew() - time.time() if callable(skew) else 0.0
        frame = build_frame(cluster, self._metrics, self._clock() + offset, status)
        if offset:  # the frame's time on our clock, so the status line's "data N old" is not the skew
            frame = replace(frame, taken_at=cluster.taken_at - offset)
        if self._frames_made == 1:
            settle_long_lived()
            self._first_frame.set()
        self._last_frame_at = time.monotonic()
        self._last_cost = self._last_frame_at - started
        return frame

    def close(self) -> None:
        self._stop.set()
        self._changed.set()
        try:
            self.store.stop()
        finally:
            if self._metrics_source is not None:
                try:
                    self._metrics_source.close()
                except Exception:
                    pass


def connect_resolved(settings, readonly_contexts: Callable[[str], bool] | None = None):
    """(conn, settings) for `settings.kube`, connected (raises ConnectError, one line); when the config
    file marks the context read-only, reconnected read-only and the settings say so."""
    from .sources.kube import connect

    conn = connect(settings.kube)
    if readonly_contexts is not None and not settings.kube.readonly and readonly_contexts(conn.info.context):
        # the config file marks this context read-only: reconnect so no write can leave the process
        close = getattr(conn, "close", None)
        if close:
            close()
        settings = replace(settings, kube=replace(settings.kube, readonly=True, context=conn.info.context))
        conn = connect(settings.kube)
    return conn, settings


def open_live_feed(settings, *, clock: Callable[[], float] = time.time, readonly_contexts: Callable[[str], bool] | None = None) -> LiveFeed:
    """Connect (raises ConnectError, one line), then start listing/watching and fetching metrics."""
    from .store import ClusterStore

    conn, settings = connect_resolved(settings, readonly_contexts)
    from .sources.metrics import open_metrics

    metrics = open_metrics(settings.metrics, conn)
    feed = LiveFeed(conn, lambda poke: ClusterStore(conn, namespace=settings.kube.namespace, on_change=poke), metrics, clock=clock,
                    refresh_seconds=settings.refresh_seconds)
    feed.conn = conn
    return feed.start()


FEED_ENV = "KUBEWATCH_FEED"  # "thread": the live feed in the dashboard's process (default: its own process)


def open_feed(settings, *, readonly_contexts: Callable[[str], bool] | None = None, in_process: bool = False):
    """The dashboard's live feed: in a child process (feed_process.ProcessFeed) unless `in_process`
    (a recording needs the snapshots themselves) or KUBEWATCH_FEED=thread. Connects here first, so a
    bad kubeconfig or an unreachable server is one line before the TUI starts."""
    import os

    if in_process or os.environ.get(FEED_ENV, "").strip().lower() == "thread":
        return open_live_feed(settings, readonly_contexts=readonly_contexts)
    from .feed_process import ProcessFeed

    conn, settings = connect_resolved(settings, readonly_contexts)
    # the child connects to the very context this connection resolved, whatever the kubeconfig says later
    settings = replace(settings, kube=replace(settings.kube, context=conn.info.context))
    return ProcessFeed(settings, conn)
