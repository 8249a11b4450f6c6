"""Fault injection for the simulated cluster, switchable at run time.

One controller over the API server, the exporters and (optionally) a fault proxy in front of a
Prometheus. Faults are named by a short spec, the same on the command line (`sim --faults SPEC`) and
over HTTP (`PUT /_sim/faults?spec=SPEC`, admin token; `DELETE /_sim/faults` clears everything):

    api-restart[=S]        one-shot: the API port closes for S seconds (default 2), then the server is back
                           on the same port with a new resourceVersion history (old watches/continues: 410)
    api-gone               one-shot: history compacted and open watches cut, so clients get 410 and relist
    api-drop-watches       every watch is closed right after its first batch
    api-slow=S             every API request answers S seconds late
    api-slow-writes=S      a stored write is answered S seconds late (a client timing out cannot know it landed)
    api-500[=RES+RES]      500 on those resources (default every resource); also api-503, api-504
    api-429[=RES+RES]      429 with Retry-After: 1
    api-forbid=RES+RES     403 on those resources (as a role without them)
    exporter-malformed=E+E exporters serve torn, unparseable text (E: ksm|kube-state-metrics, dcgm, kubelet)
    exporter-down=E+E      exporters close the connection without answering
    exporter-500=E+E       exporters answer 500
    exporter-slow=S        exporters answer S seconds late
    prometheus-down        the Prometheus proxy closes every connection without answering
    prometheus-slow=S      the Prometheus proxy answers S seconds late
    prometheus-error[=C]   the Prometheus proxy answers C (default 503) with a Prometheus error body
    none                   clear every fault

Items are separated by commas: `--faults api-500=pods,exporter-malformed=dcgm`.
"""
from __future__ import annotations

import http.client
import http.server
import socket
import threading
import time
import urllib.parse
from typing import Any

import orjson

EXPORTER_ALIASES = {"ksm": "kube-state-metrics", "kube-state-metrics": "kube-state-metrics", "dcgm": "dcgm",
                    "kubelet": "kubelet", "cadvisor": "kubelet"}
API_STATUS = {"api-500": 500, "api-503": 503, "api-504": 504, "api-429": 429, "api-forbid": 403}
MAX_SECONDS = 600.0


class FaultSpecError(ValueError):
    """A spec that cannot be parsed; the message is one line naming the bad item."""


def _seconds(item: str, value: str, default: float | None) -> float:
    if not value:
        if default is None:
            raise FaultSpecError(f"fault {item!r} needs a number of seconds (e.g. {item}=2)")
        return default
    try:
        s = float(value)
    except ValueError:
        raise FaultSpecError(f"fault {item!r}: {value!r} is not a number of seconds") from None
    if not 0 <= s <= MAX_SECONDS:
        raise FaultSpecError(f"fault {item!r}: seconds must be between 0 and {MAX_SECONDS:g} (got {value})")
    return s


def _names(item: str, value: str, required: bool) -> list[str]:
    names = [n.strip() for n in value.split("+") if n.strip()] if value else []
    if required and not names:
        raise FaultSpecError(f"fault {item!r} needs names, e.g. {item}=pods+events")
    for n in names:
        if n != "*" and not n.replace("-", "").replace(".", "").isalnum():
            raise FaultSpecError(f"fault {item!r}: bad name {n!r}")
    return names


def parse_spec(spec: str) -> list[tuple[str, Any]]:
    """SPEC -> [(fault, argument)] in order; raises FaultSpecError (one line) on the first bad item."""
    out: list[tuple[str, Any]] = []
    for raw in (spec or "").split(","):
        item = raw.strip()
        if not item:
            continue
        name, _, value = item.partition("=")
        name, value = name.strip().lower(), value.strip()
        if name in ("none", "clear", "off"):
            out.append(("none", None))
        elif name == "api-restart":
            out.append((name, _seconds(name, value, 2.0)))
        elif name in ("api-gone", "api-drop-watches", "prometheus-down"):
            if value:
                raise FaultSpecError(f"fault {name!r} takes no value")
            out.append((name, None))
        elif name in ("api-slow", "api-slow-writes", "exporter-slow", "prometheus-slow"):
            out.append((name, _seconds(name, value, None)))
        elif name in API_STATUS:
            out.append((name, _names(name, value, required=name == "api-forbid") or ["*"]))
        elif name in ("exporter-malformed", "exporter-down", "exporter-500"):
            names = _names(name, value, required=False) or ["kube-state-metrics", "dcgm", "kubelet"]
            bad = [n for n in names if n not in EXPORTER_ALIASES]
            if bad:
                raise FaultSpecError(f"fault {name!r}: unknown exporter {bad[0]!r} (ksm, dcgm, kubelet)")
            out.append((name, sorted({EXPORTER_ALIASES[n] for n in names})))
        elif name == "prometheus-error":
            try:
                code = int(value or 503)
            except ValueError:
                raise FaultSpecError(f"fault 'prometheus-error': {value!r} is not an HTTP status") from None
            if not 400 <= code <= 599:
                raise FaultSpecError(f"fault 'prometheus-error': status must be 400-599 (got {code})")
            out.append((name, code))
        else:
            raise FaultSpecError(f"unknown fault {name!r} (see `kubewatch-ml sim --help` for the list)")
    return out


