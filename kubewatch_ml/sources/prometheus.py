"""Metrics from a Prometheus-compatible API (Prometheus, Thanos, Mimir, VictoriaMetrics) through
prometheus-api-client's PrometheusConnect: the catalog's queries, each once per refresh, each
with a timeout; range queries clamped to Prometheus' 11,000 points per series.

A fault (unreachable, slow, HTTP error, garbage, a target down) makes the areas it touches stale
or unavailable with a one-line reason; the other areas keep working.
"""
from __future__ import annotations

import ast
import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from ..metrics_snapshot import AREAS, MetricsSnapshot
from ..queries.catalog import AREA_EXPORTER, AREA_QUERIES, BY_NAME, job_exporters, scoped
from ..queries.results import BUILDERS, AreaMemory, Rows, Series, assemble
from ..settings import MetricsOptions

MAX_POINTS = 11_000  # Prometheus refuses (end-start)/step above this


def clamp_step(start: float, end: float, step: float) -> float:
    """The smallest step >= `step` that keeps a range query within 11,000 points per series."""
    span = max(0.0, end - start)
    return max(step, math.ceil(span / MAX_POINTS) if span else step, 0.001)


def fault_reason(exc: BaseException, what: str, timeout: float, timeout_flag: str = "--query-timeout") -> str:
    """One line saying why a request to `what` failed (a timeout names the flag that sets it)."""
    if isinstance(exc, (requests.exceptions.Timeout,)):
        return f"{what} timed out after {timeout:g}s ({timeout_flag})"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "Read timed out" in text or "timed out" in text:
            return f"{what} timed out after {timeout:g}s ({timeout_flag})"
        for needle, why in (("refused", "connection refused"), ("Name or service not known", "cannot resolve the host"),
                            ("name resolution", "cannot resolve the host"), ("reset by peer", "connection reset"),
                            ("without response", "connection closed without an answer"),
                            ("RemoteDisconnected", "connection closed without an answer"),
                            ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted (--prometheus-ca-file)")):
            if needle in text:
                return f"{what} unreachable: {why}"
        return f"{what} unreachable: {text[:120]}"
    if isinstance(exc, requests.exceptions.RetryError):
        return f"{what} keeps answering errors"
    if isinstance(exc, PrometheusApiClientException):
        msg = str(exc)
        code = msg.split()[3] if msg.startswith("HTTP Status Code") else "?"
        detail = ""
        try:
            body = msg[msg.index("(") + 1: msg.rindex(")")]
            j = json.loads(ast.literal_eval(body)) if body.startswith(("b'", 'b"')) else {}  # the client's repr of bytes
            detail = j.get("error", "")
        except Exception:
            pass
        return f"{what} answered HTTP {code}" + (f": {detail[:100]}" if detail else "")
    if isinstance(exc, (ValueError, KeyError, TypeError)):
        return f"{what} answered something that is not a Prometheus API response"
    return f"{what} failed: {type(exc).__name__}: {str(exc)[:100]}"


def display_url(url: str) -> str:
    """The URL as shown to the user (status line, snapshots): without user:password@."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def auth_options(opts: MetricsOptions) -> tuple[dict[str, str], tuple[str, str] | None]:
    """Headers (bearer token, custom headers) and basic auth from the options; UserError-free: the
    CLI validated the shapes."""
    headers: dict[str, str] = {}
    for h in opts.prometheus_headers:
        name, _, value = h.partition(":")
        if name.strip():
            headers[name.strip()] = value.strip()
    if opts.prometheus_token:
        headers["Authorization"] = f"Bearer {opts.prometheus_token}"
    auth = None
    if opts.prometheus_basic_auth:
        user, _, pw = opts.prometheus_basic_auth.partition(":")
        auth = (user, pw)
    return headers, auth


class PrometheusMetrics:
    """`fetch(now)` -> MetricsSnapshot from Prometheus. `session` lets the service-proxy path
    (sources/metrics.py) route the same client through the Kubernetes API server."""

    def __init__(self, url: str, opts: MetricsOptions | None = None, session: requests.Session | None = None,
                 history_seconds: float = 1800.0, history_step: float | None = None, stale_after: float = 300.0,
                 label: str | None = None, sparkline_points: int = 30, min_idle_coverage: float = 0.9):
        self.opts = opts or MetricsOptions(prometheus_url=url)
        self.url = url.rstrip("/")
        self.timeout = float(self.opts.query_timeout)
        headers, auth = auth_options(self.opts)
        if session is None:
            session = requests.Session()
            if self.opts.prometheus_ca_file:
                session.verify = self.opts.prometheus_ca_file
        self.session = session
        self.headers = headers
        self.auth = auth
        # no retries: a refresh that fails says so now and the next refresh tries again
        self.client = PrometheusConnect(self.url, headers=headers or None, auth=auth, session=session,
                                        retry=Retry(total=0, raise_on_status=False), timeout=self.timeout)
        self.history_seconds = history_seconds
        self.history_step = history_step or max(1.0, history_seconds / 120)
        self.memory = AreaMemory(stale_after)
        self.label = label or f"prometheus {display_url(self.url)}"
        self._pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="prom-query")
        self.queries_issued = 0  # for tests: one refresh issues each query once
        self._count_lock = threading.Lock()
        self.sparkline_points = sparkline_points
        self.min_idle_coverage = min_idle_coverage  # util_avg_30m only over >= this share of 30 min
        self._state = "not checked yet"

    # --- readiness ----------------------------------------------------------------------
    def ready(self) -> tuple[bool, str]:
        """GET /-/ready (not `/`, which the Debian build answers 500). Blocking, bounded by the timeout."""
        try:
            r = self.session.get(self.url + "/-/ready", headers=self.headers, auth=self.auth, timeout=self.timeout,
                                 verify=self.session.verify)  # explicit: $REQUESTS_CA_BUNDLE would override it
        except Exception as e:
            ok, why = False, fault_reason(e, "prometheus", self.timeout)
        else:
            ok, why = (True, "ready") if r.status_code == 200 else (False, f"not ready (HTTP {r.status_code})")
        self._state = why
        return ok, why

    def describe(self) -> str:
        """No I/O: the state seen by the last readiness probe or fetch."""
        return f"{self.label} ({self._state})"

    # --- queries ------------------------------------------------------------------------
    def promql(self, name: str) -> str:
        """The catalog query `name` as sent: scoped by --prometheus-selector when given."""
        return scoped(BY_NAME[name].promql, self.opts.prometheus_selector or "")

    def instant(self, name: str, at: float | None = None) -> Rows:
        params = {"timeout": f"{self.timeout:g}"}
        if at is not None:
            params["time"] = f"{at:.3f}"
        with self._count_lock:
            self.queries_issued += 1
        result = self.client.custom_query(self.promql(name), params=params, timeout=self.timeout)
        return [(r["metric"], float(r["value"][1])) for r in result]

    def range(self, name: str, start: float, end: float, step: float) -> Series:
        step = clamp_step(start, end, step)
        with self._count_lock:
            self.queries_issued += 1
        result = self.client.custom_query_range(
            self.promql(name), start_time=datetime.fromtimestamp(start, timezone.utc),
            end_time=datetime.fromtimestamp(end, timezone.utc), step=f"{step:g}",
            params={"timeout": f"{self.timeout:g}"}, timeout=self.timeout)
        return [(r["metric"], [(float(t), float(v)) for t, v in r["values"]]) for r in result]

    def _run(self, name: str, now: float) -> Rows | Series:
        if name == "gpu_util_history":  # one series per GPU: a sparkline's worth of points, not more
            return self.range(name, now - self.history_seconds, now,
                              max(self.history_step, self.history_seconds / self.sparkline_points))
        if BY_NAME[name].range:
            return self.range(name, now - self.history_seconds, now, self.history_step)
        return self.instant(name)

    def fetch(self, now: float) -> MetricsSnapshot:
        """Never raises: a fault, or a bug here, makes the areas say why instead of killing the refresh."""
        try:
            return self._fetch(now)
        except Exception as e:  # noqa: BLE001 - the last line of defence for the UI's worker
            reason = f"metrics fetch failed: {type(e).__name__}: {str(e)[:120]}"
            return assemble(now, self.label, {a: self.memory.failed(a, reason, now) for a in AREAS})

    def _fetch(self, now: float) -> MetricsSnapshot:
        results: dict[str, Any] = {}
        # 1. scrape health, which also tells whether Prometheus answers at all
        try:
            up = self.instant("targets_up")
        except Exception as e:
            reason = fault_reason(e, "prometheus", self.timeout)
            self._state = reason
            for area in AREAS:
                results[area] = self.memory.failed(area, reason, now)
            return assemble(now, self.label, results)
        self._state = "ready"
        any_up: dict[str, bool] = {}  # exporter -> at least one of its targets is up
        job_of: dict[str, str] = {}
        dedicated = {e for lb, _ in up for e in job_exporters(lb.get("job", "")) if len(job_exporters(lb.get("job", ""))) == 1}
        for lb, v in up:
            exps = job_exporters(lb.get("job", ""))
            for exp in exps if len(exps) == 1 else exps - dedicated:  # a dedicated job wins over "kubelet"
                any_up[exp] = any_up.get(exp, False) or v == 1.0
                job_of.setdefault(exp, lb.get("job", ""))
        # 2. every area's queries, each once, in parallel
        names = [n for area in AREAS for n in AREA_QUERIES.get(area, ())]
        futures = {n: self._pool.submit(self._run, n, now) for n in dict.fromkeys(names)}
        answers: dict[str, Any] = {}
        errors: dict[str, BaseException] = {}
        deadline = time.monotonic() + 2 * self.timeout  # the refresh as a whole is bounded too
        for n, f in futures.items():
            try:
                answers[n] = f.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                f.cancel()
                errors[n] = requests.exceptions.Timeout()  # still queued behind slow queries
            except Exception as e:
                errors[n] = e
        for area in AREAS:
            exp = AREA_EXPORTER.get(area, "")
            qnames = AREA_QUERIES.get(area, ())
            if not qnames:  # an area of its own ("ksm"): as healthy as the queries its exporter feeds
                qnames = tuple(n for a, e in AREA_EXPORTER.items() if e == exp for n in AREA_QUERIES.get(a, ()))
                failed = [n for n in qnames if n in errors]
                if failed:
                    results[area] = self.memory.failed(area, fault_reason(errors[failed[0]], "prometheus", self.timeout), now)
                    continue
                qnames = ()
            failed = [n for n in qnames if n in errors]
            if failed:
                results[area] = self.memory.failed(area, fault_reason(errors[failed[0]], "prometheus", self.timeout), now)
                continue
            if any_up.get(exp) is False:
                results[area] = self.memory.failed(
                    area, f"{exp} is down: Prometheus job {job_of[exp]} has up == 0", now)
                continue
            if exp not in any_up:  # no target we recognise: is there any data from that exporter at all?
                fed = [n for a, e in AREA_EXPORTER.items() if e == exp for n in AREA_QUERIES.get(a, ())]
                if not any(answers.get(n) for n in fed):
                    sel = self.opts.prometheus_selector
                    results[area] = self.memory.failed(
                        area, f"no {exp} series in Prometheus" + (f" matching {sel}" if sel else " (is it scraped?)"), now)
                    continue
            rows = {n: answers[n] for n in qnames if not BY_NAME[n].range}
            ranges = {n: answers[n] for n in qnames if BY_NAME[n].range}
            parts = (BUILDERS[area](rows, ranges, self.min_idle_coverage) if area == "gpu"
                     else BUILDERS[area](rows, ranges))
            note = ""
            if area == "gpu" and parts["gpus"] and all(g.util_avg_30m is None for g in parts["gpus"]):
                note = "30-min averages once Prometheus holds 30 min of GPU samples"
            results[area] = self.memory.succeeded(area, parts, now, note)
        return assemble(now, self.label, results)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()

