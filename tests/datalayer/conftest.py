import pytest

from kubewatch_ml.settings import KubeOptions
from kubewatch_ml.sources.kube import connect

from .fakeapi import FakeApi, write_kubeconfig


@pytest.fixture
def fake_api():
    api = FakeApi().start()
    yield api
    api.stop()


@pytest.fixture
def kubeconfig(fake_api, tmp_path):
    return write_kubeconfig(tmp_path / "config", fake_api.url, fake_api.token, extra_contexts=("other",))


@pytest.fixture
def conn(kubeconfig):
    c = connect(KubeOptions(kubeconfig=kubeconfig, request_timeout=10))
    yield c
    c.close()
