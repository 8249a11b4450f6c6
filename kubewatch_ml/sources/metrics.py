"""Choose the metrics source: a given Prometheus, one discovered in the cluster (reached through
the API server's service proxy), direct scraping of exporters (given or discovered), or none.

    metrics = open_metrics(settings.metrics, conn)
    metrics.describe()   # "prometheus http://… (ready)" / "direct scrape: …" / "none: <why>"
    metrics.fetch(now)   # MetricsSnapshot; never raises for source faults
    metrics.close()
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Iterable
from urllib.parse import quote, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from ..errors import UserError
from ..metrics_snapshot import MetricsSnapshot
from ..settings import MetricsOptions
from .prometheus import PrometheusMetrics
from .scrape import Endpoint, EndpointError, EndpointMissing, ScrapeMetrics, http_endpoint, http_endpoints

# kube-prometheus-stack / prometheus-operator / kube-prometheus / the prometheus chart, in that order
PROMETHEUS_SERVICES = ("prometheus-operated", "kube-prometheus-stack-prometheus", "prometheus-k8s", "prometheus-server",
                       "prometheus")
MONITORING_NAMESPACES = ("monitoring", "prometheus", "observability", "kube-system")
KSM_NAMES = ("kube-state-metrics", "kube-prometheus-stack-kube-state-metrics", "prometheus-kube-state-metrics")
DCGM_NAMES = ("nvidia-dcgm-exporter", "dcgm-exporter")
EXPORTER_NAMESPACES = MONITORING_NAMESPACES + ("gpu-operator", "nvidia-gpu-operator")
MAX_KUBELETS = 100  # direct kubelet scraping through the API server beyond this is Prometheus' job


class NoMetrics:
    def __init__(self, reason: str):
        self.reason = reason

    def describe(self) -> str:
        return f"none: {self.reason}"

    def fetch(self, now: float) -> MetricsSnapshot:
        return MetricsSnapshot.empty(now, self.reason)

    def close(self) -> None:
        pass


# --- the API server as a transport -----------------------------------------------------------
def _call(conn: Any, path: str, params: dict | None = None, timeout: float | None = None) -> tuple[int, bytes]:
    kw = {"timeout": timeout} if timeout is not None else {}
    r = conn.request("GET", path, params=params, **kw)
    status, body = r  # KubeResponse unpacks as (status, body)
    return int(status), body


class KubeProxySession(requests.Session):
    """A requests.Session whose requests go through the Kubernetes connection (its auth, TLS and
    read-only guard), so PrometheusConnect can talk to a service behind the API server's proxy."""

    def __init__(self, conn: Any, base_url: str, base_path: str):
        super().__init__()
        self.conn, self.base_url, self.base_path = conn, base_url.rstrip("/"), base_path.rstrip("/")

    def request(self, method, url, params=None, data=None, headers=None, timeout=None, **_ignored):  # noqa: D401
        parts = urlsplit(url)
        path = url[len(self.base_url):] if url.startswith(self.base_url) else parts.path
        path = path.split("?", 1)[0]
        q = dict(params or {})
        if parts.query:
            from urllib.parse import parse_qsl
            q.update(parse_qsl(parts.query))
        t = timeout if isinstance(timeout, (int, float)) else None
        try:
            status, body = _call(self.conn, self.base_path + path, q or None, t)
        except UserError as e:  # ConnectError from the connection: one line already
            raise requests.exceptions.ConnectionError(str(e)) from None
        resp = requests.Response()
        resp.status_code, resp._content, resp.url = status, body, url
        resp.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        resp.encoding = "utf-8"
        return resp


def proxy_endpoint(conn: Any, path: str, where: str, timeout: float) -> Endpoint:
    def get() -> bytes:
        status, body = _call(conn, path, None, timeout)
        if status != 200:
            raise EndpointError(f"HTTP {status}")
        return body
    return Endpoint(where, get)


def _port(svc: dict, preferred: Iterable[str], default: int) -> str:
    ports = svc.get("spec", {}).get("ports") or []
    for want in preferred:
        for p in ports:
            if p.get("name") == want or str(p.get("port")) == want:
                return p.get("name") or str(p["port"])
    for p in ports:
        if p.get("port") == default:
            return p.get("name") or str(p["port"])
    return (ports[0].get("name") or str(ports[0]["port"])) if ports else str(default)


def _services(conn: Any, namespaces: Iterable[str], timeout: float) -> list[dict]:
    """Services cluster-wide, or per namespace when listing all is forbidden."""
    status, body = _call(conn, "/api/v1/services", None, timeout)
    if status == 200:
        return json.loads(body).get("items") or []
    out = []
    for ns in namespaces:
        status, body = _call(conn, f"/api/v1/namespaces/{ns}/services", None, timeout)
        if status == 200:
            out.extend(json.loads(body).get("items") or [])
    return out


def _candidates(services: list[dict], names: Iterable[str]) -> list[dict]:
    """Services with the known names, in the order of `names`."""
    out = []
    for n in names:
        out.extend(s for s in services if s["metadata"]["name"] == n)
    return out


