"""Fixtures of the actions tests; helpers live in actions_support.py (a unique module name, so
no other test directory's conftest can shadow them)."""
from __future__ import annotations

import collections
import http.server
import os
import ssl
import threading
import urllib.error
import urllib.request

import pytest
import yaml

from actions_support import _CountingProxy, start_test_cluster
from kubewatch_ml.settings import KubeOptions
from kubewatch_ml.sources.kube import connect


def _admin(cluster):
    return connect(KubeOptions(kubeconfig=cluster.kubeconfig_path, context="sim-admin"))


@pytest.fixture
def cluster(tmp_path):
    c, stop = start_test_cluster(tmp_path)
    try:
        yield c
    finally:
        stop()


@pytest.fixture
def admin_conn(cluster):
    conn = _admin(cluster)
    yield conn
    conn.close()


@pytest.fixture
def viewer_conn(cluster):
    conn = connect(KubeOptions(kubeconfig=cluster.kubeconfig_path, context="sim-viewer"))
    yield conn
    conn.close()


@pytest.fixture
def counting_proxy(cluster, tmp_path):
    """A reverse proxy on 127.0.0.1 in front of the API server that counts requests by method.
    Yields (kubeconfig path pointing at the proxy, Counter)."""
    counts: collections.Counter = collections.Counter()
    writes: list[tuple[str, str]] = []
    counts.writes = writes  # (method, path) of every non-GET that reached the proxy
    upstream = cluster.api_url
    doc = yaml.safe_load(open(cluster.kubeconfig_path))
    ca = doc["clusters"][0]["cluster"].get("certificate-authority")
    ctx = ssl.create_default_context(cafile=ca) if ca else None

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _forward(self):
            counts[self.command] += 1
            if self.command != "GET":
                writes.append((self.command, self.path.split("?")[0]))
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            req = urllib.request.Request(upstream + self.path, data=body, method=self.command,
                                         headers={k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")})
            try:
                with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
                    status, data, hdrs = r.status, r.read(), r.headers
            except urllib.error.HTTPError as e:
                status, data, hdrs = e.code, e.read(), e.headers
            self.send_response(status)
            self.send_header("Content-Type", hdrs.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

    srv = _CountingProxy(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    for c in doc["clusters"]:
        c["cluster"] = {"server": f"http://127.0.0.1:{srv.server_address[1]}"}
    path = tmp_path / "proxy-kubeconfig"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(doc, f)
    try:
        yield str(path), counts
    finally:
        srv.shutdown()
        srv.server_close()


