"""Long lists fetched by a child process (paged_list + list_child): the same records as the fetcher thread,
the same handling of 410, 429 and errors, a dead child replaced by the thread, and no child left behind."""
import logging

import pytest

from kubewatch_ml import paged_list
from kubewatch_ml.errors import ConnectError
from kubewatch_ml.paged_list import list_kind
from kubewatch_ml.settings import KubeOptions
from kubewatch_ml.sim.cluster import SimCluster
from kubewatch_ml.sources.kube import ApiError, connect

from .fakeapi import node, pod

PODS = 1200
SMALL = dict(limit=100, process_after=300)  # page 1 says 1,100 remain: the other 11 pages come from a child


@pytest.fixture
def children(monkeypatch):
    """Every list process started, and an optional hook run right after the start."""
    started = _Started()
    hook = started.hook
    real = paged_list._Child.start

    def spy(self, *a, **kw):
        proc = real(self, *a, **kw)
        if proc is not None:
            started.append(proc)
            if hook["after_start"]:
                hook["after_start"](proc)
        return proc
    monkeypatch.setattr(paged_list._Child, "start", spy)
    return started


class _Started(list):
    def __init__(self):
        super().__init__()
        self.hook = {"after_start": None}


def _seed(api, n=PODS, prefix="p"):
    api.put("nodes", node("n0"))
    for i in range(n):
        api.put("pods", pod(f"{prefix}-{i:04d}", node="n0"))


def _pages(api):
    return [p for _, p in api.requests if p.startswith("/api/v1/pods?")]


def test_a_long_list_comes_from_a_child_with_the_same_records(conn, fake_api, children):
    _seed(fake_api)
    pages = []
    recs, rv = list_kind(conn, "pods", on_page=lambda r, n, rem: pages.append((n, len(r), rem)), **SMALL)
    assert len(children) == 1 and children[0].wait(5) == 0  # it ran, finished and exits
    same, rv2 = list_kind(conn, "pods", limit=100, process_after=None)
    assert len(children) == 1  # process_after=None: in the thread
    assert recs == same and rv == rv2 and len({r.uid for r in recs}) == PODS
    assert [n for n, _, _ in pages] == list(range(1, 13)) and pages[0][2] == 1100 and pages[-1][2] is None
    assert len(_pages(fake_api)) == 24 and sum("continue=" not in p for p in _pages(fake_api)) == 2


def test_short_compressed_or_switched_off_lists_stay_in_the_thread(conn, fake_api, children, monkeypatch):
    _seed(fake_api, 250)
    assert len(list_kind(conn, "pods", **SMALL)[0]) == 250  # 150 remain after page 1: not worth a process
    _seed(fake_api, 1000, prefix="q")
    conn.ask_gzip = True  # as a remote server is asked (not one on loopback) ...
    fake_api.gzip = True  # ... it sends gzip pages: the thread keeps up, no second interpreter
    assert len(list_kind(conn, "pods", **SMALL)[0]) == 1250
    assert children == []
    assert fake_api.gzipped == 13
    monkeypatch.setenv("KUBEWATCH_LIST_PROCESS", "1")  # ... unless asked for; the child asks for gzip too
    assert len(list_kind(conn, "pods", **SMALL)[0]) == 1250 and len(children) == 1 and children[0].wait(5) == 0
    assert fake_api.gzipped == 26
    fake_api.gzip = False
    monkeypatch.setenv("KUBEWATCH_LIST_PROCESS", "0")
    assert len(list_kind(conn, "pods", **SMALL)[0]) == 1250 and len(children) == 1


def test_expired_token_and_throttling_in_the_child(conn, fake_api, children):
    _seed(fake_api)
    fake_api.expire_continue_once.add("pods")  # the child's first page answers 410: it lists from the start
    fake_api.throttle["pods"] = 2  # and two of its pages answer 429 first (Retry-After: 0)
    recs, _ = list_kind(conn, "pods", **SMALL)
    assert len(children) == 1 and len(recs) == PODS and len({r.uid for r in recs}) == PODS
    asked = _pages(fake_api)
    assert sum("continue=" not in p for p in asked) == 2  # page 1 by the thread, then the restart in the child


def test_a_server_error_mid_list_is_the_callers_error(conn, fake_api, children):
    _seed(fake_api)
    fake_api.fail_mid_list["pods"] = 500
    with pytest.raises(ApiError) as e:
        list_kind(conn, "pods", **SMALL)
    assert e.value.status == 500 and "injected failure listing pods" in str(e.value)
    assert len(children) == 1 and children[0].wait(5) is not None


def test_an_unreachable_server_in_the_child_is_a_one_line_connect_error(conn, fake_api, children):
    _seed(fake_api)
    children.hook["after_start"] = lambda proc: fake_api.stop()  # the server goes away as the child starts
    with pytest.raises(ConnectError) as e:
        list_kind(conn, "pods", **SMALL)
    assert "127.0.0.1" in str(e.value) and "is the cluster up?" in str(e.value) and "\n" not in str(e.value)


def test_a_child_that_dies_is_replaced_by_the_thread(conn, fake_api, children, caplog):
    _seed(fake_api)
    children.hook["after_start"] = lambda proc: proc.kill()
    with caplog.at_level(logging.WARNING, logger="kubewatch_ml.paged_list"):
        recs, _ = list_kind(conn, "pods", **SMALL)
    assert len(children) == 1 and children[0].returncode == -9
    assert len(recs) == PODS and len({r.uid for r in recs}) == PODS
    assert any("exited (-9): going on in this process" in r.getMessage() for r in caplog.records)


def test_a_caller_that_stops_reading_stops_the_child(conn, fake_api, children):
    _seed(fake_api, 3000)

    def on_page(records, n, remaining):
        if n == 3:
            raise RuntimeError("enough")
    with pytest.raises(RuntimeError, match="enough"):
        list_kind(conn, "pods", on_page=on_page, **SMALL)
    assert len(children) == 1
    children[0].wait(5)  # killed, not left fetching
    assert children[0].returncode is not None


def test_over_tls_against_the_simulator(tmp_path, children):
    """TLS with a private CA and a bearer token, as the child is given them: the same pods as the thread."""
    with SimCluster(seed=7, nodes=20, pods=400, tls=True, start_clock=False, workdir=tmp_path) as sim:
        conn = connect(KubeOptions(kubeconfig=sim.kubeconfig_path))
        try:
            assert conn.server.startswith("https://")
            recs, _ = list_kind(conn, "pods", limit=50, process_after=100)
            same, _ = list_kind(conn, "pods", limit=50, process_after=None)
        finally:
            conn.close()
    assert len(children) == 1 and children[0].wait(5) == 0
    assert sorted(recs, key=lambda r: r.uid) == sorted(same, key=lambda r: r.uid) and len(recs) >= 400


def test_the_list_process_connection_never_shows_its_token():
    from kubewatch_ml.sources.kube import FixedCredentials, KubeConnection, _Auth

    auth = _Auth(host="https://10.0.0.1:6443", verify=True, ca_file=None, cert_file=None, key_file=None,
                 server_hostname=None, proxy=None)
    conn = KubeConnection(FixedCredentials("Bearer s3cret-token"), None, readonly=True, auth=auth)
    try:
        assert repr(conn) == "KubeConnection('https://10.0.0.1:6443', readonly=True)"
        assert conn.request_headers()["Authorization"] == "Bearer s3cret-token"
    finally:
        conn.close()