def _pick(services: list[dict], names: Iterable[str], label_values: Iterable[str] = ()) -> dict | None:
    by_name = {}
    for s in services:
        by_name.setdefault(s["metadata"]["name"], s)
    for n in names:
        if n in by_name:
            return by_name[n]
    for s in services:
        lbl = s["metadata"].get("labels") or {}
        if lbl.get("app.kubernetes.io/name") in label_values or lbl.get("app") in label_values:
            return s
    return None


def _svc_path(svc: dict, port: str) -> tuple[str, str]:
    md = svc["metadata"]
    return (f"/api/v1/namespaces/{quote(md['namespace'])}/services/{quote(md['name'])}:{quote(port)}/proxy",
            f"{md['namespace']}/{md['name']}:{port}")


def _dcgm_endpoint(conn: Any, svc: dict, port: str, timeout: float) -> Endpoint:
    """dcgm-exporter runs one pod per GPU node behind its service: scrape every pod through the
    pod proxy (the service proxy would reach one random node); fall back to the service."""
    md = svc["metadata"]
    sel = svc.get("spec", {}).get("selector") or {}
    svc_path, where = _svc_path(svc, port)
    target_port = next((str(p.get("targetPort", p.get("port"))) for p in svc.get("spec", {}).get("ports") or ()
                        if (p.get("name") or str(p.get("port"))) == port), "9400")

    def get() -> list[bytes] | bytes:
        if sel:
            status, body = _call(conn, f"/api/v1/namespaces/{md['namespace']}/pods",
                                 {"labelSelector": ",".join(f"{k}={v}" for k, v in sorted(sel.items()))}, timeout)
            pods = [p for p in (json.loads(body).get("items") or []) if p.get("status", {}).get("phase") == "Running"] \
                if status == 200 else []
            if pods:
                bodies = []
                for p in pods:
                    st, b = _call(conn, f"/api/v1/namespaces/{md['namespace']}/pods/{p['metadata']['name']}:{target_port}/proxy/metrics",
                                  None, timeout)
                    if st != 200:  # no pod proxy (or that pod is sick): the service still answers for one
                        bodies = None
                        break
                    bodies.append(b)
                if bodies:
                    return bodies
        status, body = _call(conn, svc_path + "/metrics", None, timeout)
        if status != 200:
            raise EndpointError(f"HTTP {status}")
        return body
    return Endpoint(f"{where} via the API server", get)


_MATCHER = r'\s*[A-Za-z_][A-Za-z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*'
_MATCHERS = re.compile(rf"{_MATCHER}(?:,{_MATCHER})*")


