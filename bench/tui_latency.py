"""Key-to-repaint latency of the dashboard at 5,000 nodes / 150,000 pods, while loading and refreshing.

    .venv/bin/python bench/tui_latency.py [--nodes 5000] [--pods 150000] [--rounds 3] [--sim | --sim-process] [--feed process|thread]

Default: a feed over a synthetic snapshot (bench/analysis.py) that first reports a cold load for a few
seconds, then hands out a new frame every --refresh seconds, each one re-analysed in the feed's thread,
so the UI competes with analyze() + row building for the GIL like it does on a live cluster.
--sim: the real path instead — SimCluster(nodes, pods) on loopback, list+watch over HTTP, direct scrape;
--sim-process: the same with the simulator in its own process (as a remote cluster). With either, --feed
process (default, as the dashboard runs) puts the live feed in a child process (feed_process.py), --feed
thread keeps it in the dashboard's threads.
Each sample: press a key through the Pilot, wait until the app is idle (message queue drained, screen
refreshed), take the wall time. Target: p95 < 100 ms (BENCHMARKS.md).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kubewatch_ml.feed import FeedStatus, build_frame, settle_long_lived  # noqa: E402
from kubewatch_ml.snapshot import KindState  # noqa: E402

KEYS = ["2", "down", "down", "3", "down", "o", "4", "5", "6", "pagedown", "7", "down", "8", "1", "O", "3", "end", "home"]


SWITCH_INTERVAL = 0.0  # --switch-interval
SLOWEST: list[tuple[float, str, str, float]] = []  # (latency ms, phase, key, seconds after start)


class RefreshingFeed:
    """Cold load for `load_seconds` (progress only), then a freshly analysed frame every `refresh` seconds."""

    def __init__(self, cluster, metrics, load_seconds: float, refresh: float):
        self.cluster, self.metrics = cluster, metrics
        self.start = time.monotonic()
        self.load_seconds, self.refresh = load_seconds, refresh
        self.closed = threading.Event()
        self.frames = 0
        self.last = 0.0

    def _loading(self) -> bool:
        return time.monotonic() - self.start < self.load_seconds

    def progress(self) -> FeedStatus:
        frac = min(1.0, (time.monotonic() - self.start) / self.load_seconds)
        n = len(self.cluster.pods)
        kinds = {"nodes": KindState("nodes", listed=len(self.cluster.nodes), complete=True),
                 "pods": KindState("pods", listed=int(n * frac), pages=int(n * frac) // 500, complete=frac >= 1)}
        return FeedStatus(context="bench", api_state="loading" if frac < 1 else "connected", kinds=kinds, loaded=frac >= 1)

    def next_frame(self, timeout: float):
        if self._loading():
            self.closed.wait(min(timeout, 0.1))
            return None
        wait = self.last + self.refresh - time.monotonic()
        if wait > 0 and self.closed.wait(min(wait, timeout)):
            return None
        if time.monotonic() < self.last + self.refresh:
            return None
        self.last = time.monotonic()
        self.frames += 1
        now = self.cluster.taken_at + self.frames
        frame = build_frame(self.cluster, self.metrics, now, self.progress())
        if self.frames == 1:
            settle_long_lived()  # as LiveFeed does after the initial load
        return frame

    def close(self):
        self.closed.set()


FEED_RSS: list[float] = []  # the feed process's peak RSS (MiB), when there is one


def watch_feed_rss(feed) -> None:
    """The feed child's peak RSS (VmHWM), polled while it runs (the app closes the feed when it exits;
    RUSAGE_CHILDREN would include the simulator's process)."""
    proc = getattr(feed, "proc", None)
    if proc is None:
        return

    def poll():
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    peak = [int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:")]
            except OSError:
                return
            FEED_RSS[:] = peak
            time.sleep(0.5)

    threading.Thread(target=poll, daemon=True).start()


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


class FullCollections:
    """Full (gen2) collections while measuring: count and the longest pause (they hold the GIL)."""

    def __init__(self):
        self.pauses: list[float] = []
        self._t0 = 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase, info):
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._t0) * 1000)

    def report(self) -> str:
        if not self.pauses:
            return "full GC collections: 0"
        return f"full GC collections: {len(self.pauses)}, longest {max(self.pauses):.0f} ms, total {sum(self.pauses):.0f} ms"


