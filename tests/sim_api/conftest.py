"""Fixtures: the simulator's API server on a small realistic store, kubeconfigs, and kubectl."""
from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from cluster_objects import fill  # noqa: E402
from simapi_support import Http, Kubectl, _start  # noqa: E402
from kubewatch_ml.sim.objects import ObjectStore  # noqa: E402


@pytest.fixture
def store():
    s = ObjectStore()
    fill(s)
    return s


@pytest.fixture
def api(store, tmp_path):
    server, kc = _start(store, tmp_path)
    server.kubeconfig = kc
    yield server
    server.stop()


@pytest.fixture
def tls_api(store, tmp_path):
    server, kc = _start(store, tmp_path, tls=True)
    server.kubeconfig = kc
    yield server
    server.stop()


@pytest.fixture
def kubectl(tls_api):
    """kubectl against the TLS server: kubectl never sends a bearer token over plain HTTP (kubectl#744)."""
    return Kubectl(tls_api.kubeconfig)


@pytest.fixture
def http(api):
    return Http(api)
