"""A tiny Kubernetes-API-shaped HTTP server for the data-layer unit tests (127.0.0.1 only).

Serves paged lists (limit/continue), watches (resourceVersion, bookmarks, timeoutSeconds) from an
in-memory event log, bearer-token auth, per-kind 403, and injectable 410s. The simulator replaces
it in the integration tests; this one lets the store logic be tested on exact, scripted sequences.
"""
from __future__ import annotations

import gzip
import http.server
import json
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

from kubewatch_ml.sources.decode import CODECS

_PATHS = {}
for _c in CODECS.values():
    _PATHS[_c.path()] = (_c.resource, None)


def _route(path: str):
    if path in _PATHS:
        return _PATHS[path]
    parts = path.strip("/").split("/")
    # /api/v1/namespaces/NS/pods or /apis/G/V/namespaces/NS/res
    if "namespaces" in parts:
        i = parts.index("namespaces")
        if len(parts) == i + 3:
            ns, res = parts[i + 1], parts[i + 2]
            base = "/" + "/".join(parts[:i] + [res])
            if base in _PATHS:
                return _PATHS[base][0], ns
    return None, None


class FakeApi:
    def __init__(self, token: str = "good-token"):
        self.token = token
        self.rv = 100
        self.objects: dict[str, dict[str, dict]] = {k: {} for k in CODECS}  # kind -> uid -> obj
        self.log: dict[str, list[tuple[int, str, dict]]] = {k: [] for k in CODECS}
        self.forbidden: set[str] = set()
        self.cut_watches: set[str] = set()  # the next watch event of these kinds breaks the connection
        self.throttle: dict[str, int] = {}  # kind -> how many list pages answer 429 first
        self.expire_watch_once: set[str] = set()  # next watch of these kinds answers 410
        self.expire_continue_once: set[str] = set()  # next mid-list page of these kinds answers 410 (token expired)
        self.gzip = False  # compress answers for clients that accept gzip
        self.gzipped = 0  # answers sent compressed
        self.fail_mid_list: dict[str, int] = {}  # kind -> the status every mid-list page answers
        self.compacted_rv = 0  # watches from an older resourceVersion get a 410 ERROR event
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Condition()
        self._watches: list = []
        self.server: http.server.ThreadingHTTPServer | None = None

    # --- objects ---
    def put(self, kind: str, obj: dict, event: str | None = None) -> dict:
        with self.lock:
            self.rv += 1
            obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
            uid = obj["metadata"]["uid"]
            typ = event or ("MODIFIED" if uid in self.objects[kind] else "ADDED")
            self.objects[kind][uid] = obj
            self.log[kind].append((self.rv, typ, json.loads(json.dumps(obj))))
            self.lock.notify_all()
        return obj

    def delete(self, kind: str, uid: str) -> None:
        with self.lock:
            obj = self.objects[kind].pop(uid)
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.log[kind].append((self.rv, "DELETED", obj))
            self.lock.notify_all()

    def silently_delete(self, kind: str, uid: str) -> None:
        """Remove without a watch event (as if the event was lost to compaction)."""
        with self.lock:
            self.objects[kind].pop(uid)
            self.rv += 1

    # --- server ---
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "FakeApi":
        api = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                api._handle(self)

            do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # a client that went away mid-answer: not news
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        with self.lock:
            self._stopped = True
            self.lock.notify_all()
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def _send(self, h, code: int, body: dict | bytes, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_response(code)
        if self.gzip and "gzip" in (h.headers.get("Accept-Encoding") or ""):  # as kube-apiserver, when asked
            data = gzip.compress(data, 1)
            h.send_header("Content-Encoding", "gzip")
            self.gzipped += 1
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _status(self, h, code: int, reason: str, message: str):
        self._send(h, code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                             "message": message, "code": code})

    def _handle(self, h) -> None:
        u = urlsplit(h.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        self.requests.append((h.command, h.path))
        n = int(h.headers.get("Content-Length") or 0)
        if n:
            h.rfile.read(n)
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return self._status(h, 401, "Unauthorized", "Unauthorized")
        if u.path == "/version":
            return self._send(h, 200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0-fake"})
        kind, ns = _route(u.path)
        if kind is None:
            return self._status(h, 404, "NotFound", f"the server could not find the requested resource {u.path}")
        if h.command != "GET":
            return self._status(h, 405, "MethodNotAllowed", "read-only fake")
        if self.throttle.get(kind, 0) > 0 and q.get("continue"):  # throttle mid-list pages
            self.throttle[kind] -= 1
            h.send_response(429)
            h.send_header("Retry-After", "0")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if kind in self.fail_mid_list and q.get("continue"):
            return self._status(h, self.fail_mid_list[kind], "InternalError", f"injected failure listing {kind}")
        if kind in self.expire_continue_once and q.get("continue"):
            self.expire_continue_once.discard(kind)
            return self._status(h, 410, "Expired", "The provided continue parameter is too old")
        if kind in self.forbidden:
            return self._status(h, 403, "Forbidden", f'{kind} is forbidden: User "viewer" cannot list resource "{kind}"')
        if q.get("watch") in ("true", "1"):
            return self._watch(h, kind, ns, q)
        with self.lock:
            items = sorted((o for o in self.objects[kind].values()
                            if ns is None or o["metadata"].get("namespace") == ns), key=lambda o: o["metadata"]["uid"])
            rv = self.rv
        limit = int(q.get("limit") or 0) or len(items) or 1
        start = int(q.get("continue") or 0)
        page = items[start:start + limit]
        cont = str(start + limit) if start + limit < len(items) else ""
        meta = {"resourceVersion": str(rv), "continue": cont}
        if cont:
            meta["remainingItemCount"] = len(items) - start - limit
        self._send(h, 200, {"kind": "List", "apiVersion": "v1", "metadata": meta, "items": page})

    def _watch(self, h, kind: str, ns: str | None, q: dict) -> None:
        since = int(q.get("resourceVersion") or 0)
        timeout = float(q.get("timeoutSeconds") or 30)
        if kind in self.expire_watch_once or since < self.compacted_rv:
            self.expire_watch_once.discard(kind)
            self._send(h, 200, b'{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",'
                               b'"message":"too old resource version","reason":"Expired","code":410}}\n')
            return
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()

        def chunk(b: bytes) -> None:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
            h.wfile.flush()

        deadline = time.monotonic() + timeout
        pos = since
        try:
            while time.monotonic() < deadline and not getattr(self, "_stopped", False):
                with self.lock:
                    evs = [e for e in self.log[kind] if e[0] > pos]
                    if not evs:
                        self.lock.wait(0.2)
                        continue
                for rv, typ, obj in evs:
                    pos = rv
                    if ns is not None and obj["metadata"].get("namespace") != ns:
                        continue
                    if kind in self.cut_watches:  # half a line, then the connection dies (no last chunk)
                        self.cut_watches.discard(kind)
                        h.wfile.write(b"%x\r\n" % 400 + b'{"type":"MODIFIED","obj')
                        h.wfile.flush()
                        h.connection.shutdown(2)
                        h.close_connection = True
                        return
                    chunk(json.dumps({"type": typ, "object": obj}).encode() + b"\n")
                if q.get("allowWatchBookmarks") == "true":
                    chunk(json.dumps({"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": str(pos)}}}).encode() + b"\n")
            chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True