class UiWork:
    """Time the UI thread spends applying each new frame (a key arriving meanwhile waits for it)."""

    def __init__(self):
        from kubewatch_ml.screens.main import MainScreen

        self.applies: list[float] = []
        original = MainScreen.on_frame_ready

        def timed(screen, message):
            t0 = time.perf_counter()
            try:
                return original(screen, message)
            finally:
                self.applies.append((time.perf_counter() - t0) * 1000)

        MainScreen.on_frame_ready = timed

    def report(self) -> str:
        if not self.applies:
            return "frames applied on the UI thread: 0"
        return (f"frames applied on the UI thread: {len(self.applies)}, p50 {statistics.median(self.applies):.0f} ms, "
                f"max {max(self.applies):.0f} ms")


class PaintClock:
    """Key-to-repaint: from the key press to the first screen update after the key's action ran.
    (Pilot.press + pause also waits for the app to go idle, ~60 ms of polling that no user sees;
    that total is reported too, as 'pilot'.)"""

    def __init__(self, app):
        self.paints: list[float] = []
        self.actions: list[float] = []
        display, run_action = app._display, app.run_action

        def _display(screen, update):
            self.paints.append(time.perf_counter())
            return display(screen, update)

        async def _run_action(*a, **k):
            try:
                return await run_action(*a, **k)
            finally:
                self.actions.append(time.perf_counter())

        app._display = _display
        app.run_action = _run_action

    def since(self, t0: float) -> float | None:
        done = [t for t in self.actions if t >= t0]
        if not done:
            return None
        after = [t for t in self.paints if t >= done[0]]
        return ((after[0] if after else done[0]) - t0) * 1000


async def measure(app, rounds: int, phase_of, min_refresh: int = 0) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    started = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        clock = PaintClock(app)
        if SWITCH_INTERVAL:  # an experiment: override the app's sys.setswitchinterval (set when it mounted)
            sys.setswitchinterval(SWITCH_INTERVAL)
        await pilot.pause(0.2)

        async def one(key):
            phase = phase_of(app)
            if phase != "loading" and "first frame (s)" not in samples:
                samples["first frame (s)"] = [time.perf_counter() - started]
            t0 = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            total = (time.perf_counter() - t0) * 1000
            latency = clock.since(t0)
            if latency is not None:
                samples.setdefault(phase, []).append(latency)
                SLOWEST.append((latency, phase, key, t0 - started))
            samples.setdefault(f"{phase} (pilot)", []).append(total)
            await asyncio.sleep(0.05)  # a human-ish pace; frames keep arriving meanwhile

        for _ in range(rounds):
            for key in KEYS:
                await one(key)
        deadline = time.monotonic() + 120
        while len(samples.get("refreshing", [])) < min_refresh and time.monotonic() < deadline:
            for key in KEYS:
                await one(key)
    return samples


