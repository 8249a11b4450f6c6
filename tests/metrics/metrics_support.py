"""Helpers and fixtures for the metrics tests (imported by conftest.py; test modules import helpers from
here, never from `conftest`, which names a different module in each test directory): a hand-filled simulated cluster (world.py), its exporters, and
one real Prometheus per session scraping them every second."""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from world import World, wait_until  # noqa: E402

from kubewatch_ml.sim.exporters import ExporterServer  # noqa: E402
from kubewatch_ml.sim.prometheus_server import PrometheusServer, find_prometheus_binary  # noqa: E402


def need_prometheus() -> str:
    """The prometheus binary; FAIL under CI when it is missing, skip otherwise."""
    path = find_prometheus_binary()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus is required under CI but not installed (apt-get install prometheus)")
        pytest.skip("prometheus not installed")
    return path


@pytest.fixture
def world():
    w = World()
    yield w
    w.stop()


@pytest.fixture
def exporters(world):
    with ExporterServer(world.store, world.telemetry) as exp:
        exp.cpu_smoother = None  # tests move counters explicitly (world.tick) and read them exactly
        yield exp


class PromEnv:
    def __init__(self, world: World, exp: ExporterServer, prom: PrometheusServer):
        self.world, self.exp, self.prom = world, exp, prom


@pytest.fixture(scope="session")
def prom_env(tmp_path_factory):
    binary = need_prometheus()
    w = World()
    w.start_ticking(0.1)
    exp = ExporterServer(w.store, w.telemetry).start()
    # the world's counters already move every 0.1 s; the smoother (for the sim's 15 s steps) is unit-tested
    exp.cpu_smoother = None
    prom = PrometheusServer(exp.urls, tmp_path_factory.mktemp("prom"), scrape_interval=1, binary=binary)
    try:
        prom.start()
        assert prom.wait_for_targets(30), "Prometheus never saw every exporter up"
        # irate and the recording rules need two scrapes and one rule evaluation
        assert wait_until(lambda: len(prom.query("node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m")) == 4
                          and len(prom.query('irate(container_cpu_usage_seconds_total{container!=""}[5m])')) == 4, 30)
        yield PromEnv(w, exp, prom)
    finally:
        prom.stop()
        exp.stop()
        w.stop()


class FaultProxy:
    """A tiny HTTP server in front of a real Prometheus that misbehaves on demand for requests whose
    query matches `pattern`: mode "500" (an error JSON), "garbage" (200 with HTML), "slow" (sleeps
    `delay` s first), or None (forwards)."""

    def __init__(self, upstream: str, tls: tuple[str, str] | None = None):
        import re
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import requests
        self.upstream, self.mode, self.pattern, self.delay = upstream, None, ".*", 3.0
        self.seen: list[dict] = []
        proxy = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                from urllib.parse import parse_qs, urlsplit
                u = urlsplit(self.path)
                q = parse_qs(u.query).get("query", [""])[0]
                proxy.seen.append({"path": u.path, "query": q, "headers": dict(self.headers)})
                if proxy.mode and re.search(proxy.pattern, q or u.path):
                    if proxy.mode == "500":
                        return self._send(500, b'{"status":"error","errorType":"internal","error":"injected failure"}')
                    if proxy.mode == "garbage":
                        return self._send(200, b"<html><body>502 Bad Gateway</body></html>")
                    if proxy.mode == "slow":
                        time.sleep(proxy.delay)
                try:
                    r = requests.get(proxy.upstream + self.path, timeout=10)
                except requests.RequestException:  # upstream gone (teardown while a slow request slept)
                    return self._send(502, b"upstream unreachable")
                self._send(r.status_code, r.content)

            def _send(self, code, body):
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout tests)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        scheme = "http"
        if tls:  # (cert file, key file): serve HTTPS
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"

    def set(self, mode, pattern=".*"):
        self.mode, self.pattern = mode, pattern

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def fault_proxy(prom_env):
    p = FaultProxy(prom_env.prom.url)
    yield p
    p.stop()


def self_signed_cert(tmp_path) -> tuple[str, str]:
    """A CA-less self-signed certificate for 127.0.0.1 (cert file, key file), made with `cryptography`."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubewatch-test-prometheus")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)