class PrometheusFaultProxy:
    """A reverse proxy on loopback in front of a Prometheus: forwards GET/POST unchanged unless a
    fault says otherwise ({"down": bool, "latency": s, "error": code or 0})."""

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0):
        self.upstream = urllib.parse.urlsplit(upstream.rstrip("/"))
        self.host, self.port = host, port
        self.faults: dict[str, Any] = {"down": False, "latency": 0.0, "error": 0}
        self.requests = 0
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "PrometheusFaultProxy":
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                proxy.requests += 1
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                f = proxy.faults
                if f.get("latency"):
                    time.sleep(float(f["latency"]))
                if f.get("down"):
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if f.get("error"):
                    data = orjson.dumps({"status": "error", "errorType": "unavailable",
                                         "error": f"injected fault: {int(f['error'])}"})
                    return self._answer(int(f["error"]), data, "application/json")
                up = proxy.upstream
                conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "accept-encoding")}
                    conn.request(self.command, up.path + self.path, body=body, headers=headers)
                    r = conn.getresponse()
                    data = r.read()
                    self._answer(r.status, data, r.getheader("Content-Type") or "application/json")
                except OSError as e:
                    self._answer(502, f"upstream prometheus: {e}".encode(), "text/plain")
                finally:
                    conn.close()

            def _answer(self, code: int, data: bytes, ctype: str) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True

            do_GET = do_POST = _forward

        self._server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="prometheus-fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "PrometheusFaultProxy":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class FaultController:
    """Switches faults on the parts of one simulated cluster. `api`, `exporters` and `prometheus`
    (a PrometheusFaultProxy) may each be None; a fault for a missing part is refused."""

    def __init__(self, api: Any = None, exporters: Any = None, prometheus: PrometheusFaultProxy | None = None,
                 store: Any = None):
        self.api, self.exporters, self.prometheus = api, exporters, prometheus
        self.store = store if store is not None else getattr(api, "store", None)
        self.active: list[str] = []  # the items switched on, as given (one-shots not kept)
        self.restarts = 0
        self.gones = 0
        self._lock = threading.Lock()
        self._restarting: threading.Thread | None = None
        self.write_delay = 0.0  # api-slow-writes
        if api is not None:  # runs after a write is stored, before it is answered
            before = api.on_write

            def after_write(resource: str, verb: str, obj: Any) -> None:
                if before is not None:
                    before(resource, verb, obj)
                if self.write_delay:
                    time.sleep(self.write_delay)

            api.on_write = after_write

    # --- the spec -------------------------------------------------------------------------------
    def apply(self, spec: str) -> dict:
        """Parse the whole spec first (nothing changes when an item is bad), then switch it on."""
        items = parse_spec(spec)
        for name, _ in items:
            part = name.split("-", 1)[0]
            if part in ("api",) and self.api is None:
                raise FaultSpecError(f"fault {name!r}: no API server to inject it into")
            if part == "exporter" and self.exporters is None:
                raise FaultSpecError(f"fault {name!r}: the exporters are not running")
            if part == "prometheus" and self.prometheus is None:
                raise FaultSpecError(f"fault {name!r}: no Prometheus fault proxy is running")
        with self._lock:
            for name, arg in items:
                self._switch_on(name, arg)
        if any(name in API_STATUS or name == "api-drop-watches" for name, _ in items):
            self.api.close_watches()  # a failing server breaks its open streams too, not only new requests
        return self.state()

    def _switch_on(self, name: str, arg: Any) -> None:
        if name == "none":
            self._clear_locked()
            return
        if name == "api-restart":
            self.restart_api(down_seconds=arg, wait=False)
            return
        if name == "api-gone":
            self.expire_history()
            return
        label = name if arg is None else f"{name}={'+'.join(arg) if isinstance(arg, list) else f'{arg:g}'}"
        self.active = [a for a in self.active if a.split("=")[0] != name] + [label]
        if name == "api-drop-watches":
            self.api.faults = {**self.api.faults, "drop_watches": True}
        elif name == "api-slow":
            self.api.faults = {**self.api.faults, "latency": arg}
        elif name == "api-slow-writes":
            self.write_delay = arg
        elif name in API_STATUS:
            status = dict(self.api.faults.get("status") or {})
            status.update({res: API_STATUS[name] for res in arg})
            self.api.faults = {**self.api.faults, "status": status}
        elif name == "exporter-malformed":
            self.exporters.faults["malformed"] = set(arg)
        elif name == "exporter-down":
            self.exporters.faults["down"] = set(arg)
        elif name == "exporter-500":
            self.exporters.faults["status"] = {e: 500 for e in arg}
        elif name == "exporter-slow":
            self.exporters.faults["latency"] = arg
        elif name == "prometheus-down":
            self.prometheus.faults["down"] = True
        elif name == "prometheus-slow":
            self.prometheus.faults["latency"] = arg
        elif name == "prometheus-error":
            self.prometheus.faults["error"] = arg

    def clear(self) -> dict:
        with self._lock:
            self._clear_locked()
        return self.state()

    def _clear_locked(self) -> None:
        self.active = []
        self.write_delay = 0.0
        if self.api is not None:
            self.api.faults = {**self.api.faults, "latency": 0.0, "status": {}, "drop_watches": False}
        if self.exporters is not None:
            self.exporters.faults.update({"malformed": set(), "down": set(), "latency": 0.0, "status": {}})
        if self.prometheus is not None:
            self.prometheus.faults.update({"down": False, "latency": 0.0, "error": 0})

    def state(self) -> dict:
        out: dict[str, Any] = {"active": list(self.active), "restarts": self.restarts, "gone": self.gones,
                               "restarting": bool(self._restarting and self._restarting.is_alive())}
        if self.api is not None:
            out["api"] = dict(self.api.faults)
        if self.exporters is not None:
            out["exporters"] = {k: sorted(v) if isinstance(v, set) else v for k, v in self.exporters.faults.items()}
        if self.prometheus is not None:
            out["prometheus"] = dict(self.prometheus.faults)
        return out

    # --- one-shot faults ---------------------------------------------------------------------------
    def expire_history(self) -> None:
        """410 Gone for every client: the watch history is dropped and open watches are cut, so a
        resuming watch (or a continue token) names a resourceVersion the server no longer has."""
        self.store.compact()
        self.gones += 1
        self.api.close_watches()

    def restart_api(self, down_seconds: float = 2.0, wait: bool = True) -> None:
        """Close the API port (connections reset, new ones refused), keep it closed `down_seconds`,
        then serve again on the same port with a new resourceVersion history."""
        api = self.api

        def run() -> None:
            api.stop()
            self.store.compact()
            time.sleep(down_seconds)
            api.start()
            self.restarts += 1

        if self._restarting is not None and self._restarting.is_alive():
            raise FaultSpecError("the API server is already restarting")
        t = threading.Thread(target=run, name="sim-api-restart", daemon=True)
        self._restarting = t
        t.start()
        if wait:
            t.join()

    def wait_restarted(self, timeout: float = 30.0) -> bool:
        t = self._restarting
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    # --- the admin route ----------------------------------------------------------------------------
    def route(self, method: str, query: dict, body: bytes) -> tuple[int, Any]:
        """/_sim/faults: GET the state; PUT/POST `?spec=` (or {"spec": "..."}) switches faults on; a
        plain JSON object is merged into the API server's own fault dict (as before); DELETE clears."""
        try:
            if method == "DELETE":
                return 200, self.clear()
            if method in ("PUT", "POST", "PATCH"):
                spec = query.get("spec")
                doc: Any = None
                if spec is None and body.strip():
                    try:
                        doc = orjson.loads(body)
                    except orjson.JSONDecodeError as e:
                        return 400, _status(400, "BadRequest", f"faults: {e}")
                    if not isinstance(doc, dict):
                        return 400, _status(400, "BadRequest", "faults: expected a JSON object")
                    spec = doc.pop("spec", None)
                if spec is not None:
                    self.apply(str(spec))
                if doc:
                    self.api.faults = {**self.api.faults, **doc}
            return 200, self.state()
        except FaultSpecError as e:
            return 400, _status(400, "BadRequest", str(e))


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": code,
            "reason": reason, "message": message}
