"""What the headless commands share: where a moment comes from (a live cluster, the in-process
demo simulator, or a recording), progress on stderr, and all-or-nothing output files."""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import EXIT_OUTPUT, UserError
from ..settings import Settings, add_connection_args, add_metrics_args, settings_from_args


@dataclass(frozen=True)
class Moment:
    """One analysed instant: what every export renders."""

    cluster: object  # ClusterSnapshot
    metrics: object  # MetricsSnapshot | None
    analysis: object  # analysis.models.Analysis
    source: str  # "live" | "demo" | "recording <file> frame <n>" | "snapshot <file>"
    document: dict | None = None  # set when read from a snapshot JSON file (no records, no analysis)


def add_source_args(p, *, recording: bool = True) -> None:
    p.add_argument("--demo", action="store_true",
                   help="run against an in-process simulated ML cluster on loopback (no cluster needed)")
    if recording:
        p.add_argument("--from", dest="from_file", metavar="FILE",
                       help="use a recorded moment (see `kubewatch-ml record`) or a snapshot JSON file instead of a cluster")
        p.add_argument("--at", metavar="TIME", default=None,
                       help="with --from: RFC3339, POSIX seconds, first, last (default), -15m or +15m")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    add_connection_args(p)
    add_metrics_args(p)
    p.add_argument("--no-metrics", action="store_true",
                   help="read no metrics at all (the metric columns say 'unavailable'); for very large "
                        "clusters without Prometheus, where scraping kube-state-metrics directly is slow")