def run_sim_process(args, app_class) -> dict[str, list[float]]:
    import subprocess
    import tempfile
    from dataclasses import replace

    from kubewatch_ml.feed import open_feed
    from kubewatch_ml.settings import KubeOptions, MetricsOptions, Settings

    script = os.path.join(os.path.dirname(sys.executable), "kubewatch-ml")
    with tempfile.TemporaryDirectory() as wd:
        kc = os.path.join(wd, "kubeconfig.yaml")
        proc = subprocess.Popen([script, "sim", "--nodes", str(args.nodes), "--pods", str(args.pods), "--speed", "10",
                                 "--kubeconfig-out", kc], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            from sim_output import read_exporter_urls  # bench/ is on sys.path

            t0 = time.perf_counter()
            urls = read_exporter_urls(proc.stdout)
            if urls is None:
                raise SystemExit("kubewatch-ml sim exited before it was ready")
            print(f"sim process ready in {time.perf_counter() - t0:.1f}s; exporters: {', '.join(urls)}")
            settings = Settings(kube=KubeOptions(kubeconfig=kc),
                                metrics=MetricsOptions(no_prometheus=True, kube_state_metrics_url=urls.get("kube-state-metrics"),
                                                       dcgm_url=urls.get("dcgm"),
                                                       kubelet_urls=tuple(u for u in [urls.get("kubelet")] if u)))
            settings = replace(settings, refresh_seconds=args.refresh)
            feed = open_feed(settings, in_process=args.feed == "thread")
            app = app_class(feed, settings)
            watch_feed_rss(feed)
            try:
                return asyncio.run(measure(app, args.rounds, lambda a: "loading" if a.main_screen.latest is None else "refreshing",
                                           min_refresh=len(KEYS) * args.rounds))
            finally:
                feed.close()
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    from kubewatch_ml.app import KubewatchApp

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--load-seconds", type=float, default=8.0)
    ap.add_argument("--refresh", type=float, default=2.0)
    ap.add_argument("--sim", action="store_true", help="against SimCluster (in this process, as `demo` runs it) over HTTP")
    ap.add_argument("--sim-process", action="store_true",
                    help="against `kubewatch-ml sim` in its own process (as a remote cluster would be) over HTTP")
    ap.add_argument("--feed", choices=("process", "thread"), default="process",
                    help="with --sim/--sim-process: the live feed in its own process (the dashboard's default) or in "
                         "the dashboard's threads (as before, and as --record runs it)")
    ap.add_argument("--switch-interval", type=float, default=0.0,
                    help="override the app's GIL switch interval (seconds) for an experiment")
    args = ap.parse_args()
    global SWITCH_INTERVAL
    SWITCH_INTERVAL = args.switch_interval
    collections = FullCollections()
    ui_work = UiWork()

    if args.sim_process:
        samples = run_sim_process(args, KubewatchApp)
    elif args.sim:
        import tempfile
        from dataclasses import replace

        from kubewatch_ml.feed import open_feed
        from kubewatch_ml.settings import KubeOptions, MetricsOptions, Settings
        from kubewatch_ml.sim.cluster import SimCluster

        with tempfile.TemporaryDirectory() as wd, SimCluster(seed=7, nodes=args.nodes, pods=args.pods, speed=10, workdir=wd) as sim:
            urls = dict(sim.exporter_urls)
            settings = Settings(kube=KubeOptions(kubeconfig=str(sim.kubeconfig_path)),
                                metrics=MetricsOptions(no_prometheus=True, kube_state_metrics_url=urls.get("kube-state-metrics"),
                                                       dcgm_url=urls.get("dcgm"), kubelet_urls=tuple(u for u in [urls.get("kubelet")] if u)))
            settings = replace(settings, refresh_seconds=args.refresh)
            t0 = time.perf_counter()
            feed = open_feed(settings, in_process=args.feed == "thread")
            app = KubewatchApp(feed, settings)
            watch_feed_rss(feed)
            samples = asyncio.run(measure(app, args.rounds, lambda a: "loading" if a.main_screen.latest is None else "refreshing",
                                          min_refresh=len(KEYS) * args.rounds))
            feed.close()
            print(f"sim: connect + measurement took {time.perf_counter() - t0:.1f}s")
    else:
        from analysis import synthetic  # bench/analysis.py

        t0 = time.perf_counter()
        cluster, metrics = synthetic(args.nodes, args.pods)
        print(f"synthetic {len(cluster.nodes)} nodes / {len(cluster.pods)} pods built in {time.perf_counter() - t0:.1f}s")
        feed = RefreshingFeed(cluster, metrics, args.load_seconds, args.refresh)
        app = KubewatchApp(feed)
        samples = asyncio.run(measure(app, args.rounds, lambda a: "loading" if a.main_screen.latest is None else "refreshing",
                                      min_refresh=len(KEYS) * args.rounds))
        print(f"frames analysed and shown: {feed.frames}")
    first = samples.pop("first frame (s)", None)
    if first:
        print(f"first frame shown {first[0]:.1f}s after the app started")
    for phase, vals in samples.items():
        print(f"{phase:10s} n={len(vals):3d}  p50 {statistics.median(vals):6.1f} ms  p95 {pct(vals, 95):6.1f} ms  "
              f"max {max(vals):6.1f} ms")
    print("slowest keys: " + ", ".join(f"{k!r} {lat:.0f} ms ({ph}, t={t:.1f}s)" for lat, ph, k, t in sorted(SLOWEST, reverse=True)[:6]))
    print(collections.report())
    print(ui_work.report())
    import resource
    print(f"dashboard process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
          + (f" (+ the feed process's, {FEED_RSS[0]:.0f} MiB peak)" if FEED_RSS else ""))
    print(f"switch interval {sys.getswitchinterval() * 1000:g} ms; load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
