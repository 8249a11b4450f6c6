"""The store's compact pieces: PodIndex against a plain set model, value-shared pod parts."""
import random

from kubewatch_ml import store_index
from kubewatch_ml.sources import decode
from kubewatch_ml.store_index import PodIndex

from .fakeapi import pod


def test_pod_index_equals_a_set_model_under_random_changes(monkeypatch):
    monkeypatch.setattr(store_index, "PENDING_MAX", 7)  # the self-compaction path too
    rng = random.Random(3)
    idx, model = PodIndex(), {}
    for step in range(20_000):
        key, uid = rng.choice("abcd"), f"u{rng.randrange(60)}"
        members = model.setdefault(key, set())
        if uid in members and rng.random() < 0.5:
            members.discard(uid)
            idx.remove(key, uid)
        elif uid not in members:
            members.add(uid)
            idx.add(key, uid)
        if rng.random() < 0.01 or step == 19_999:
            frozen = idx.freeze()
            assert {k: sorted(v) for k, v in frozen.items()} == {k: sorted(v) for k, v in model.items() if v}
            assert all(len(v) == len(set(v)) for v in frozen.values())


def _decoded(*objs):
    import json
    return decode.decode_list("pods", json.dumps({"metadata": {}, "items": list(objs)}).encode()).records


def test_equal_statuses_and_conditions_are_shared_and_different_ones_kept():
    a, b, c = pod("a"), pod("b"), pod("c")
    for p in (a, b, c):
        p["status"]["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-28T10:00:05Z"}]
        p["status"]["containerStatuses"] = [{"name": "c", "ready": True, "restartCount": 1,
                                             "state": {"running": {"startedAt": "2026-11-28T10:00:04Z"}}}]
    c["status"]["containerStatuses"][0]["restartCount"] = 7
    c["status"]["conditions"][0]["status"] = "False"
    pa, pb, pc = _decoded(a, b, c)
    assert pa.statuses is pb.statuses and pa.conditions is pb.conditions  # equal values: one record
    assert pc.statuses[0].restart_count == 7 and pa.statuses[0].restart_count != 7
    assert pc.conditions != pa.conditions and pc.conditions[0].status == "False"
