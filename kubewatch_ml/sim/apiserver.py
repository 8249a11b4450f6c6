"""The simulator's Kubernetes API server: HTTP/1.1 (optionally TLS) on loopback, bearer tokens,
discovery, Table output, paged lists, watches, writes, subresources, the service proxy, and
admin routes (/_sim/...) for the simulator's own controls.

One request path: parse -> authenticate -> faults -> route -> authorize -> verb -> write. Errors are
ApiErrors turned into real Status objects, so kubectl and client libraries print their usual text.
"""
from __future__ import annotations

import atexit
import collections
import email.utils
import http.server
import logging
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from typing import Any, Callable

import orjson

from . import auth, discovery, listing, podlogs, tables, verbs
from ..errors import UserError
from .kinds import KindInfo
from .objects import ApiError, ObjectStore
from .selectors import both, parse_field_selector, parse_label_selector

log = logging.getLogger(__name__)
Obj = dict[str, Any]
AdminRoute = Callable[[str, dict, bytes], "tuple[int, Any]"]
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
# As kube-apiserver's response writer (APIResponseCompression, on by default): an object answer larger than
# 128 KiB to a client whose Accept-Encoding names gzip goes out gzip-compressed at level 1 (its choice: least
# CPU for ratios within 1.1-1.3x of the higher levels). kubectl and client-go ask for it; watches and logs
# are never compressed.
GZIP_THRESHOLD = 128 * 1024
GZIP_LEVEL = 1


def accepts_gzip(header: str | None) -> bool:
    """Accept-Encoding names gzip with a non-zero q ("gzip", "deflate, gzip;q=0.8"; not "gzip;q=0")."""
    for part in (header or "").split(","):
        coding, _, q = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            q = q.strip().replace(" ", "")
            return not (q.startswith("q=") and q[2:].rstrip("0").rstrip(".") in ("", "0"))
    return False


def gzip_bytes(data: bytes) -> bytes:
    z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # wbits 16+15: a gzip member, as Go's gzip.Writer
    return z.compress(data) + z.flush()


@dataclass
class Route:
    """A parsed resource URL."""
    info: KindInfo
    namespace: str  # "" = all namespaces / cluster scope
    name: str
    subresource: str
    rest: str  # the path after /proxy


def not_found_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubewatch-sim"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # headers and body go out as separate writes: without NODELAY, Nagle + delayed ACK add ~40 ms
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
                raise
            self.request.settimeout(None)
        self.server.api._track(self.request, True)  # type: ignore[attr-defined]

    def finish(self) -> None:
        self.server.api._track(self.request, False)  # type: ignore[attr-defined]
        super().finish()

    def date_time_string(self, timestamp: float | None = None) -> str:
        # the Date header carries the cluster's clock (the simulated one), as a real server's carries its own
        now = self.server.api.store.now() if timestamp is None else timestamp  # type: ignore[attr-defined]
        return email.utils.formatdate(now, usegmt=True)

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: tests and the TUI share the terminal
        log.debug("%s " + fmt, self.address_string(), *args)

    def _serve(self) -> None:
        self.server.api.handle(self)  # type: ignore[attr-defined]

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that hangs up mid-handshake or mid-stream is routine; never print to the user's terminal
        log.debug("sim apiserver: connection from %s ended with an error", client_address, exc_info=True)


