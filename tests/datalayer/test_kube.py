"""connect() and the one HTTP path, against a local fake API server."""
import json
import socket

import pytest

from kubewatch_ml.errors import ConnectError, UserError
from kubewatch_ml.settings import KubeOptions
from kubewatch_ml.sources.kube import ApiError, ReadOnlyError, connect

from .fakeapi import write_kubeconfig


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connect_fills_info_and_reads(conn, fake_api):
    assert conn.info.version == "v1.32.0-fake"
    assert conn.info.context == "fake" and conn.info.user == "u-fake" and conn.info.server == fake_api.url
    assert not conn.info.insecure and not conn.readonly
    status, body = conn.request("GET", "/version")
    assert status == 200 and json.loads(body)["gitVersion"] == "v1.32.0-fake"
    assert conn.get_json("/api/v1/nodes")["items"] == []


def test_get_json_raises_api_error_with_status_message(conn, fake_api):
    fake_api.forbidden.add("pods")
    with pytest.raises(ApiError) as ei:
        conn.get_json("/api/v1/pods")
    assert ei.value.status == 403 and ei.value.reason == "Forbidden" and "cannot list" in ei.value.message


def test_readonly_refuses_writes_before_sending(kubeconfig, fake_api):
    c = connect(KubeOptions(kubeconfig=kubeconfig, readonly=True))
    before = len(fake_api.requests)
    for method in ("POST", "PATCH", "DELETE", "PUT", "patch"):
        with pytest.raises(ReadOnlyError) as ei:
            c.request(method, "/api/v1/nodes/n1", body={"spec": {"unschedulable": True}})
        assert isinstance(ei.value, UserError) and "read-only" in str(ei.value)
    assert len(fake_api.requests) == before  # nothing left the process
    assert c.request("GET", "/api/v1/nodes").status == 200
    c.close()


def test_writes_go_through_request(conn, fake_api):
    r = conn.request("PATCH", "/api/v1/nodes/n1", body={"spec": {"unschedulable": True}},
                     content_type="application/strategic-merge-patch+json")
    assert r.status == 404 and fake_api.requests[-1] == ("PATCH", "/api/v1/nodes/n1")
    assert ApiError and r.json()["reason"] == "NotFound"


def test_kubeconfig_env_list_and_context(tmp_path, fake_api, monkeypatch):
    a = write_kubeconfig(tmp_path / "a", "http://127.0.0.1:1", "x", context="broken")
    b = write_kubeconfig(tmp_path / "b", fake_api.url, fake_api.token, context="good")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{a}:{b}")
    c = connect(KubeOptions(context="good"))
    assert c.info.context == "good" and c.info.version
    c.close()


def test_unknown_context_lists_the_available_ones(kubeconfig):
    with pytest.raises(ConnectError) as ei:
        connect(KubeOptions(kubeconfig=kubeconfig, context="prod"))
    msg = str(ei.value)
    assert "'prod' not found" in msg and "fake" in msg and "other" in msg and "\n" not in msg


def test_unreachable_server_one_line(tmp_path):
    port = _free_port()
    cfg = write_kubeconfig(tmp_path / "c", f"https://127.0.0.1:{port}", "t")
    with pytest.raises(ConnectError) as ei:
        connect(KubeOptions(kubeconfig=cfg))
    assert str(ei.value) == f"cannot reach https://127.0.0.1:{port} (connection refused): is the cluster up? check --context"


def test_missing_and_invalid_kubeconfig(tmp_path, monkeypatch):
    with pytest.raises(ConnectError, match="does not exist"):
        connect(KubeOptions(kubeconfig=str(tmp_path / "nope")))
    bad = tmp_path / "bad"
    bad.write_text("apiVersion: v1\nclusters: [\n  - {name: x\n")
    with pytest.raises(ConnectError, match="not valid YAML"):
        connect(KubeOptions(kubeconfig=str(bad)))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ConnectError, match="no kubeconfig found"):
        connect(KubeOptions())


def test_bad_token_is_401_one_line(tmp_path, fake_api):
    cfg = write_kubeconfig(tmp_path / "c", fake_api.url, "expired-token")
    with pytest.raises(ConnectError) as ei:
        connect(KubeOptions(kubeconfig=cfg))
    assert "401" in str(ei.value) and "expired" in str(ei.value)
    assert "expired-token" not in str(ei.value)  # never the credential


def test_tls_server_without_ca_suggests_insecure_flag(tmp_path):
    from .tlsserver import tls_version_server

    with tls_version_server(tmp_path) as url:
        cfg = write_kubeconfig(tmp_path / "c", url, "t")
        with pytest.raises(ConnectError) as ei:
            connect(KubeOptions(kubeconfig=cfg))
        assert "--insecure-skip-tls-verify" in str(ei.value) and "certificate" in str(ei.value)
        c = connect(KubeOptions(kubeconfig=cfg, insecure_skip_tls_verify=True))
        assert c.info.insecure and c.info.version == "v1.32.0-tls"
        c.close()


