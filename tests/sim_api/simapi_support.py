"""Helpers for the sim API tests (a uniquely named module: every test dir has a conftest.py)."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

from kubewatch_ml.sim.apiserver import ApiServer
from kubewatch_ml.sim.kubeconfig import write_kubeconfig

ADMIN, VIEWER, RO = "admin-token-123", "viewer-token-456", "ro-token-789"
TOKENS = {ADMIN: "admin", VIEWER: "viewer", RO: "readonly-role"}


def _start(store, tmp_path, tls=False):
    api = ApiServer(store, host="127.0.0.1", port=0, tls=tls, tokens=TOKENS, workdir=tmp_path, version="v1.32.4")
    api.start()
    kc = write_kubeconfig(tmp_path / "kubeconfig", server=api.url, ca_file=api.ca_file or None,
                          users={"admin": ADMIN, "viewer": VIEWER}, current="sim-admin")
    return api, kc


def need_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required when CI is set (install it: scripts/install-sysdeps.sh)")
        pytest.skip(f"{name} not installed")
    return path


class Kubectl:
    def __init__(self, kubeconfig: str):
        self.bin = need_binary("kubectl")
        self.kubeconfig = kubeconfig

    def run(self, *args: str, context: str = "sim-admin", check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=str(pathlib.Path(self.kubeconfig).parent))
        p = subprocess.run([self.bin, "--context", context, *args], capture_output=True, text=True,
                           timeout=timeout, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def popen(self, *args: str, context: str = "sim-admin") -> subprocess.Popen:
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=str(pathlib.Path(self.kubeconfig).parent))
        return subprocess.Popen([self.bin, "--context", context, *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)


class Http:
    """Raw HTTP to the simulator: what a client sends, byte for byte."""

    def __init__(self, api, token: str | None = ADMIN):
        self.api, self.token = api, token

    def request(self, method: str, path: str, body=None, content_type: str = "application/json",
                headers: dict | None = None, token: str | None = "default"):
        import http.client
        import json as _json
        tok = self.token if token == "default" else token
        conn = http.client.HTTPConnection(self.api.host, self.api.port, timeout=30)
        h = dict(headers or {})
        if tok:
            h["Authorization"] = f"Bearer {tok}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else _json.dumps(body).encode()
            h["Content-Type"] = content_type
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        raw = r.read()
        conn.close()
        try:
            doc = _json.loads(raw) if raw else None
        except ValueError:
            doc = raw
        return r.status, doc, r

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)