class ApiServer:
    def __init__(self, store: ObjectStore, host: str = "127.0.0.1", port: int = 0, tls: bool = False,
                 tokens: dict[str, str] | None = None, workdir: str | os.PathLike | None = None,
                 version: str = "v1.32.4"):
        self.store = store
        self.host, self.port, self.tls = host, port, tls
        self.tokens = dict(tokens or {})
        self.workdir = str(workdir) if workdir else ""
        self.version = version
        self.ca_file: str | None = None
        self.proxy_targets: dict[tuple[str, str, str], str] = {}
        self.admin_routes: dict[str, AdminRoute] = {"/_sim/faults": self._faults_route}
        self.on_write: Callable[[str, str, Obj], None] | None = None
        # fault injection: {"latency": s, "status": {resource or "*": code}, "drop_watches": bool}
        self.faults: dict[str, Any] = {"latency": 0.0, "status": {}, "drop_watches": False}
        self.bookmark_interval = 10.0  # seconds between BOOKMARKs on an idle watch
        self.watch_coalesce = 0.0  # seconds a woken watch waits to batch a burst of writes (0: at once, as real)
        self.stats: collections.Counter = collections.Counter()  # "evictions_blocked", "watches", ...
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._conns: set = set()
        self._conns_lock = threading.Lock()
        self.requests: collections.Counter = collections.Counter()  # (method, path) -> count, every request
        self._tls_files: tuple[str, str, str] | None = None  # kept so a restart serves the same CA
        self._watch_socks: set = set()  # sockets serving a watch now (close_watches cuts them)
        self._token_expiry: dict[str, float] = {}  # TokenRequest tokens -> expiry (simulated clock)

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> "ApiServer":
        try:
            self._server = _Server((self.host, self.port), _Handler)
        except OSError as e:
            raise UserError(f"the simulated API server cannot listen on {self.host}:{self.port}: "
                            f"{e.strerror or e} (pick another --port)") from None
        self._server.api = self  # type: ignore[attr-defined]
        if self.tls:
            from .kubeconfig import make_tls_files
            if not self.workdir:
                self.workdir = tempfile.mkdtemp(prefix="kubewatch-sim-")
                atexit.register(shutil.rmtree, self.workdir, True)  # kept across restarts: same CA
            if self._tls_files is None or not all(os.path.exists(f) for f in self._tls_files):
                self._tls_files = make_tls_files(self.workdir)
            self.ca_file, cert, key = self._tls_files
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            ctx.set_alpn_protocols(["http/1.1"])
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True,
                                                  do_handshake_on_connect=False)
        self.port = self._server.server_address[1]
        self._stopping.clear()  # a restart (sim/faults.py) serves watches again
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="sim-apiserver", daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f'{"https" if self.tls else "http"}://{self.host}:{self.port}'

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            with self._conns_lock:
                conns = list(self._conns)
            for c in conns:  # end keep-alive connections and watches now, not at the client's timeout
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "ApiServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def close_connections(self) -> None:
        """Cut every open connection, watches included, while still listening (fault injection)."""
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close_watches(self) -> int:
        """Cut the connections serving a watch now (fault injection); returns how many."""
        with self._conns_lock:
            socks = list(self._watch_socks)
        for c in socks:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(socks)

    def _track(self, conn: Any, add: bool) -> None:
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(conn)

    # --- one request ---------------------------------------------------------------------------------
    def handle(self, h: _Handler) -> None:
        method = h.command
        parsed = urllib.parse.urlsplit(h.path)
        path = parsed.path.rstrip("/") or "/"
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        self.requests[(method, path)] += 1
        try:
            body = self._read_body(h)
        except (ValueError, OSError):
            h.close_connection = True
            return
        try:
            identity = self._authenticate(h, path)
            if path.startswith("/_sim/"):
                self._admin(h, method, path, params, body, identity)
                return
            self._apply_faults(path, method)
            self._route(h, method, path, params, body, identity, parsed.query)
        except ApiError as e:
            self._status(h, e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):  # the client gave up (its timeout)
            h.close_connection = True
        except Exception as e:  # a bug must answer 500 like a real server, not kill the connection
            log.exception("sim apiserver: %s %s", method, h.path)
            self._status(h, ApiError(500, "InternalError", f"Internal error occurred: {e}"))

    def _read_body(self, h: _Handler) -> bytes:
        n = int(h.headers.get("Content-Length") or 0)
        if n:
            return h.rfile.read(n)
        if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                size = int(h.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    h.rfile.readline()
                    return bytes(out)
                out += h.rfile.read(size)
                h.rfile.readline()
        return b""

    def _authenticate(self, h: _Handler, path: str) -> auth.Identity | None:
        header = h.headers.get("Authorization") or ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        role = self.tokens.get(token) if token else None
        if role is not None and role.startswith(auth.SA_TOKEN_PREFIX):
            return self._service_account_identity(token, role)
        if role is None:
            if not header and path in PUBLIC_PATHS:  # anonymous may read /version; a bad token may not
                return None
            raise ApiError(401, "Unauthorized", "Unauthorized")
        return auth.Identity(user=role, role=role)

    def _service_account_identity(self, token: str, role: str) -> auth.Identity:
        """A bound ServiceAccount token: valid while it has not expired and the account exists; its rights are
        whatever the stored ClusterRoleBindings grant now."""
        _, ns, name = role.split(":", 2)
        expires = self._token_expiry.get(token, 0.0)
        if self.store.now() >= expires or self.store.get("serviceaccounts", ns, name) is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        return auth.service_account_identity(self.store, ns, name)

    def _issue_token(self, namespace: str, name: str, expires: float) -> str:
        import base64
        import secrets
        claims = base64.urlsafe_b64encode(orjson.dumps({"iss": "https://kubernetes.default.svc.cluster.local",
                                                        "sub": f"system:serviceaccount:{namespace}:{name}",
                                                        "exp": int(expires)})).rstrip(b"=").decode()
        token = f"eyJhbGciOiJSUzI1NiIsImtpZCI6InNpbSJ9.{claims}.{secrets.token_urlsafe(32)}"
        self.tokens[token] = f"{auth.SA_TOKEN_PREFIX}{namespace}:{name}"
        self._token_expiry[token] = expires
        return token

    def _admin(self, h: _Handler, method: str, path: str, params: dict, body: bytes,
               identity: auth.Identity | None) -> None:
        if identity is None or identity.role != "admin":
            raise ApiError(403, "Forbidden", f'forbidden: User "{identity.user if identity else "system:anonymous"}" '
                                             f'cannot {method.lower()} path "{path}"')
        fn = self.admin_routes.get(path)
        if fn is None:
            raise not_found_path()
        code, obj = fn(method, params, body)
        self._send_json(h, code, obj)

    def _faults_route(self, method: str, params: dict, body: bytes) -> tuple[int, Any]:
        if method in ("PUT", "POST", "PATCH"):
            try:
                update = orjson.loads(body or b"{}")
            except orjson.JSONDecodeError as e:
                return 400, ApiError(400, "BadRequest", f"faults: {e}").status()
            if not isinstance(update, dict):
                return 400, ApiError(400, "BadRequest", "faults: expected a JSON object").status()
            self.faults = {**self.faults, **update}
        return 200, self.faults

    def _apply_faults(self, path: str, method: str) -> None:
        f = self.faults
        if f.get("latency"):
            time.sleep(float(f["latency"]))
        forced = f.get("status") or {}
        if forced:
            parts = [p for p in path.split("/") if p]
            for res, code in forced.items():
                if res == "*" or res in parts:
                    code = int(code)
                    reason = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
                              504: "Timeout", 403: "Forbidden"}.get(code, "InternalError")
                    raise ApiError(code, reason, f"injected fault: {code} for {res}",
                                   retry_after=1 if code in (429, 503) else None)

    # --- routing -------------------------------------------------------------------------------------
    def _route(self, h: _Handler, method: str, path: str, params: dict, body: bytes,
               identity: auth.Identity | None, query: str) -> None:
        if path == "/version":
            return self._send_json(h, 200, discovery.version_info(self.version))
        if path in ("/healthz", "/livez", "/readyz"):
            return self._send(h, 200, b"ok", "text/plain; charset=utf-8")
        assert identity is not None
        if path.startswith("/openapi/v3"):
            rest = path[len("/openapi/v3"):].strip("/").split("/")
            doc = discovery.openapi_v3_index() if rest == [""] else (
                discovery.openapi_v3_group_version("", rest[1]) if rest[0] == "api" and len(rest) == 2 else
                discovery.openapi_v3_group_version(rest[1], rest[2]) if rest[0] == "apis" and len(rest) == 3 else None)
            if doc is None:
                raise not_found_path()
            return self._send_json(h, 200, doc)
        if path == "/api":
            return self._send_json(h, 200, discovery.api_versions(f"{self.host}:{self.port}"))
        if path == "/apis":
            return self._send_json(h, 200, discovery.api_group_list())
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2:
            group, version, segs = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2:
            if len(parts) == 2:
                g = discovery.api_group(parts[1])
                if g is None:
                    raise not_found_path()
                return self._send_json(h, 200, g)
            group, version, segs = parts[1], parts[2], parts[3:]
        else:
            raise not_found_path()
        if not segs:
            rl = discovery.resource_list(group, version)
            if rl is None:
                raise not_found_path()
            return self._send_json(h, 200, rl)
        route = self._parse_route(group, version, segs)
        self._dispatch(h, method, route, params, body, identity, query)

    def _parse_route(self, group: str, version: str, segs: list[str]) -> Route:
        namespace = ""
        if segs[0] == "namespaces" and len(segs) >= 3 and not (len(segs) == 3 and segs[2] in ("status", "finalize")):
            namespace, segs = segs[1], segs[2:]
        info = discovery.lookup(group, version, segs[0])
        if info is None or (namespace and not info.namespaced):
            raise not_found_path()
        name = segs[1] if len(segs) > 1 else ""
        sub = segs[2] if len(segs) > 2 else ""
        rest = "/".join(segs[3:])
        if sub and sub not in discovery.subresources(info):
            raise not_found_path()
        if len(segs) > 3 and sub != "proxy":
            raise not_found_path()
        return Route(info, namespace, urllib.parse.unquote(name), sub, rest)

    def _verb(self, method: str, route: Route, params: dict) -> str:
        if route.subresource == "proxy":
            return {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "get")
        if method in ("GET", "HEAD"):
            if route.name:
                return "get"
            return "watch" if params.get("watch") in ("1", "true", "True") else "list"
        if method == "POST":
            return "create"
        if method == "PUT":
            return "update"
        if method == "PATCH":
            return "patch"
        if method == "DELETE":
            return "delete" if route.name else "deletecollection"
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _dispatch(self, h: _Handler, method: str, route: Route, params: dict, body: bytes,
                  identity: auth.Identity, query: str) -> None:
        info = route.info
        verb = self._verb(method, route, params)
        if (route.name and method == "POST" and route.subresource not in ("eviction", "proxy", "token")) or (
                not route.name and method in ("PUT", "PATCH")):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        allowed_verbs = {"status": ("get", "patch", "update"), "scale": ("get", "patch", "update"),
                         "eviction": ("create",), "log": ("get",), "token": ("create",)}.get(route.subresource)
        if (allowed_verbs is not None and verb not in allowed_verbs) or (
                not route.subresource and verb not in info.verbs):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if not auth.allowed(identity, verb, info.group, info.resource, route.subresource):
            raise ApiError(403, "Forbidden", auth.forbidden_message(identity, verb, info.group, info.resource,
                                                                  route.subresource, route.namespace, route.name),
                           {"name": route.name, "group": info.group,
                            "kind": f"{info.resource}/{route.subresource}" if route.subresource else info.resource})
        if info.resource == "secrets":
            return self._secrets(h, verb, route)
        if route.subresource == "proxy":
            return self._proxy(h, method, route, query)
        if route.subresource == "log":
            return self._send(h, 200, podlogs.pod_log(self.store, route.namespace, route.name, params),
                              "text/plain")
        ct = (h.headers.get("Content-Type") or "").split(";")[0].strip()
        call = verbs.Call(self.store, info, route.namespace, route.name, route.subresource, params, body, ct,
                          identity, self.on_write)
        if ct == verbs.PROTOBUF and route.subresource not in ("eviction", "token") and info.resource not in (
                "selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"):
            raise ApiError(415, "UnsupportedMediaType",
                           f'the body of the request was in an unknown format - accepted media types include: '
                           f'application/json, application/yaml')
        if verb in ("list", "watch"):
            return self._list(h, route, params, verb == "watch")
        if info.resource == "selfsubjectaccessreviews":
            return self._send_json(h, *verbs.access_review(call))
        if info.resource == "selfsubjectrulesreviews":
            return self._send_json(h, *verbs.rules_review(call))
        if info.resource == "selfsubjectreviews":
            return self._send_json(h, *verbs.self_subject_review(call))
        if route.subresource == "token":
            return self._send_json(h, *verbs.token_request(call, self._issue_token))
        if route.subresource == "eviction":
            try:
                code, obj = verbs.evict(call)
            except ApiError as e:
                if e.code == 429:
                    self.stats["evictions_blocked"] += 1
                raise
            call.flush()
            return self._send_json(h, code, obj)
        fn = {"get": verbs.get, "create": verbs.create, "update": verbs.update, "patch": verbs.patch,
              "delete": verbs.delete, "deletecollection": self._delete_collection}[verb]
        code, obj = fn(call)
        call.flush()
        if verb == "get" and listing.wants_table(h.headers.get("Accept")) and not route.subresource:
            obj = tables.table(info.resource, [obj], self.store.now(),
                               {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                               params.get("includeObject", "Metadata"))
        self._send_json(h, code, obj)

    def _delete_collection(self, call: verbs.Call) -> tuple[int, Obj]:
        pred = both(parse_label_selector(call.params.get("labelSelector")),
                    parse_field_selector(call.params.get("fieldSelector"), call.info.resource))
        items, rv = self.store.list(call.info.resource, call.namespace or None)
        gone = []
        for o in items:
            if pred is None or pred(o):
                sub = verbs.Call(call.store, call.info, o["metadata"].get("namespace", ""), o["metadata"]["name"],
                                 "", dict(call.params), b"", "", call.identity, call.on_write)
                try:
                    verbs.delete(sub)
                    sub.flush()
                    gone.append(o)
                except ApiError:
                    pass
        return 200, {"kind": f"{call.info.kind}List", "apiVersion": call.info.api_version,
                     "metadata": {"resourceVersion": str(self.store.resource_version)}, "items": gone}

    # --- lists and watches ------------------------------------------------------------------------------
    def _list(self, h: _Handler, route: Route, params: dict, watch: bool) -> None:
        info = route.info
        label = params.get("labelSelector", "")
        pred = both(parse_label_selector(label), parse_field_selector(params.get("fieldSelector"), info.resource, label))
        table = listing.wants_table(h.headers.get("Accept"))
        if not watch:
            return self._send_json(h, 200, listing.list_document(self.store, info, route.namespace, params, pred, table))
        stream = listing.WatchStream(self.store, info, route.namespace, params, pred, table)  # 400s before headers
        self.stats["watches"] += 1
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.send_header("Cache-Control", "no-cache, private")
        h.end_headers()

        def write(data: bytes) -> None:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        with self._conns_lock:
            self._watch_socks.add(h.request)
        try:
            stream.run(write, self._stopping, drop=bool(self.faults.get("drop_watches")),
                       bookmark_interval=self.bookmark_interval, coalesce=self.watch_coalesce)
            h.wfile.write(b"0\r\n\r\n")
        except (OSError, ValueError):  # the client went away (or close_watches cut the socket)
            h.close_connection = True
        finally:
            with self._conns_lock:
                self._watch_socks.discard(h.request)

    # --- special resources ------------------------------------------------------------------------------
    def _secrets(self, h: _Handler, verb: str, route: Route) -> None:
        if verb == "list":
            return self._send_json(h, 200, {"kind": "SecretList", "apiVersion": "v1",
                                            "metadata": {"resourceVersion": str(self.store.resource_version)},
                                            "items": []})
        if verb in ("get", "delete", "patch", "update"):
            raise ApiError(404, "NotFound", f'secrets "{route.name}" not found',
                           {"name": route.name, "kind": "secrets"})
        raise ApiError(405, "MethodNotAllowed", "the simulator does not store secrets")

    def _proxy(self, h: _Handler, method: str, route: Route, query: str) -> None:
        if method != "GET":
            raise ApiError(405, "MethodNotAllowed", "the simulator's service proxy forwards GET only")
        name, _, port = route.name.partition(":")
        if name in ("http", "https") and port:  # scheme:name:port
            name, _, port = port.partition(":")
        target = None
        for (ns, svc, p), url in self.proxy_targets.items():
            if ns == route.namespace and svc == name and (not port or p == port):
                target = url
                break
        if target is None:
            if self.store.get("services", route.namespace, name) is None:
                raise ApiError(404, "NotFound", f'services "{name}" not found', {"name": name, "kind": "services"})
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{route.name}"')
        url = target.rstrip("/") + "/" + route.rest + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                data, ctype, code = r.read(), r.headers.get("Content-Type", "text/plain"), r.status
        except urllib.error.HTTPError as e:
            data, ctype, code = e.read(), e.headers.get("Content-Type", "text/plain"), e.code
        except (urllib.error.URLError, OSError) as e:
            raise ApiError(503, "ServiceUnavailable", f"error trying to reach service: {getattr(e, 'reason', e)}") from None
        self._send(h, code, data, ctype)

    # --- writing -----------------------------------------------------------------------------------------
    def _send(self, h: _Handler, code: int, data: bytes, ctype: str, extra: dict | None = None) -> None:
        h.send_response(code)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Cache-Control", "no-cache, private")
        for k, v in (extra or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    def _send_json(self, h: _Handler, code: int, obj: Any) -> None:
        data = orjson.dumps(obj)
        if len(data) > GZIP_THRESHOLD and accepts_gzip(h.headers.get("Accept-Encoding")):
            self.stats["gzip"] += 1
            return self._send(h, code, gzip_bytes(data), "application/json",
                              {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        self._send(h, code, data, "application/json")

    def _status(self, h: _Handler, e: ApiError) -> None:
        status = e.status()
        extra = {}
        if e.retry_after:
            extra["Retry-After"] = str(e.retry_after)
            status.setdefault("details", {})["retryAfterSeconds"] = e.retry_after
        try:
            self._send(h, e.code, orjson.dumps(status), "application/json", extra)
        except OSError:
            h.close_connection = True
