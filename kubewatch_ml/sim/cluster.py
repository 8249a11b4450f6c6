"""SimCluster: the scenario loaded into an ObjectStore, served by the API server and the exporters on
loopback, with the dynamics driven by a simulated clock (a background thread at `speed` x real time,
or only `advance()` when start_clock=False, for deterministic tests)."""
from __future__ import annotations

import os
import secrets
import tempfile
import threading
import time
from typing import Any

from . import scenario as scenario_mod
from .dynamics import STEP, Dynamics
from .objects import ObjectStore

MAX_RESTART_WAIT_S = 15.0
# With speed > 1 the simulated epoch starts this far behind wall time, so the faster clock has room to run
# before it reaches the present; it never runs ahead of wall time (clients would see timestamps in the future).
DEFAULT_LAG_S = 86400.0
LOAD_ORDER = ("namespaces", "nodes", "resourcequotas", "limitranges", "networkpolicies", "services", "deployments",
              "replicasets", "statefulsets", "daemonsets", "jobs", "pods", "horizontalpodautoscalers",
              "poddisruptionbudgets", "events", "serviceaccounts", "persistentvolumeclaims", "cronjobs",
              "clusterroles", "clusterrolebindings", "leases")


def _hm(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    h, m = divmod(s // 60, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m"


class SimClock:
    """Simulated epoch seconds. Moves only by `set` (advance) — the runner thread sets it in steps."""

    def __init__(self, start: float):
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def set(self, t: float) -> None:
        with self._lock:
            self._now = max(self._now, float(t))


class SimCluster:
    def __init__(self, seed: int = 7, nodes: int = 40, pods: int = 600, speed: float = 1.0, tls: bool = False,
                 workdir: str | os.PathLike | None = None, port: int = 0, host: str = "127.0.0.1",
                 start_clock: bool = True, start: float | None = None, kubeconfig_path: str | None = None,
                 exporters: bool = True, serve: bool = True, faults: str = "", clamp_to_wall: bool = True):
        why = scenario_mod.validate_size(nodes, pods)
        if why:
            raise ValueError(why)
        if speed <= 0:
            raise ValueError(f"speed must be positive (got {speed})")
        self.seed, self.nodes_n, self.pods_n, self.speed = seed, nodes, pods, float(speed)
        self.tls, self.port, self.host = tls, port, host
        self.start_clock = start_clock
        self._own_workdir = workdir is None
        self.workdir = str(workdir) if workdir else tempfile.mkdtemp(prefix="kubewatch-sim-")
        self._kubeconfig_out = kubeconfig_path
        self._exporters_on = exporters
        self._serve_http = serve  # False: store + dynamics only (the simulator's own unit tests)
        wall = time.time()
        if start is None:  # a faster clock starts in the past and catches up (see clock_summary)
            start = wall - (DEFAULT_LAG_S if self.speed > 1 else 0.0)
        self.start_time = float(int(start))
        # The running clock never passes wall time: at `speed` until it catches up, then at 1x. (A start in
        # the future, as some tests use, is left alone; advance() always moves as asked.)
        self.clamp_to_wall = bool(clamp_to_wall) and self.start_time <= wall
        self.admin_token = secrets.token_urlsafe(24)
        self.viewer_token = secrets.token_urlsafe(24)
        self.readonly_token = secrets.token_urlsafe(24)
        self.clock = SimClock(self.start_time)
        self.store: ObjectStore | None = None
        self.telemetry = None
        self.scenario: Any = None
        self.dynamics: Dynamics | None = None
        self.api: Any = None
        self.exporters: Any = None
        self.api_url = ""
        self.kubeconfig_path = ""
        self.exporter_urls: dict[str, str] = {}
        self._step_lock = threading.Lock()
        self._next_tick = self.start_time + STEP
        self._offset = 0.0
        self.skipped_steps = 0
        self.step_errors = 0
        self._stop = threading.Event()
        self._runner: threading.Thread | None = None
        self.timings: dict[str, float] = {}
        self.fault_spec = faults  # switched on once serving (sim/faults.py); also PUT /_sim/faults?spec=
        self.faults: Any = None  # FaultController once serving

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> "SimCluster":
        t0 = time.perf_counter()
        sc = scenario_mod.build(self.seed, self.nodes_n, self.pods_n, self.start_time)
        self.timings["scenario_s"] = time.perf_counter() - t0
        self.scenario = sc
        self.telemetry = sc.telemetry
        self.store = ObjectStore(clock=self.clock)
        self._add_exporter_services(sc)
        for res in LOAD_ORDER:
            self.store.load(res, sc.objects.get(res, ()))
        self.dynamics = Dynamics(self.store, sc.telemetry, sc, seed=self.seed)
        self.timings["load_s"] = time.perf_counter() - t0
        try:
            if self._serve_http:
                self._serve()
        except BaseException:
            self.stop()
            raise
        if self.start_clock:
            self.start_clock_thread()
        self.timings["start_s"] = time.perf_counter() - t0
        return self

    def _serve(self) -> None:
        from .apiserver import ApiServer
        from .kubeconfig import write_kubeconfig
        tokens = {self.admin_token: "admin", self.viewer_token: "viewer", self.readonly_token: "readonly-role"}
        self.api = ApiServer(self.store, host=self.host, port=self.port, tls=self.tls, tokens=tokens,
                             workdir=self.workdir, version="v1.32.4")
        self.api.admin_routes["/_sim/advance"] = self._advance_route
        self.api.admin_routes["/_sim/clock"] = self._clock_route
        self.api.admin_routes["/_sim/scenario"] = self._scenario_route
        if self._exporters_on:
            from .exporters import ExporterServer
            self.exporters = ExporterServer(self.store, self.telemetry, host=self.host, clock=self.clock)
            self.exporters.start()
            self.exporter_urls = dict(self.exporters.urls)
            base_ksm = self.exporter_urls["kube-state-metrics"].rsplit("/metrics", 1)[0]
            base_dcgm = self.exporter_urls["dcgm"].rsplit("/metrics", 1)[0]
            self.api.proxy_targets[("monitoring", "kube-state-metrics", "8080")] = base_ksm
            self.api.proxy_targets[("monitoring", "kube-state-metrics", "http-metrics")] = base_ksm
            self.api.proxy_targets[("gpu-operator", "nvidia-dcgm-exporter", "9400")] = base_dcgm
            self.api.proxy_targets[("gpu-operator", "nvidia-dcgm-exporter", "gpu-metrics")] = base_dcgm
        from .faults import FaultController
        self.faults = FaultController(self.api, self.exporters, store=self.store)
        self.api.admin_routes["/_sim/faults"] = self.faults.route
        self.api.start()
        self.api_url = self.api.url
        if self.fault_spec:
            self.faults.apply(self.fault_spec)
        self.kubeconfig_path = self._kubeconfig_out or os.path.join(self.workdir, "kubeconfig")
        write_kubeconfig(self.kubeconfig_path, server=self.api_url, ca_file=self.api.ca_file,
                         users={"admin": self.admin_token, "viewer": self.viewer_token}, current="sim-admin")

    def _add_exporter_services(self, sc: Any) -> None:
        """Services through which the product discovers the exporters (the API server proxies them)."""
        rng = sc.builder.rng
        from . import manifests as mf
        for ns, name, port, pname, app in (("monitoring", "kube-state-metrics", 8080, "http-metrics", "kube-state-metrics"),
                                           ("gpu-operator", "nvidia-dcgm-exporter", 9400, "gpu-metrics", "nvidia-dcgm-exporter")):
            svc = {"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": name, "namespace": ns, "uid": mf.new_uid(rng),
                                "creationTimestamp": mf.rfc3339(self.start_time - 86400 * 30),
                                "labels": {"app.kubernetes.io/name": app},
                                "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(port)}},
                   "spec": {"selector": {"app.kubernetes.io/name": app}, "type": "ClusterIP", "sessionAffinity": "None",
                            "clusterIP": f"172.20.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
                            "ports": [{"name": pname, "port": port, "targetPort": port, "protocol": "TCP"}]},
                   "status": {"loadBalancer": {}}}
            svc["spec"]["clusterIPs"] = [svc["spec"]["clusterIP"]]
            sc.objects["services"] = [s for s in sc.objects["services"]
                                      if (s["metadata"]["namespace"], s["metadata"]["name"]) != (ns, name)]
            sc.objects["services"].append(svc)

    def stop(self) -> None:
        self._stop.set()
        if self._runner is not None:
            self._runner.join(timeout=10)
            self._runner = None
        if self.faults is not None:  # a restart in progress must not bring the API back after stop
            self.faults.wait_restarted(timeout=MAX_RESTART_WAIT_S)
        if self.api is not None:
            try:
                self.api.stop()
            finally:
                self.api = None
        if self.exporters is not None:
            try:
                self.exporters.stop()
            finally:
                self.exporters = None

    def __enter__(self) -> "SimCluster":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- time ----------------------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock()

    def advance(self, seconds: float) -> None:
        """Run the dynamics for `seconds` of simulated time in 15 s steps (deterministic)."""
        if seconds < 0:
            raise ValueError("cannot go back in time")
        with self._step_lock:
            end = self.clock() + seconds
            while self._next_tick <= end + 1e-9:
                self.clock.set(self._next_tick)
                self.dynamics.tick(self._next_tick)
                self._next_tick += STEP
            self.clock.set(end)
            self._offset += seconds

    def start_clock_thread(self) -> None:
        """Run the clock at `speed` x real time from where it stands (start() does this unless
        start_clock=False, e.g. to advance() through some history first)."""
        if self._runner is None:
            self._runner = threading.Thread(target=self._run_clock, name="sim-clock", daemon=True)
            self._runner.start()

    def _run_clock(self) -> None:
        """Simulated time at `speed` x real time; a dynamics step each time 15 s of it have passed.
        When a step takes longer than its share of real time, the clock skips ahead rather than pile up."""
        real0 = time.monotonic()
        sim0 = self.clock() - self._offset
        while not self._stop.is_set():
            with self._step_lock:
                target = sim0 + self._offset + (time.monotonic() - real0) * self.speed
                if self.clamp_to_wall:
                    target = min(target, max(time.time(), self.clock()))
                if target - self._next_tick > 4 * STEP:  # fell behind: skip, do not pile up
                    self._next_tick = target - STEP
                    self.skipped_steps += 1
                if self._next_tick <= target:
                    self.clock.set(self._next_tick)
                    try:
                        self.dynamics.tick(self._next_tick)
                    except Exception:  # a bug in one step must not freeze the clock of a running demo
                        self.step_errors += 1
                        if self.step_errors <= 3:
                            import traceback
                            traceback.print_exc()
                    self._next_tick += STEP
                    continue_now = self._next_tick <= target
                else:
                    continue_now = False
                self.clock.set(max(self.clock(), min(target, self._next_tick - 1e-3)))
            if not continue_now:
                self._stop.wait(max(0.02, min(0.5, (self._next_tick - target) / self.speed)))

    def clock_summary(self) -> str:
        """One line on how the simulated clock relates to wall time (printed by `kubewatch-ml sim`)."""
        behind = time.time() - self.clock()
        if self.speed <= 1 or not self.clamp_to_wall:
            if self.speed == 1:
                return "simulated time follows wall time (1x)"
            return f"simulated time runs at {self.speed:g}x" + ("" if self.clamp_to_wall else ", unclamped: it may run ahead of wall time")
        if behind <= 1:
            return f"simulated time has caught up with wall time and now runs at 1x (speed {self.speed:g}x until then)"
        catch_up = behind / (self.speed - 1)
        return (f"simulated time is {_hm(behind)} behind wall time and runs at {self.speed:g}x until it "
                f"catches up (in about {_hm(catch_up)}), then at 1x; it never runs ahead of wall time")

    # --- admin routes ----------------------------------------------------------------------------------
    def _advance_route(self, method: str, query: dict, body: bytes) -> tuple[int, Any]:
        if method not in ("POST", "PUT"):
            return 405, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 405,
                         "reason": "MethodNotAllowed", "message": "POST /_sim/advance?seconds=N"}
        raw = query.get("seconds", "15")
        if isinstance(raw, list):
            raw = raw[0]
        try:
            seconds = float(raw)
            if not 0 <= seconds <= 7 * 86400:
                raise ValueError
        except (TypeError, ValueError):
            return 400, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 400, "reason": "BadRequest",
                         "message": f"seconds must be a number between 0 and 604800, got {raw!r}"}
        self.advance(seconds)
        return 200, self._clock_body()

    def _clock_route(self, method: str, query: dict, body: bytes) -> tuple[int, Any]:
        return 200, self._clock_body()

    def _scenario_route(self, method: str, query: dict, body: bytes) -> tuple[int, Any]:
        """The planted cases by name, so tests of the product can find them over HTTP."""
        return 200, self.planted()

    def planted(self) -> dict:
        sc = scenario_mod
        s = self.scenario
        return {"seed": self.seed, "nodes": self.nodes_n, "pods": self.pods_n,
                "quota_near_full": list(sc.QUOTA_NEAR_FULL), "quota_exceeded": list(sc.QUOTA_EXCEEDED),
                "namespace_without_quota": sc.NAMESPACE_WITHOUT_QUOTA,
                "maxed_hpa": list(sc.MAXED_HPA), "blind_hpa": list(sc.BLIND_HPA),
                "single_zone_services": [list(x) for x in sc.SINGLE_ZONE_SERVICES],
                "single_replica_service": list(sc.SINGLE_REPLICA_SERVICE),
                "cordoned_node": s.cordoned_node if s else "", "not_ready_node": s.not_ready_node if s else "",
                "mig_node": s.mig_node if s else "",
                "pending_gpu_pods": [["llm-dev", "llm-finetune-70b", "Insufficient nvidia.com/gpu"],
                                     ["vision-dev", "gpu-debug", "untolerated taint {nvidia.com/gpu: present}"],
                                     ["speech-dev", "tts-b200-benchmark", "didn't match Pod's node affinity/selector"]],
                "crash_loops": [["recsys-test", "ranker-canary", "OOMKilled"], ["platform", "feature-sync", "Error"]],
                "probe_failures": [["speech-prod", "asr-streaming", "Liveness"], ["llm-prod", "rerank-api", "Readiness"],
                                   ["speech-dev", "asr-dev", "Startup"]],
                "idle_gpu_workloads": ["notebook-*", "speech-dev/whisper-finetune-3 (stalled)"]}

    def _clock_body(self) -> dict:
        now = self.clock()
        from .manifests import rfc3339
        return {"now": now, "time": rfc3339(now), "start": self.start_time, "elapsed": now - self.start_time,
                "speed": self.speed, "running": self._runner is not None, "wall": time.time(),
                "behind_wall": time.time() - now, "clamped_to_wall": self.clamp_to_wall,
                "ticks": self.dynamics.stats["ticks"] if self.dynamics else 0}
