"""exposition.pick (what direct scraping reads of exporter text) against prometheus_client's parser,
on the simulator's exporters, real samples and hand-written edge cases; the compact history."""
from __future__ import annotations

import glob
import os

import pytest
import requests


from kubewatch_ml.queries.exposition import ExpositionError, Pick, parse_exposition, pick, select
from kubewatch_ml.sources.scrape import PICKS, ScrapeMetrics, _counted, _increase, http_endpoint, http_endpoints

FIXTURES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "fixtures", "exposition", "*.prom")))


def expected(text: str, picks: dict[str, Pick]) -> dict[str, list]:
    """What pick() must return, computed from prometheus_client's parse: every label dict narrowed to
    the picked columns ("" when absent), rows filtered by `where` with select()."""
    ref = parse_exposition(text, frozenset(picks), fast=False)
    out = {}
    for name, p in picks.items():
        rows = [(tuple(lb.get(c, "") for c in p.columns), v) for lb, v in select(ref, name, **dict(p.where))]
        if rows:
            out[name] = rows
    return out


def chunks(data: bytes, size: int):
    return (data[i:i + size] for i in range(0, len(data), size))


def urls(exp) -> dict[str, str]:
    u = exp.urls
    return {"kube-state-metrics": u["kube-state-metrics"], "dcgm": u["dcgm"],
            "probes": u["kubelet"] + "/metrics/probes", "cadvisor": u["kubelet"] + "/metrics/cadvisor"}


@pytest.mark.parametrize("exporter", list(PICKS))
def test_pick_equals_prometheus_client_on_the_simulators_text(world, exporters, exporter):
    body = requests.get(urls(exporters)[exporter], timeout=5).content
    want = expected(body.decode(), PICKS[exporter])
    assert want  # the text holds what the queries read
    assert pick(body, PICKS[exporter]) == want
    # streamed: chunk edges anywhere in a line (7 bytes) or right after a newline give the same rows
    assert pick(chunks(body, 7), PICKS[exporter]) == want
    assert pick(iter(body.splitlines(keepends=True)), PICKS[exporter]) == want


def test_pick_on_real_samples_with_where_and_absent_labels():
    picks = {"kube_pod_container_status_restarts_total": Pick(("namespace", "pod", "container", "nope")),
             "kube_pod_container_resource_requests": Pick(("pod", "node"), (("resource", "nvidia_com_gpu"),)),
             "kube_node_status_condition": Pick(("node", "condition"), (("status", "!false"), ("condition", "!"))),
             "DCGM_FI_DEV_SM_CLOCK": Pick(("gpu", "UUID", "Hostname")),
             "DCGM_FI_DEV_MEMORY_TEMP": Pick(("gpu",))}  # only the leaked NOT_SUPPORTED sentinel: dropped
    for path in FIXTURES:
        text = open(path).read()
        got = pick(text.encode(), picks)
        assert got == expected(text, picks), path
        if "ksm-workload" in path:
            assert got["kube_pod_container_status_restarts_total"][0][0][3] == ""  # absent label -> ""
            assert all(lb[1] == "" for lb, _ in got["kube_pod_container_resource_requests"])  # unscheduled: node=""
        if "dcgm" in path:
            assert "DCGM_FI_DEV_MEMORY_TEMP" not in got


CADVISOR = (
    '# TYPE container_cpu_usage_seconds_total counter\n'
    'container_cpu_usage_seconds_total{cpu="total",id="/"} 9.5 1733300000000\n'  # the root cgroup: no container label
    'container_cpu_usage_seconds_total{container="",cpu="total",id="/kubepods/pod1",image="",namespace="a",pod="p"} 3 1733300000000\n'
    'container_cpu_usage_seconds_total{container="c",cpu="total",id="/kubepods/pod1/x",image="img",namespace="a",pod="p"} 2.5 1733300000000\n'
    'container_cpu_usage_seconds_total{namespace="a",pod="q",container="d",image="img"} 1e3\n'  # another label order
    'container_cpu_usage_seconds_total{container="e\\"x\\\\y",image="img",namespace="a",pod="r"} 4\n'  # escapes
    'container_cpu_usage_seconds_total {container="z",image="i"} 7\n'  # not a sample of this name: "{" after a blank
    '# TYPE container_memory_working_set_bytes gauge\n'
    'container_memory_working_set_bytes{container="c",id="/kubepods/pod1/x",image="img",namespace="a",pod="p"} 1024\n'
    'container_memory_working_set_bytes{container="c",image="img",namespace="a",pod="p",extra="1"} NaN\n')