class Progress:
    """Progress lines on stderr (stdout carries only the requested output). On a terminal one line
    is rewritten in place; otherwise a line at most every 2 s, so CronJob logs stay short."""

    def __init__(self, quiet: bool = False, stream=None):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._pending = False
        self._kinds: dict = {}
        self._start = time.monotonic()

    def __call__(self, message: str, force: bool = False) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r\x1b[2K" + message[:150])
            self._pending = True
        elif force or now - self._last >= 2.0:
            self.stream.write(f"[{now - self._start:6.1f}s] {message}\n")  # timestamps: where a slow run spent it
            self._last = now
        self.stream.flush()

    def warn(self, message: str) -> None:
        """A one-line warning: shown even with --quiet (the output is incomplete or stale)."""
        if self.tty and self._pending:
            self.stream.write("\r\x1b[2K")
            self._pending = False
        self.stream.write(f"kubewatch-ml: warning: {' '.join(message.split())[:300]}\n")
        self.stream.flush()

    def kinds(self, *args) -> None:
        """on_progress callback of the data layer, (kind, KindState), called from its list threads."""
        for a in args:
            if hasattr(a, "listed"):
                self._kinds[a.kind] = a
        if self._kinds:
            total = sum(s.listed for s in self._kinds.values())
            done = sum(1 for s in self._kinds.values() if s.complete or s.forbidden or s.error)
            busy = max(self._kinds.values(), key=lambda s: (not s.complete, s.listed))
            self(f"listing: {total:,} objects, {done}/{len(self._kinds)} kinds done ({busy.kind}: {busy.listed:,})")

    def done(self, message: str = "") -> None:
        if self.quiet:
            return
        if self.tty and self._pending:
            self.stream.write("\r\x1b[2K")
        if message:
            self.stream.write(message + "\n")
        self.stream.flush()
        self._pending = False


def demo_settings(sim) -> Settings:
    from ..settings import KubeOptions, MetricsOptions

    urls = getattr(sim, "exporter_urls", {}) or {}
    kubelet = urls.get("kubelet")
    return Settings(
        kube=KubeOptions(kubeconfig=str(sim.kubeconfig_path), readonly=True),
        metrics=MetricsOptions(no_prometheus=True, kube_state_metrics_url=urls.get("kube-state-metrics"),
                               dcgm_url=urls.get("dcgm"), kubelet_urls=(kubelet,) if kubelet else ()),
    )


@contextlib.contextmanager
def cluster_settings(args, progress: Progress, clock_running: bool = False) -> Iterator[tuple[Settings, str]]:
    """The settings to reach the cluster: the user's, or a demo simulator's for the block's duration
    (its clock running when the command watches it over time, as `record` does)."""
    if getattr(args, "demo", False):
        demo_cluster = getattr(args, "demo_cluster", None)  # set by cli.main, which owns the simulator
        if demo_cluster is None:
            raise UserError("--demo needs the kubewatch-ml command line (cli.main)")
        progress("starting the demo cluster…", force=True)
        with demo_cluster(start_clock=clock_running) as sim:
            yield demo_settings(sim), "demo"
    else:
        yield settings_from_args(args), "live"


def gather(args, progress: Progress) -> Moment:
    """Read one moment from wherever the arguments say, analysed."""
    from ..feed import build_frame

    from_file = getattr(args, "from_file", None)
    if from_file:
        from ..recording import Recording

        if getattr(args, "demo", False):
            raise UserError("--from and --demo exclude each other")
        if _is_json(from_file):
            from ..export.json_export import load_document

            if getattr(args, "at", None):
                raise UserError("--at applies to recordings; a snapshot JSON file holds one moment")
            return Moment(None, None, None, f"snapshot {Path(from_file).name}", load_document(from_file))
        with Recording.open(from_file) as rec:
            infos = rec.frames()
            cluster, metrics = rec.load_at(args.at or "last")
            n = next(i for i, fi in enumerate(infos, 1) if fi.taken_at == cluster.taken_at)
        frame = build_frame(cluster, metrics, cluster.taken_at)
        return Moment(cluster, metrics, frame.analysis, f"recording {Path(from_file).name} frame {n}/{len(infos)}")
    if getattr(args, "at", None):
        raise UserError("--at needs --from RECORDING")
    with cluster_settings(args, progress) as (settings, source):
        cluster, metrics = read_live(settings, progress, use_metrics=not getattr(args, "no_metrics", False))
    progress("analysing…", force=True)
    frame = build_frame(cluster, metrics, cluster.taken_at or time.time())
    return Moment(cluster, metrics, frame.analysis, source)


def _is_json(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(64).lstrip()[:1] == b"{"
    except OSError:
        return False  # Recording.open says what is wrong


def read_live(settings: Settings, progress: Progress, use_metrics: bool = True):
    """One-shot: paged lists of every kind (no watches), then one metrics fetch."""
    from ..sources.kube import connect

    conn = connect(settings.kube)
    try:
        with built("the data layer (store, metrics sources)"):
            from ..sources.metrics import open_metrics
            from ..store import load_snapshot

        progress(f"connected to {conn.info.server} ({conn.info.context or 'in-cluster'})", force=True)
        cluster = load_snapshot(conn, namespace=settings.kube.namespace, on_progress=progress.kinds)
        failed = sorted((k, s.error) for k, s in cluster.kinds.items()
                        if s.error and not s.forbidden and not s.complete and "(404)" not in s.error)
        if failed:  # the output would otherwise show e.g. "0 pods" as if that were true
            progress.warn(f"could not list {', '.join(k for k, _ in failed)} ({failed[0][1]}); "
                          "the output lacks them (JSON: kinds.<kind>.error)")
        progress(f"listed {len(cluster.nodes):,} nodes, {len(cluster.pods):,} pods; fetching metrics…", force=True)
        if use_metrics:
            metrics_src = open_metrics(settings.metrics, conn)
        else:
            from ..sources.metrics import NoMetrics

            metrics_src = NoMetrics("--no-metrics")
        try:
            metrics = metrics_src.fetch(time.time())  # metrics on our clock; cluster.taken_at is the cluster's
        finally:
            metrics_src.close()
        if use_metrics and metrics is not None:
            bad = sorted((a, st.reason) for a, st in metrics.areas.items()  # "no ... found": not set up, not a fault
                         if (not st.ok or st.stale) and not st.reason.startswith("no "))
            if bad and not str(getattr(metrics, "source", "")).startswith("none"):  # none: no source at all
                progress.warn(f"metrics unavailable for {', '.join(a for a, _ in bad)}: {bad[0][1]}")
    finally:
        close = getattr(conn, "close", None)
        if close:
            close()
    return cluster, metrics


@contextlib.contextmanager
def built(what: str) -> Iterator[None]:
    """A module of this package not built yet: one line, not a traceback (development builds)."""
    try:
        yield
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("kubewatch_ml"):
            raise
        raise UserError(f"{what} is not available in this build ({e.name})") from None


# --- output ---------------------------------------------------------------------------------


def check_output(path: str | None, *, directory: bool = False) -> None:
    """Fail before the slow part if the output cannot be written (exit 4)."""
    if not path or path == "-":
        return
    p = Path(path)
    if directory:
        if p.exists() and not p.is_dir():
            raise UserError(f"cannot write to {p}: not a directory", EXIT_OUTPUT)
        parent = p if p.exists() else p.parent
    else:
        if p.is_dir():
            raise UserError(f"cannot write {p}: it is a directory", EXIT_OUTPUT)
        parent = p.parent
    if not parent.exists():
        raise UserError(f"cannot write {p}: directory {parent} does not exist", EXIT_OUTPUT)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {p}: directory {parent} is not writable", EXIT_OUTPUT)


def write_output(data: bytes | str, path: str | None) -> None:
    """stdout, or the file replaced atomically: a reader never sees half an export."""
    raw = data.encode() if isinstance(data, str) else data
    if not path or path == "-":
        try:
            sys.stdout.buffer.write(raw)
            sys.stdout.buffer.flush()
        except BrokenPipeError:  # `| head` closed the pipe: not an error worth a traceback
            with contextlib.suppress(OSError):
                sys.stdout = open(os.devnull, "w")
        return
    p = Path(path)
    check_output(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except OSError as e:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp)
        raise UserError(f"cannot write {p}: {e.strerror or e}", EXIT_OUTPUT) from None