def pod(name: str, ns: str = "default", node: str = "", owner: tuple[str, str] | None = None, cpu: str = "100m",
        labels: dict | None = None) -> dict:
    md = {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}", "creationTimestamp": "2026-11-28T10:00:00Z",
          "labels": labels or {"app": name.rsplit("-", 1)[0]}}
    if owner:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "uid": "o", "controller": True}]
    return {"metadata": md, "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": cpu}}}]},
            "status": {"phase": "Running" if node else "Pending"}}


def node(name: str, zone: str = "z1", gpus: int = 0) -> dict:
    return {"metadata": {"name": name, "uid": f"uid-node-{name}", "labels": {"topology.kubernetes.io/zone": zone}},
            "spec": {}, "status": {"allocatable": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": str(gpus)},
                                   "conditions": [{"type": "Ready", "status": "True"}]}}


def workload(kind: str, name: str, ns: str = "default", owner: tuple[str, str] | None = None) -> dict:
    md = {"name": name, "namespace": ns, "uid": f"uid-{kind}-{ns}-{name}"}
    if owner:
        md["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "uid": "x", "controller": True}]
    return {"metadata": md, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}}, "status": {}}


def write_kubeconfig(path, server: str, token: str, context: str = "fake", extra_contexts: tuple[str, ...] = (),
                     insecure: bool | None = None, ca_file: str | None = None) -> str:
    cluster: dict = {"server": server}
    if insecure is not None:
        cluster["insecure-skip-tls-verify"] = insecure
    if ca_file:
        cluster["certificate-authority"] = ca_file
    cfg = {
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": f"c-{context}", "cluster": cluster}],
        "users": [{"name": f"u-{context}", "user": {"token": token}}],
        "contexts": [{"name": c, "context": {"cluster": f"c-{context}", "user": f"u-{context}"}} for c in (context, *extra_contexts)],
    }
    with open(path, "w") as f:
        json.dump(cfg, f)  # JSON is YAML
    return str(path)
