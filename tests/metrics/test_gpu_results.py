"""queries/results.build_gpu: a GPU that changed hands within the 30-min window."""
from kubewatch_ml.queries.results import build_gpu


def _lb(pod: str = "", gpu: str = "2") -> dict:
    return {"Hostname": "n1", "gpu": gpu, "UUID": f"GPU-n1-{gpu}", "modelName": "NVIDIA A10G",
            "namespace": "llm-prod" if pod else "", "pod": pod, "container": "server" if pod else ""}


def test_a_serving_pod_does_not_inherit_the_idle_average_of_the_gpu_before_it():
    """Prometheus answers avg_over_time per series: the GPU idle and unallocated for 25 min (pod="")
    and the serving pod that got it 5 min ago are two series of one GPU. The verdict is the pod's."""
    rows = {
        "gpu_util": [(_lb("embed-1"), 66.0)],
        # the pod's own series first, the predecessor's last (the order Prometheus happens to answer in)
        "gpu_util_avg_30m": [(_lb("embed-1"), 65.0), (_lb(""), 0.0)],
        "gpu_util_coverage_30m": [(_lb("embed-1"), 0.95), (_lb(""), 1.0)],
    }
    ranges = {"gpu_util_history": [(_lb("embed-1"), [(1.0, 64.0), (2.0, 66.0)]), (_lb(""), [(0.0, 0.0)])]}
    (g,) = build_gpu(rows, ranges)["gpus"]
    assert (g.pod, g.util_avg_30m, g.idle, g.util_history) == ("embed-1", 65.0, False, (64.0, 66.0))


def test_the_holder_needs_its_own_coverage():
    """A pod 5 min on its GPU has no 30-min verdict yet, however long the GPU was watched before."""
    rows = {
        "gpu_util": [(_lb("notebook-0"), 1.0)],
        "gpu_util_avg_30m": [(_lb("notebook-0"), 1.0), (_lb(""), 0.0)],
        "gpu_util_coverage_30m": [(_lb("notebook-0"), 0.17), (_lb(""), 1.0)],
    }
    (g,) = build_gpu(rows, {})["gpus"]
    assert g.util_avg_30m is None and not g.idle