def test_pick_keeps_only_what_the_queries_read_and_shares_label_tuples():
    picks = PICKS["cadvisor"]
    try:
        want = expected(CADVISOR.replace(' {container="z",image="i"} 7', ' 7'), picks)
    except ExpositionError:
        pytest.fail("the reference parser rejects the sample text")
    with pytest.raises(ExpositionError, match="malformed"):
        pick(CADVISOR.encode(), picks)  # "name {labels} v" is not the format: one line, which line
    text = CADVISOR.replace(' {container="z",image="i"} 7', ' 7').encode()
    got = pick(text, picks)
    assert got == want
    cpu, mem = got["container_cpu_usage_seconds_total"], got["container_memory_working_set_bytes"]
    assert [k for k, _ in cpu] == [("a", "p", "c"), ("a", "q", "d"), ("a", "r", 'e"x\\y')]
    assert [v for _, v in cpu] == [2.5, 1000.0, 4.0]
    assert mem == [(("a", "p", "c"), 1024.0)]  # the NaN row is dropped
    assert mem[0][0] is cpu[0][0]  # one tuple per label set, shared by the samples that carry it
    assert pick(chunks(text, 3), picks) == want


@pytest.mark.parametrize("bad, message", [
    (b'x{a="1"} 1\ncontainer_memory_working_set_bytes{container="c",po', "malformed"),  # torn at the end
    (b'container_memory_working_set_bytes{container="c",image="i"} one\n', "malformed"),
    (b'container_memory_working_set_bytes{container="c" image="i"} 1\n', "malformed"),
    (b'container_memory_working_set_bytes{container="c",image="i} 1\n', "malformed"),
    (b'container_memory_working_set_bytes{container="c",image="i",,} 1\n', "malformed"),
    (b'container_memory_working_set_bytes{container="\xff",image="i"} 1\n', "UTF-8"),
])
def test_a_malformed_wanted_line_is_one_clear_error(bad, message):
    for body in (bad, chunks(bad, 5)):
        with pytest.raises(ExpositionError, match=message) as e:
            pick(body, PICKS["cadvisor"])
        assert "\n" not in str(e.value)


def test_the_same_shape_twice_still_checks_each_line():
    good = b'container_memory_working_set_bytes{container="c",image="i",namespace="n",pod="p"} 1\n'
    assert pick(good * 3, PICKS["cadvisor"])["container_memory_working_set_bytes"] == [(("n", "p", "c"), 1.0)] * 3
    with pytest.raises(ExpositionError, match="bad value"):
        pick(good * 2 + good.replace(b"} 1", b"} 1 2 3"), PICKS["cadvisor"])
    with pytest.raises(ExpositionError, match="malformed"):
        pick(good + good.replace(b'"c"', b'"c'), PICKS["cadvisor"])


def test_counters_keep_changes_only_within_the_window():
    p = _counted(None, 0.0, 5.0, 100.0)
    assert p == ((0.0, 5.0),) and _increase(p) == 0.0
    assert _counted(p, 10.0, 5.0, 100.0) is p  # unchanged: nothing stored
    p = _counted(p, 20.0, 7.0, 100.0)
    p = _counted(p, 30.0, 2.0, 100.0)  # a reset counts as growth from 0
    assert p == ((0.0, 5.0), (20.0, 7.0), (30.0, 2.0)) and _increase(p) == 4.0
    p = _counted(p, 125.0, 2.0, 100.0)  # one point at or before the window start stays
    assert p == ((20.0, 7.0), (30.0, 2.0)) and _increase(p) == 2.0
    assert _counted(p, 500.0, 2.0, 100.0) == ((30.0, 2.0),)


def test_several_urls_are_read_one_after_the_other_and_merged(world, exporters):
    u = exporters.urls["kubelet"] + "/metrics/probes"
    one = ScrapeMetrics({"probes": http_endpoint(u, 5)})
    two = ScrapeMetrics({"probes": http_endpoints([u, u], 5)})
    try:
        a, b = one.fetch(1000.0), two.fetch(1000.0)
        assert a.probe_failures_5m and a.area("probes").ok and b.area("probes").ok
        assert b.probe_failures_5m.keys() == a.probe_failures_5m.keys()
        # the same counters from two kubelets add up, as sum by (...) would
        assert all(b.probe_failures_5m[k] == 2 * a.probe_failures_5m[k] for k in a.probe_failures_5m) or \
            all(v == 0 for v in a.probe_failures_5m.values())
        bad = ScrapeMetrics({"probes": http_endpoints([u, exporters.urls["kubelet"] + "/nope"], 5)})
        m = bad.fetch(1000.0)
        assert not m.area("probes").ok and "HTTP 404" in m.area("probes").reason
        bad.close()
    finally:
        one.close()
        two.close()
