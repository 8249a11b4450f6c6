import copy
import msgspec

from kubewatch_ml.diffing import diff_documents, render_text
from kubewatch_ml.export.json_export import build_document

from .conftest import T0, sample_analysis, sample_cluster


def _pair():
    a = build_document(sample_analysis(T0), sample_cluster(T0, cordon_gpu_b=True))
    cb = sample_cluster(T0 + 600, cordon_gpu_b=False, replicas=6)
    # relabel and taint gpu-a, cordon cpu-a
    nodes = dict(cb.nodes)
    from kubewatch_ml.model import Taint
    nodes["gpu-a"] = msgspec.structs.replace(nodes["gpu-a"], labels={**nodes["gpu-a"].labels, "pool": "training"},
                                         taints=(Taint("maintenance", "", "NoExecute"),))
    nodes["cpu-a"] = msgspec.structs.replace(nodes["cpu-a"], unschedulable=True)
    del nodes["cpu-b"]
    cb = type(cb).build(cb.taken_at, cluster=cb.cluster, nodes=nodes.values(), pods=cb.pods.values(),
                        namespaces=cb.namespaces.values(), quotas=cb.quotas, hpas=cb.hpas, workloads=cb.workloads.values())
    b = build_document(sample_analysis(T0 + 600), cb)
    b = copy.deepcopy(b)
    b["views"]["quotas"]["quota_rows"][1]["used"] = 8
    b["views"]["quotas"]["quota_rows"][1]["percent"] = 100.0
    b["views"]["hpas"]["rows"][0]["state"] = "healthy"
    b["views"]["gpu_nodes"]["rows"][0]["requested"] = 8
    gone = b["findings"].pop(0)  # the crash loop is fixed
    b["findings"].append({**gone, "id": "KW-G002", "key": "KW-G002/Node//gpu-a", "kind": "Node", "namespace": "",
                          "name": "gpu-a", "severity": "warning", "summary": "2 GPUs allocated but idle"})
    b["findings"][0]["severity"] = "critical"  # the quota finding got worse
    return a, b


def test_diff_lists_node_workload_quota_and_finding_changes():
    a, b = _pair()
    d = diff_documents(a, b)
    got = {(c.section, c.kind, c.object) for c in d.changes}
    assert ("nodes", "uncordoned", "Node gpu-b") in got
    assert ("nodes", "cordoned", "Node cpu-a") in got
    assert ("nodes", "removed", "Node cpu-b") in got
    assert ("nodes", "tainted", "Node gpu-a") in got
    relabel = next(c for c in d.changes if c.kind == "relabelled")
    assert relabel.object == "Node gpu-a" and relabel.detail == "+pool=training"
    rep = next(c for c in d.changes if c.kind == "replicas")
    assert (rep.object, rep.before, rep.after) == ("Deployment team-nlp/serve", "4", "6")
    usage = next(c for c in d.changes if c.section == "quotas")
    assert usage.kind == "usage" and (usage.before, usage.after) == ("7", "8")
    assert ("hpas", "state", "HorizontalPodAutoscaler team-nlp/serve") in got
    gpu = next(c for c in d.changes if c.section == "gpus")
    assert (gpu.object, gpu.before, gpu.after) == ("Node gpu-a", "4/8", "8/8")
    assert [c.object for c in d.section("findings") if c.kind == "new"] == ["KW-G002 Node gpu-a"]
    assert [c.object for c in d.section("findings") if c.kind == "gone"] == ["KW-P001 Pod team-nlp/flaky-0"]
    sev = [c for c in d.section("findings") if c.kind == "severity"]
    assert len(sev) == 1 and (sev[0].before, sev[0].after) == ("warning", "critical")
    text = render_text(d)
    assert "Nodes (" in text and "cordoned Node cpu-a" in text and "replicas Deployment team-nlp/serve 4 -> 6" in text


def test_identical_documents_have_no_changes():
    a = build_document(sample_analysis(), sample_cluster())
    d = diff_documents(a, copy.deepcopy(a))
    assert d.changes == ()
    assert "no changes" in render_text(d)