def kubelet_endpoint(conn: Any, path: str, timeout: float, limit: int = MAX_KUBELETS) -> Endpoint:
    """Every Ready node's kubelet `path` (/metrics/probes or /metrics/cadvisor) through the API
    server's node proxy (RBAC: nodes/proxy), a few nodes at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def get() -> list[bytes]:
        status, body = _call(conn, "/api/v1/nodes", None, timeout)
        if status != 200:
            raise EndpointError(f"HTTP {status} listing nodes")
        nodes = [n["metadata"]["name"] for n in json.loads(body).get("items") or []
                 if any(c.get("type") == "Ready" and c.get("status") == "True" for c in n.get("status", {}).get("conditions") or ())]
        if len(nodes) > limit:
            raise EndpointError(f"{len(nodes)} nodes: too many kubelets to scrape one by one (limit {limit}); "
                                "use Prometheus, or --kubelet-url")

        def one(node: str) -> bytes:
            st, b = _call(conn, f"/api/v1/nodes/{quote(node)}/proxy{path}", None, timeout)
            if st in (403, 404):  # no node proxy, or not allowed: not set up rather than broken
                why = "RBAC nodes/proxy not granted" if st == 403 else "the API server has no node proxy"
                raise EndpointMissing(f"no kubelet metrics through the API server ({why}: HTTP {st} from node {node}); "
                                      "pass --kubelet-url")
            if st != 200:
                raise EndpointError(f"HTTP {st} from node {node}")
            return b
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="kubelet") as pool:
            return list(pool.map(one, nodes))
    return Endpoint(f"kubelets{path} via the API server", get)


# --- choosing ----------------------------------------------------------------------------------
def validate(opts: MetricsOptions) -> None:
    for flag, url in (("--prometheus-url", opts.prometheus_url), ("--kube-state-metrics-url", opts.kube_state_metrics_url),
                      ("--dcgm-url", opts.dcgm_url), *(("--kubelet-url", u) for u in opts.kubelet_urls)):
        if url and urlsplit(url).scheme not in ("http", "https"):
            raise UserError(f"{flag} {url!r} is not an http(s) URL")
    if opts.prometheus_basic_auth and ":" not in opts.prometheus_basic_auth:
        raise UserError("--prometheus-basic-auth must be USER:PASSWORD")
    for h in opts.prometheus_headers:
        if ":" not in h or not h.split(":", 1)[0].strip():
            raise UserError(f"--prometheus-header {h!r} must look like 'Name: value'")
    if opts.prometheus_ca_file and not os.path.isfile(opts.prometheus_ca_file):
        raise UserError(f"--prometheus-ca-file {opts.prometheus_ca_file}: no such file")
    if opts.prometheus_selector and not _MATCHERS.fullmatch(opts.prometheus_selector):
        raise UserError(f"--prometheus-selector {opts.prometheus_selector!r} must be label matchers like "
                        "'cluster=\"prod-eu\"' (=, !=, =~, !~; comma-separated)")
    if opts.query_timeout <= 0:
        raise UserError("--query-timeout must be positive")
    if opts.scrape_timeout <= 0:
        raise UserError("--scrape-timeout must be positive")


def open_metrics(opts: MetricsOptions, conn: Any = None, **tuning: Any):
    """The metrics source for these options. `tuning` passes history/idle-window settings to the
    source (tests and the demo use short windows). Raises UserError for malformed options only."""
    validate(opts)
    t = opts.query_timeout
    explicit_exporters = bool(opts.kube_state_metrics_url or opts.dcgm_url or opts.kubelet_urls)
    if opts.prometheus_url and not opts.no_prometheus:
        pm = PrometheusMetrics(opts.prometheus_url, opts, **_only(tuning, PROM_TUNING))
        pm.ready()  # given explicitly: used even when down (it may come up); describe() says how it is
        return pm
    why_direct = "--no-prometheus" if opts.no_prometheus else ""
    services: list[dict] = []
    if conn is not None:
        try:
            services = _services(conn, EXPORTER_NAMESPACES, t)
        except Exception as e:  # discovery is best effort; say so
            why_direct = why_direct or f"service discovery failed ({str(e)[:80]})"
    if not opts.no_prometheus and not explicit_exporters and conn is not None:
        candidates = _candidates([s for s in services if s["metadata"].get("namespace") in MONITORING_NAMESPACES],
                                 PROMETHEUS_SERVICES)
        tried = []
        for svc in candidates:
            port = _port(svc, ("web", "http-web", "http", "9090"), 9090)
            path, where = _svc_path(svc, port)
            base = conn.url(path) if hasattr(conn, "url") else "http://kube-api" + path
            pm = PrometheusMetrics(base, opts, session=KubeProxySession(conn, base, path),
                                   label=f"prometheus {where} via the API server", **_only(tuning, PROM_TUNING))
            ok, why = pm.ready()
            if ok:
                return pm
            pm.close()
            tried.append(f"{where} {why}")
        if tried:
            why_direct = why_direct or "Prometheus found but unusable: " + "; ".join(tried)
        else:
            why_direct = why_direct or "no Prometheus service found in " + "/".join(MONITORING_NAMESPACES)
    st = opts.scrape_timeout  # exporters: a big cluster's kube-state-metrics needs longer than a query
    endpoints: dict[str, Endpoint] = {}
    if opts.kube_state_metrics_url:
        endpoints["kube-state-metrics"] = http_endpoint(opts.kube_state_metrics_url, st)
    elif conn is not None:
        svc = _pick(services, KSM_NAMES, ("kube-state-metrics",))
        if svc is not None:
            path, where = _svc_path(svc, _port(svc, ("http-metrics", "http", "metrics", "8080"), 8080))
            endpoints["kube-state-metrics"] = proxy_endpoint(conn, path + "/metrics", f"{where} via the API server", st)
    if opts.dcgm_url:
        endpoints["dcgm"] = http_endpoint(opts.dcgm_url, st)
    elif conn is not None:
        svc = _pick(services, DCGM_NAMES, ("nvidia-dcgm-exporter", "dcgm-exporter"))
        if svc is not None:
            endpoints["dcgm"] = _dcgm_endpoint(conn, svc, _port(svc, ("gpu-metrics", "metrics", "9400"), 9400), st)
    if opts.kubelet_urls:
        bases = [u.rstrip("/") for u in opts.kubelet_urls]
        endpoints["probes"] = http_endpoints([b + "/metrics/probes" for b in bases], st)
        endpoints["cadvisor"] = http_endpoints([b + "/metrics/cadvisor" for b in bases], st)
    elif conn is not None and endpoints:  # the cluster answered: its kubelets, through the node proxy
        endpoints["probes"] = kubelet_endpoint(conn, "/metrics/probes", st)
        endpoints["cadvisor"] = kubelet_endpoint(conn, "/metrics/cadvisor", st)
    if not endpoints:
        return NoMetrics((why_direct + "; " if why_direct else "") + "no exporters found or given "
                         "(--prometheus-url, --kube-state-metrics-url, --dcgm-url, --kubelet-url)")
    label = "direct scrape: " + ", ".join(f"{k} {e.where}" for k, e in endpoints.items())
    if why_direct:
        label += f" ({why_direct})"
    return ScrapeMetrics(endpoints, timeout=st, label=label, **_only(tuning, SCRAPE_TUNING))


PROM_TUNING = ("history_seconds", "history_step", "stale_after", "sparkline_points", "min_idle_coverage")
SCRAPE_TUNING = ("idle_window", "history_seconds", "history_points", "hpa_points", "stale_after")


def _only(d: dict, keys: tuple[str, ...]) -> dict:
    return {k: v for k, v in d.items() if k in keys}