def test_watch_stream_yields_lines_and_closes(conn, fake_api):
    from .fakeapi import node

    fake_api.put("nodes", node("n1"))
    resp = conn.request("GET", "/api/v1/nodes", {"watch": "true", "resourceVersion": "0", "timeoutSeconds": 1},
                        stream=True)
    assert resp.status == 200
    lines = list(resp)
    assert json.loads(lines[0])["type"] == "ADDED" and json.loads(lines[0])["object"]["metadata"]["name"] == "n1"


def test_repr_never_shows_token(conn, fake_api):
    assert fake_api.token not in repr(conn) and fake_api.token not in repr(conn.info)


def test_exec_plugin_token_is_used(tmp_path, fake_api):
    import sys

    script = ("import json; print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', "
              "'kind': 'ExecCredential', 'status': {'token': '%s'}}))" % fake_api.token)
    cfg = {
        "apiVersion": "v1", "kind": "Config", "current-context": "exec",
        "clusters": [{"name": "c", "cluster": {"server": fake_api.url}}],
        "users": [{"name": "e", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                                  "command": sys.executable, "args": ["-c", script],
                                                  "interactiveMode": "Never"}}}],
        "contexts": [{"name": "exec", "context": {"cluster": "c", "user": "e"}}],
    }
    path = tmp_path / "exec.json"
    path.write_text(json.dumps(cfg))
    c = connect(KubeOptions(kubeconfig=str(path)))
    assert c.info.user == "e" and c.get_json("/api/v1/pods")["items"] == []
    c.close()


def test_failing_exec_plugin_is_one_line(tmp_path, fake_api):
    cfg = {
        "apiVersion": "v1", "kind": "Config", "current-context": "exec",
        "clusters": [{"name": "c", "cluster": {"server": fake_api.url}}],
        "users": [{"name": "e", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                                  "command": "/nonexistent/aws-iam-authenticator"}}}],
        "contexts": [{"name": "exec", "context": {"cluster": "c", "user": "e"}}],
    }
    path = tmp_path / "exec.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(ConnectError) as ei:
        connect(KubeOptions(kubeconfig=str(path)))
    msg = str(ei.value)
    assert "\n" not in msg and "exec credential plugin '/nonexistent/aws-iam-authenticator'" in msg
    assert "No such file" in msg
    assert not [r for r in fake_api.requests if r[1] != "/version"]  # gave up before using the cluster


def test_gzip_list_bodies_are_inflated(tmp_path):
    import gzip
    import http.server
    import threading

    seen = {}
    payload = json.dumps({"kind": "PodList", "metadata": {"resourceVersion": "5"}, "items": []}).encode()

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            seen[self.path] = self.headers.get("Accept-Encoding", "")
            body = json.dumps({"gitVersion": "v1.32.0"}).encode() if self.path == "/version" else payload
            gz = "gzip" in seen[self.path]
            if gz:
                body = gzip.compress(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if gz:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        cfg = write_kubeconfig(tmp_path / "c", f"http://127.0.0.1:{srv.server_address[1]}", "t")
        c = connect(KubeOptions(kubeconfig=cfg))
        assert not c.ask_gzip  # a server on this machine: compression would only cost CPU at both ends
        assert c.get_json("/api/v1/pods", {"limit": 500})["metadata"]["resourceVersion"] == "5"
        assert "gzip" not in seen["/api/v1/pods?limit=500"]  # (http.client says "identity")
        c.ask_gzip = True  # what a remote server is asked
        assert c.get_json("/api/v1/pods", {"limit": 500})["metadata"]["resourceVersion"] == "5"
        assert "gzip" in seen["/api/v1/pods?limit=500"]
        c.close()
    finally:
        srv.shutdown()
        srv.server_close()


def test_stream_lines_survive_arbitrary_chunk_boundaries():
    from kubewatch_ml.sources.kube import StreamResponse

    lines = [json.dumps({"type": "ADDED", "object": {"metadata": {"name": f"p{i}" * 50}}}).encode() for i in range(20)]
    data = b"\n".join(lines) + b"\n\n" + b'{"type":"BOOKMARK"}'  # a blank keep-alive line, no final newline

    class Raw:
        def __init__(self):
            self.pos, self.closed = 0, False

        def read1(self, n):
            step = 1 + (self.pos * 7) % 97  # odd fragment sizes that split lines anywhere
            chunk = data[self.pos:self.pos + min(n, step)]
            self.pos += len(chunk)
            return chunk

        def shutdown(self):
            pass

        def release_conn(self):
            pass

        def close(self):
            self.closed = True

    raw = Raw()
    got = list(StreamResponse(200, {}, raw))
    assert got == lines + [b'{"type":"BOOKMARK"}'] and raw.closed


def test_loopback_servers_are_recognised_without_dns():
    from kubewatch_ml.sources.kube import is_loopback

    for url in ("https://127.0.0.1:6443", "http://127.3.2.1", "https://[::1]:6443", "https://localhost:8443",
                "https://api.localhost", "https://LOCALHOST"):
        assert is_loopback(url), url
    for url in ("https://10.0.0.1:6443", "https://[2001:db8::1]", "https://my-cluster.example.com",
                "https://localhost.example.com", "https://1.2.3.4.nip.io", ""):
        assert not is_loopback(url), url
