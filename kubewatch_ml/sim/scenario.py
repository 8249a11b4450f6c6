"""The simulated ML platform: what is planted where, deterministic from the seed, sized by nodes/pods.

Teams x environments as namespaces with quotas (one above 90 %, one exceeding after a cut, one
without), node pools over three zones (CPU, A100, H100, A10G, a MIG node; one cordoned, one
NotReady), inference Deployments with HPAs (one maxed out, one blind on a missing custom metric),
training Jobs / StatefulSets holding GPUs (some idle), notebooks, DaemonSets, single-zone and
single-replica prod services, Pending GPU pods (capacity, taint, selector), probe failures and
crash loops with their Events. Filler services bring the pod count to the requested size.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from . import manifests as mf
from .builder import A10G, A100_40, A100_80, H100, ClusterBuilder, Fault, PodPlan, Pool
from .control_plane import add_control_plane
from .load import LoadCurve, ServiceLoad
from .manifests import rfc3339
from .telemetry import Telemetry

MAX_PODS_PER_NODE = 110
BASE_TEAMS = [("vision", ("dev", "prod")), ("llm", ("dev", "prod")), ("recsys", ("test", "prod")), ("speech", ("dev", "prod"))]
EXTRA_TEAMS = ["search", "ads", "fraud", "maps", "robotics", "forecast", "translate", "ocr", "pricing", "risk",
               "video", "audio", "genomics", "weather", "ranking", "safety"]
NOUNS = ["api", "router", "scorer", "embedder", "featurizer", "indexer", "gateway", "batcher", "cache", "worker",
         "predictor", "classifier", "ranker", "retriever", "tokenizer", "validator"]
POOLS = [  # (pool, share of the non-MIG nodes)
    (Pool("cpu-general", "m6i.8xlarge", 32, 128), 0.50),
    (Pool("cpu-highmem", "r6i.8xlarge", 32, 256), 0.12),
    (Pool("gpu-a100", "p4d.24xlarge", 96, 1152, 8, A100_40), 0.10),
    (Pool("gpu-h100", "p5.48xlarge", 192, 2048, 8, H100), 0.08),
    (Pool("gpu-a10g", "g5.12xlarge", 48, 192, 4, A10G), 0.20),
]
MIG_POOL = Pool("gpu-a100-mig", "p4de.24xlarge", 96, 1152, 8, A100_80, mig=True)

# The planted cases, by name, so tests and docs can point at them.
QUOTA_NEAR_FULL = ("vision-dev", "requests.cpu")  # above 90 %
QUOTA_EXCEEDED = ("llm-dev", "requests.nvidia.com/gpu")  # used > hard after the quota was cut
NAMESPACE_WITHOUT_QUOTA = "recsys-test"
MAXED_HPA = ("recsys-prod", "ranker")
BLIND_HPA = ("llm-prod", "rerank-api")
SINGLE_ZONE_SERVICES = [("recsys-prod", "feature-server"), ("llm-prod", "tokenizer")]
SINGLE_REPLICA_SERVICE = ("vision-prod", "image-moderation")


@dataclass
class Scenario:
    seed: int
    start: float
    objects: dict[str, list[dict]]
    telemetry: Telemetry
    loads: dict[tuple[str, str], ServiceLoad]
    plans: dict[tuple[str, str, str], PodPlan]
    pod_devices: dict[tuple[str, str], dict[str, list]]
    builder: ClusterBuilder
    cordoned_node: str = ""
    not_ready_node: str = ""
    mig_node: str = ""

    def count(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.objects.items()}


def validate_size(nodes: int, pods: int) -> str | None:
    """A one-line reason the size is impossible, or None."""
    if nodes < 1:
        return f"--nodes must be at least 1 (got {nodes})"
    if pods < 0:
        return f"--pods must not be negative (got {pods})"
    if pods > MAX_PODS_PER_NODE * nodes:
        return f"--pods {pods} does not fit on {nodes} nodes (at most {MAX_PODS_PER_NODE} pods per node: {MAX_PODS_PER_NODE * nodes})"
    return None


def _pool_counts(nodes: int) -> list[tuple[Pool, int]]:
    mig = 1 + nodes // 500 if nodes >= 4 else 0
    rest = nodes - mig
    raw = [(p, share * rest / sum(s for _, s in POOLS)) for p, share in POOLS]
    counts = [[p, int(x)] for p, x in raw]
    left = rest - sum(c for _, c in counts)
    for i in sorted(range(len(raw)), key=lambda i: -(raw[i][1] - int(raw[i][1])))[:left]:
        counts[i][1] += 1
    # every pool present when there is room for it: take from cpu-general
    for c in counts[1:]:
        if c[1] == 0 and counts[0][1] > 1:
            c[1] += 1
            counts[0][1] -= 1
    out = [(p, n) for p, n in counts if n > 0]
    if mig:
        out.append((MIG_POOL, mig))
    return out


def build(seed: int = 7, nodes: int = 40, pods: int = 600, start: float = 1_767_225_600.0) -> Scenario:
    """Assemble the cluster. `start` is the simulated now (epoch seconds); every timestamp derives from it."""
    why = validate_size(nodes, pods)
    if why:
        raise ValueError(why)
    b = ClusterBuilder(seed, float(int(start)))
    rng = b.rng
    # --- nodes ------------------------------------------------------------------------------------
    seq = 0
    by_pool: dict[str, list[dict]] = {}
    for pool, n in _pool_counts(nodes):
        for i in range(n):
            zone = mf.ZONES[i % 3]
            by_pool.setdefault(pool.name, []).append(b.node(pool, i, zone, seq))
            seq += 1
    b.scheduler.sort_by_zone()
    cordoned = (by_pool.get("gpu-a100") or by_pool.get("cpu-general") or [None])[0]
    not_ready = (by_pool.get("cpu-general") or [None])[-1] if nodes >= 3 else None
    if not_ready is not None and not_ready is not cordoned:
        b.mark_not_ready(not_ready, b.start - 1260)
    mig_node = (by_pool.get("gpu-a100-mig") or [None])[0]

    # --- namespaces ---------------------------------------------------------------------------------
    for ns in ("default", "kube-public", "kube-node-lease", "kube-system"):
        b.namespace(ns)
    for ns in ("monitoring", "gpu-operator", "platform"):
        b.namespace(ns, {"team": "platform", "env": "prod"})
    teams = list(BASE_TEAMS) + [(t, ("dev", "prod")) for t in EXTRA_TEAMS[: min(len(EXTRA_TEAMS), pods // 5000)]]
    team_ns: list[tuple[str, str, str]] = []
    for team, envs in teams:
        for env in envs:
            name = f"{team}-{env}"
            b.namespace(name, {"team": team, "env": env,
                               "pod-security.kubernetes.io/enforce": "baseline"})
            team_ns.append((name, team, env))

    # --- daemonsets ------------------------------------------------------------------------------------
    not_ready_name = not_ready["metadata"]["name"] if not_ready is not None else ""
    ne = _c("node-exporter", "quay.io/prometheus/node-exporter:v1.8.2", "100m", "180Mi", "250m", "300Mi", port=9100,
            liveness=mf.http_probe("/", 9100), readiness=mf.http_probe("/", 9100))
    b.daemonset("monitoring", "node-exporter",
                b.pod_spec([ne], tolerations=[{"operator": "Exists"}], sa="node-exporter", priority_class="system-node-critical"),
                {"app.kubernetes.io/part-of": "kube-prometheus"}, PodPlan(cpu_busy=0.1), lambda s: True)
    dcgm = _c("nvidia-dcgm-exporter", "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.8-3.6.0-ubuntu22.04", "100m", "512Mi", "500m", "1Gi",
              port=9400, liveness=mf.http_probe("/health", 9400, initial=45), readiness=mf.http_probe("/health", 9400, initial=45))
    b.daemonset("gpu-operator", "nvidia-dcgm-exporter",
                b.pod_spec([dcgm], tolerations=[dict(mf.GPU_TOLERATION)], node_selector={"nvidia.com/gpu.present": "true"},
                           sa="nvidia-dcgm-exporter", priority_class="system-node-critical"),
                {"app.kubernetes.io/part-of": "gpu-operator"}, PodPlan(cpu_busy=0.2),
                lambda s: s.labels.get("nvidia.com/gpu.present") == "true")
    _mark_unreachable_pods(b, not_ready_name)

    # --- system and platform ---------------------------------------------------------------------------
    sysplan = PodPlan(cpu_busy=0.15)
    b.deployment("kube-system", "coredns", 2 if nodes > 1 else 1,
                 b.pod_spec([_c("coredns", "registry.k8s.io/coredns/coredns:v1.11.3", "100m", "70Mi", "", "170Mi", port=53,
                                liveness=mf.http_probe("/health", 8080, initial=60, timeout=5),
                                readiness=mf.http_probe("/ready", 8181))], priority_class="system-cluster-critical", sa="coredns"),
                 {"k8s-app": "kube-dns"}, sysplan, pdb={"maxUnavailable": 1}, service_port=53)
    b.deployment("kube-system", "metrics-server", 1,
                 b.pod_spec([_c("metrics-server", "registry.k8s.io/metrics-server/metrics-server:v0.7.2", "100m", "200Mi", "", "",
                                port=10250, liveness=mf.http_probe("/livez", 10250), readiness=mf.http_probe("/readyz", 10250))],
                            priority_class="system-cluster-critical", sa="metrics-server"),
                 {"k8s-app": "metrics-server"}, sysplan, service_port=443)
    b.deployment("monitoring", "kube-state-metrics", 1,
                 b.pod_spec([_c("kube-state-metrics", "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
                                "100m", "250Mi", "500m", "1Gi", port=8080,
                                liveness=mf.http_probe("/livez", 8080, initial=5, timeout=5),
                                readiness=mf.http_probe("/readyz", 8081, initial=5, timeout=5),
                                args=["--metric-labels-allowlist=nodes=[topology.kubernetes.io/zone,node.kubernetes.io/instance-type,nvidia.com/gpu.product]"])],
                            sa="kube-state-metrics"),
                 {"app.kubernetes.io/part-of": "kube-prometheus"}, sysplan, service_port=None)
    b.statefulset("monitoring", "prometheus-k8s", 1 if nodes < 10 else 2,
                  b.pod_spec([_c("prometheus", "quay.io/prometheus/prometheus:v2.42.0", "500m", "2Gi", "2", "8Gi", port=9090,
                                 liveness=mf.http_probe("/-/healthy", 9090), readiness=mf.http_probe("/-/ready", 9090),
                                 startup=mf.http_probe("/-/ready", 9090, period=15, failure=60))], sa="prometheus-k8s"),
                  {"app.kubernetes.io/part-of": "kube-prometheus"}, PodPlan(cpu_busy=0.4))
    b.deployment("gpu-operator", "gpu-operator", 1,
                 b.pod_spec([_c("gpu-operator", "nvcr.io/nvidia/gpu-operator:v24.9.2", "200m", "100Mi", "500m", "350Mi", port=8080,
                                liveness=mf.http_probe("/healthz", 8081), readiness=mf.http_probe("/readyz", 8081))], sa="gpu-operator"),
                 {"app.kubernetes.io/part-of": "gpu-operator"}, sysplan, service_port=None)
    ing_load = _load(b, "platform", "ingress-nginx-controller", 900.0, rps_per_core=1800.0, cpu_req=0.5, mem_gi=0.5)
    b.deployment("platform", "ingress-nginx-controller", _steady(ing_load, 70, 2, 6),
                 b.pod_spec([_c("controller", "registry.k8s.io/ingress-nginx/controller:v1.11.3", "500m", "512Mi", "2", "1Gi", port=80,
                                liveness=mf.http_probe("/healthz", 10254), readiness=mf.http_probe("/healthz", 10254))],
                            sa="ingress-nginx"),
                 {"app.kubernetes.io/part-of": "ingress-nginx"}, PodPlan(),
                 hpa={"minReplicas": 2, "maxReplicas": 6, "metrics": [_cpu_metric(70)]}, load=ing_load, service_port=80)
    b.statefulset("platform", "feature-store-redis", 3 if nodes >= 3 else 1,
                  b.pod_spec([_c("redis", "redis:7.2.5", "500m", "4Gi", "1", "4Gi", port=6379,
                                 liveness=_tcp(6379), readiness=_tcp(6379))]),
                  {"app.kubernetes.io/part-of": "feature-store"}, PodPlan(cpu_busy=0.2, mem_busy=0.7), pdb={"minAvailable": 2})
    b.deployment("platform", "feature-sync", 1,
                 b.pod_spec([_c("sync", "ghcr.io/acme-ml/feature-sync:2.3.1", "250m", "512Mi", "1", "1Gi", port=None)]),
                 {"app.kubernetes.io/part-of": "feature-store"},
                 PodPlan(fault=Fault("crashloop", "sync", "Error", 1)), service_port=None)
    b.deployment("platform", "mlflow", 1,
                 b.pod_spec([_c("mlflow", "ghcr.io/mlflow/mlflow", "250m", "1Gi", "1", "2Gi", port=5000)]),
                 {"app.kubernetes.io/part-of": "mlops"}, PodPlan(cpu_busy=0.1), service_port=5000)

    tol = [dict(mf.GPU_TOLERATION)]

    def gpu_sel(model) -> dict:
        return {"nvidia.com/gpu.product": model.product}

    # --- GPU training first (they hold whole nodes), then GPU serving -------------------------------------
    train_env = [{"name": "NCCL_DEBUG", "value": "WARN"}, {"name": "PYTORCH_CUDA_ALLOC_CONF", "value": "expandable_segments:True"}]
    b.statefulset("llm-dev", "llm-finetune", 2,
                  b.pod_spec([_c("trainer", "ghcr.io/acme-ml/llm-trainer:0.9.4", "90", "1000Gi", "96", "1100Gi", gpus=8, port=29500,
                                 env=train_env)], tolerations=tol, node_selector=gpu_sel(H100)),
                  {"team": "llm", "workload": "training"}, PodPlan(gpu_use="train", cpu_busy=0.6, mem_busy=0.7), age=86400 * 3)
    b.job("vision-dev", "train-resnet50-sweep-14", 2,
          b.pod_spec([_c("train", "ghcr.io/acme-ml/vision-train:1.4.0", "40", "400Gi", "48", "500Gi", gpus=8, port=None, env=train_env)],
                     tolerations=tol, node_selector=gpu_sel(A100_40)),
          {"team": "vision", "workload": "training"}, PodPlan(gpu_use="train", cpu_busy=0.5), age=7200)
    b.job("speech-dev", "whisper-finetune-3", 1,
          b.pod_spec([_c("train", "ghcr.io/acme-ml/speech-train:0.3.0", "20", "200Gi", "24", "250Gi", gpus=4, port=None, env=train_env)],
                     tolerations=tol, node_selector=gpu_sel(A100_40)),
          {"team": "speech", "workload": "training"}, PodPlan(gpu_use="stalled", cpu_busy=0.02), age=86400 * 2)
    b.job("llm-dev", "llm-eval-nightly", 1,
          b.pod_spec([_c("eval", "ghcr.io/acme-ml/llm-eval:latest", "16", "200Gi", "24", "256Gi", gpus=4, port=None)],
                     tolerations=tol, node_selector=gpu_sel(A100_40)),
          {"team": "llm", "workload": "evaluation"}, PodPlan(gpu_use="eval", cpu_busy=0.4), age=5400)

    # cordoned after the training landed: cordon does not evict, the job keeps its GPUs (one of them with XIDs)
    if cordoned is not None and nodes >= 2:
        b.mark_cordoned(cordoned)

    # serving on GPUs
    det_load = _load(b, "vision-prod", "detector-api", 320.0, rps_per_core=60.0, cpu_req=2.0, mem_gi=8, metric="inference_requests_per_second")
    b.deployment("vision-prod", "detector-api", _steady(det_load, 60, 2, 10),
                 b.pod_spec([_c("server", "ghcr.io/acme-ml/detector:3.2.0", "2", "8Gi", "4", "16Gi", gpus=1,
                                liveness=mf.http_probe("/healthz", 8080), readiness=mf.http_probe("/ready", 8080),
                                startup=mf.http_probe("/healthz", 8080, period=10, failure=30))],
                            tolerations=tol, node_selector=gpu_sel(A10G)),
                 {"team": "vision", "tier": "inference"}, PodPlan(gpu_use="serve"),
                 hpa={"minReplicas": 2, "maxReplicas": 10, "metrics": [_cpu_metric(60), _rps_metric("inference_requests_per_second", "80")],
                      "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                                                 "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]},
                                   "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                                               "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                                            {"type": "Percent", "value": 100, "periodSeconds": 15}]}}},
                 pdb={"maxUnavailable": 1}, load=det_load)
    llm_load = _load(b, "llm-prod", "llm-serving", 40.0, rps_per_core=2.5, cpu_req=8.0, mem_gi=64, metric="inference_requests_per_second")
    b.deployment("llm-prod", "llm-serving", _steady(llm_load, 70, 2, 6),
                 b.pod_spec([_c("vllm", "vllm/vllm-openai:v0.6.3", "8", "64Gi", "16", "96Gi", gpus=1, port=8000,
                                liveness=mf.http_probe("/health", 8000, period=15), readiness=mf.http_probe("/health", 8000),
                                startup=mf.http_probe("/health", 8000, period=10, failure=60))],
                            tolerations=tol, node_selector=gpu_sel(H100)),
                 {"team": "llm", "tier": "inference"}, PodPlan(gpu_use="serve"),
                 hpa={"minReplicas": 2, "maxReplicas": 6, "metrics": [_rps_metric("inference_requests_per_second", "12")]},
                 pdb={"maxUnavailable": 1}, load=llm_load)
    emb_load = _load(b, "llm-prod", "embeddings-api", 250.0, rps_per_core=80.0, cpu_req=2.0, mem_gi=8)
    b.deployment("llm-prod", "embeddings-api", _steady(emb_load, 70, 2, 6),
                 b.pod_spec([_c("server", "ghcr.io/acme-ml/embeddings:1.8.2", "2", "8Gi", "4", "12Gi", gpus=1,
                                liveness=mf.http_probe("/healthz", 8080), readiness=mf.http_probe("/ready", 8080))],
                            tolerations=tol, node_selector=gpu_sel(A10G)),
                 {"team": "llm", "tier": "inference"}, PodPlan(gpu_use="serve"),
                 hpa={"minReplicas": 2, "maxReplicas": 6, "metrics": [_cpu_metric(70)]}, load=emb_load)
    asr_load = _load(b, "speech-prod", "asr-streaming", 150.0, rps_per_core=40.0, cpu_req=2.0, mem_gi=6)
    b.deployment("speech-prod", "asr-streaming", _steady(asr_load, 60, 2, 8),
                 b.pod_spec([_c("asr", "ghcr.io/acme-ml/asr:5.0.1", "2", "6Gi", "4", "8Gi", gpus=1,
                                liveness=mf.http_probe("/healthz", 8080), readiness=mf.http_probe("/ready", 8080))],
                            tolerations=tol, node_selector=gpu_sel(A10G)),
                 {"team": "speech", "tier": "inference"},
                 PodPlan(gpu_use="serve", fault=Fault("liveness", "asr", scope="one")),
                 hpa={"minReplicas": 2, "maxReplicas": 8, "metrics": [_cpu_metric(60)]}, load=asr_load)
    # notebooks: GPUs allocated and mostly idle
    for user, ns, model, res in (("alice", "vision-dev", A10G, None), ("bob", "vision-dev", A10G, None),
                                 ("chen", "llm-dev", A10G, None), ("dana", "llm-dev", A100_80, "nvidia.com/mig-1g.10gb"),
                                 ("erin", "speech-dev", A100_80, "nvidia.com/mig-2g.20gb")):
        if res and mig_node is None:
            continue
        sel = gpu_sel(model)
        c = _c("notebook", "quay.io/jupyter/pytorch-notebook:cuda12-2024-10-07", "2", "16Gi", "4", "32Gi",
               gpus=0 if res else 1, port=8888, readiness=mf.http_probe("/api", 8888))
        if res:
            c["resources"]["limits"][res] = "1"
        b.statefulset(ns, f"notebook-{user}", 1, b.pod_spec([c], tolerations=tol, node_selector=sel),
                      {"team": ns.split("-")[0], "workload": "notebook", "owner": user},
                      PodPlan(gpu_use="notebook", cpu_busy=0.03), age=86400 * rng.uniform(1, 20))
    # fill the big-GPU pools with training so 8-GPU requests do not fit (planted Pending below)
    _fill_gpu_training(b, by_pool, tol, train_env, team_ns)

    # --- Pending GPU pods with the scheduler's reasons -----------------------------------------------------
    b.job("llm-dev", "llm-finetune-70b", 2,
          b.pod_spec([_c("trainer", "ghcr.io/acme-ml/llm-trainer:0.9.4", "90", "1000Gi", "96", "1100Gi", gpus=8, port=29500)],
                     tolerations=tol, node_selector=gpu_sel(H100)),
          {"team": "llm", "workload": "training"}, PodPlan(gpu_use="train"), age=2400)
    b.bare_pod("vision-dev", "gpu-debug",
               b.pod_spec([_c("debug", "nvidia/cuda:12.4.1-base-ubuntu22.04", "1", "4Gi", "2", "8Gi", gpus=1, port=None,
                              args=["sleep", "infinity"])]),
               {"team": "vision", "owner": "bob"}, PodPlan(gpu_use="notebook"), age=3000)
    b.job("speech-dev", "tts-b200-benchmark", 1,
          b.pod_spec([_c("bench", "ghcr.io/acme-ml/tts-bench:0.1.0", "8", "64Gi", "8", "64Gi", gpus=1, port=None)],
                     tolerations=tol, node_selector={"nvidia.com/gpu.product": "NVIDIA-B200"}),
          {"team": "speech", "workload": "benchmark"}, PodPlan(gpu_use="train"), age=1500)

    # --- CPU services with HPAs and the planted cases ----------------------------------------------------
    behavior_gateway = {"scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                                    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 60},
                                                 {"type": "Percent", "value": 100, "periodSeconds": 60}]},
                        "scaleDown": {"stabilizationWindowSeconds": 600, "selectPolicy": "Max",
                                      "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}}
    gw = _load(b, "llm-prod", "chat-gateway", 1200.0, rps_per_core=400.0, cpu_req=1.0, mem_gi=1)
    b.deployment("llm-prod", "chat-gateway", _steady(gw, 60, 3, 20),
                 b.pod_spec([_c("gateway", "ghcr.io/acme-ml/chat-gateway:4.12.0", "1", "1Gi", "2", "2Gi",
                                liveness=mf.http_probe("/healthz", 8080), readiness=mf.http_probe("/ready", 8080))]),
                 {"team": "llm", "tier": "frontend"}, PodPlan(),
                 hpa={"minReplicas": 3, "maxReplicas": 20, "metrics": [_cpu_metric(60)], "behavior": behavior_gateway},
                 pdb={"minAvailable": 2}, load=gw)
    rr = _load(b, "llm-prod", "rerank-api", 300.0, rps_per_core=120.0, cpu_req=1.0, mem_gi=2, missing=True)
    b.deployment("llm-prod", "rerank-api", _steady(rr, 65, 2, 10),
                 b.pod_spec([_c("rerank", "ghcr.io/acme-ml/rerank:2.0.3", "1", "2Gi", "2", "4Gi",
                                liveness=mf.http_probe("/healthz", 8080), readiness=mf.http_probe("/ready", 8080, timeout=1))]),
                 {"team": "llm", "tier": "inference"},
                 PodPlan(fault=Fault("readiness", "rerank", scope="one",
                                     probe_message='Readiness probe failed: Get "http://10.0.3.4:8080/ready": context deadline exceeded (Client.Timeout exceeded while awaiting headers)')),
                 hpa={"minReplicas": 2, "maxReplicas": 10, "metrics": [_rps_metric("inference_queue_depth", "30")]},
                 load=rr)
    tk = _load(b, "llm-prod", "tokenizer", 200.0, rps_per_core=500.0, cpu_req=0.5, mem_gi=0.5)
    b.deployment("llm-prod", "tokenizer", 2,
                 b.pod_spec([_c("tokenizer", "ghcr.io/acme-ml/tokenizer:1.1.0", "500m", "512Mi", "1", "1Gi",
                                readiness=mf.http_probe("/ready", 8080))], affinity=_prefer_zone("us-east-1a")),
                 {"team": "llm", "tier": "inference"}, PodPlan(preferred_zone="us-east-1a"), load=tk)
    rk = _load(b, "recsys-prod", "ranker", 2400.0, rps_per_core=100.0, cpu_req=1.0, mem_gi=2)
    b.deployment("recsys-prod", "ranker", 6,
                 b.pod_spec([_c("ranker", "ghcr.io/acme-ml/ranker:7.3.0", "1", "2Gi", "2", "4Gi",
                                liveness=mf.http_probe("/healthz", 8080), readiness=mf.http_probe("/ready", 8080))]),
                 {"team": "recsys", "tier": "inference"}, PodPlan(),
                 hpa={"minReplicas": 2, "maxReplicas": 6, "metrics": [_cpu_metric(60)]}, pdb={"minAvailable": "50%"}, load=rk)
    cg = _load(b, "recsys-prod", "candidate-gen", 500.0, rps_per_core=150.0, cpu_req=1.0, mem_gi=2,
               metric="inference_requests_per_second")
    b.deployment("recsys-prod", "candidate-gen", _steady(cg, 50, 2, 12),
                 b.pod_spec([_c("candgen", "ghcr.io/acme-ml/candidate-gen:1.9.0", "1", "2Gi", "2", "4Gi",
                                liveness=mf.http_probe("/healthz", 8080), readiness=mf.http_probe("/ready", 8080))]),
                 {"team": "recsys", "tier": "inference"}, PodPlan(),
                 hpa={"minReplicas": 2, "maxReplicas": 12, "metrics": [_cpu_metric(50), _rps_metric("inference_requests_per_second", "100")],
                      "behavior": {"scaleUp": {"stabilizationWindowSeconds": 60, "selectPolicy": "Min",
                                               "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60},
                                                            {"type": "Percent", "value": 50, "periodSeconds": 60}]}}},
                 load=cg)
    b.deployment("recsys-prod", "feature-server", 3,
                 b.pod_spec([_c("server", "ghcr.io/acme-ml/feature-server:3.0.0", "500m", "2Gi", "1", "2Gi",
                                readiness=mf.http_probe("/ready", 8080))], affinity=_prefer_zone("us-east-1b")),
                 {"team": "recsys", "tier": "serving"}, PodPlan(preferred_zone="us-east-1b"), pdb={"minAvailable": 2})
    b.deployment("vision-prod", "image-moderation", 1,
                 b.pod_spec([_c("moderation", "ghcr.io/acme-ml/image-moderation:0.8.1", "1", "2Gi", "2", "4Gi",
                                liveness=mf.http_probe("/healthz", 8080))]),
                 {"team": "vision", "tier": "inference"}, PodPlan(), pdb={"minAvailable": 1})
    th = _load(b, "vision-prod", "thumbnailer", 400.0, rps_per_core=300.0, cpu_req=0.5, mem_gi=1)
    b.deployment("vision-prod", "thumbnailer", _steady(th, 65, 2, 8),
                 b.pod_spec([_c("thumbnailer", "ghcr.io/acme-ml/thumbnailer:2.2.0", "500m", "1Gi", "1", "1Gi",
                                readiness=mf.http_probe("/ready", 8080))], affinity=_prefer_zone("us-east-1c")),
                 {"team": "vision", "tier": "inference"}, PodPlan(preferred_zone="us-east-1c"),
                 hpa={"minReplicas": 2, "maxReplicas": 8, "metrics": [_cpu_metric(65)]}, load=th)
    b.deployment("recsys-test", "ranker-canary", 2,
                 b.pod_spec([_c("ranker", "ghcr.io/acme-ml/ranker:latest", "1", "1Gi", "2", "1Gi",
                                liveness=mf.http_probe("/healthz", 8080))]),
                 {"team": "recsys", "tier": "inference"}, PodPlan(fault=Fault("crashloop", "ranker", "OOMKilled", 137)))
    b.deployment("recsys-test", "feature-backfill", 2,
                 b.pod_spec([_c("backfill", "ghcr.io/acme-ml/feature-backfill", "", "", "", "", port=None)]),
                 {"team": "recsys", "workload": "batch"}, PodPlan(cpu_busy=0.0), service_port=None)
    b.job("recsys-test", "data-validation-20260101", 2,
          b.pod_spec([_c("validate", "ghcr.io/acme-ml/data-validation:0.4.0", "1", "2Gi", "", "", port=None)]),
          {"team": "recsys", "workload": "batch"}, PodPlan(), done=True, age=20000)
    b.deployment("speech-dev", "asr-dev", 1,
                 b.pod_spec([_c("asr", "ghcr.io/acme-ml/asr:5.1.0-rc1", "1", "4Gi", "2", "4Gi",
                                startup=mf.http_probe("/healthz", 8080, period=10, failure=12),
                                liveness=mf.http_probe("/healthz", 8080))]),
                 {"team": "speech", "tier": "inference"},
                 PodPlan(fault=Fault("startup", "asr", scope="all",
                                     probe_message="Startup probe failed: HTTP probe failed with statuscode: 503")))
    b.deployment("speech-prod", "tts", 2,
                 b.pod_spec([_c("tts", "ghcr.io/acme-ml/tts:2.4.0", "1", "2Gi", "2", "4Gi")]),
                 {"team": "speech", "tier": "inference"}, PodPlan(), pdb={"maxUnavailable": 1})

    # --- filler: more services until the pod count is reached ------------------------------------------
    _fill_services(b, pods, team_ns, nodes)

    # --- policy objects ----------------------------------------------------------------------------------
    for ns, team, env in team_ns:
        if env != "prod":
            _limit_range(b, ns)
        if env == "prod":
            _network_policies(b, ns)
    _quotas(b, team_ns)
    add_control_plane(b.objects, seed, b.start)  # service accounts, node leases, RBAC (own random stream)
    return Scenario(seed, b.start, b.objects, b.telemetry, b.loads, b.plans, b.pod_devices, b,
                    cordoned["metadata"]["name"] if cordoned is not None and nodes >= 2 else "",
                    not_ready_name, mig_node["metadata"]["name"] if mig_node is not None else "")


# --- helpers ---------------------------------------------------------------------------------------------
def _c(name: str, image: str, cpu_req: str, mem_req: str, cpu_lim: str, mem_lim: str, gpus: int = 0,
       port: int | None = 8080, **kw) -> dict:
    req = {k: v for k, v in (("cpu", cpu_req), ("memory", mem_req)) if v}
    lim = {k: v for k, v in (("cpu", cpu_lim), ("memory", mem_lim)) if v}
    if gpus:
        lim["nvidia.com/gpu"] = str(gpus)
        req["nvidia.com/gpu"] = str(gpus)
    return mf.container(name, image, req or None, lim or None, port=port, **kw)


def _tcp(port: int) -> dict:
    return {"tcpSocket": {"port": port}, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}


def _cpu_metric(pct: int) -> dict:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": pct}}}


def _rps_metric(name: str, value: str) -> dict:
    return {"type": "Pods", "pods": {"metric": {"name": name}, "target": {"type": "AverageValue", "averageValue": value}}}


def _prefer_zone(zone: str) -> dict:
    return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "preference": {"matchExpressions": [
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}}]}}


def _load(b: ClusterBuilder, ns: str, name: str, base: float, rps_per_core: float, cpu_req: float, mem_gi: float,
          metric: str = "", missing: bool = False) -> ServiceLoad:
    rng = b.rng
    curve = LoadCurve(base_rps=base, seed=rng.getrandbits(32), start=b.start, amplitude=rng.uniform(0.2, 0.4),
                      phase=rng.uniform(0, 86400), noise=rng.uniform(0.03, 0.08),
                      burst_first=rng.uniform(300, 1500), burst_every=rng.uniform(3000, 5400),
                      burst_len=rng.uniform(600, 1200), burst_factor=rng.uniform(1.8, 3.0))
    return ServiceLoad(ns, name, curve, rps_per_core, cpu_req, mem_gi * 1024 ** 3,
                       custom_metric=metric if not missing else "", metric_missing=missing)


def _steady(load: ServiceLoad, target_pct: float, lo: int, hi: int) -> int:
    """Replicas that put the service at its CPU target at the scenario's start."""
    need = load.curve.rps(load.curve.start) / load.rps_per_core / (load.cpu_request * target_pct / 100.0)
    return max(lo, min(hi, math.ceil(need)))


def _mark_unreachable_pods(b: ClusterBuilder, node: str) -> None:
    if not node:
        return
    for p in b.objects["pods"]:
        if p["spec"].get("nodeName") == node:
            # conditions and states may be shared with other pods: replace, never mutate
            conds = []
            for c in p["status"]["conditions"]:
                if c["type"] in ("Ready", "ContainersReady"):
                    c = {k: v for k, v in c.items() if k not in ("reason", "message")}
                    c["status"] = "False"
                    c["lastTransitionTime"] = rfc3339(b.start - 1220)
                conds.append(c)
            p["status"]["conditions"] = conds
            p["status"]["containerStatuses"] = [dict(s, ready=False) for s in p["status"].get("containerStatuses", ())]
    for ds in b.objects["daemonsets"]:
        st = ds["status"]
        st["numberReady"] = st["numberAvailable"] = st["desiredNumberScheduled"] - 1
        st["numberUnavailable"] = 1


def _fill_gpu_training(b: ClusterBuilder, by_pool: dict, tol: list, env: list, team_ns: list) -> None:
    """Training on the remaining 8-GPU capacity of the A100 and H100 pools (one job per node-sized gap)."""
    dev_ns = [ns for ns, _, e in team_ns if e != "prod"] or ["llm-dev"]
    k = 0
    for pool, model in (("gpu-h100", H100), ("gpu-a100", A100_40)):
        for node in by_pool.get(pool, []):
            slot = b.scheduler.nodes[node["metadata"]["name"]]
            if slot.unschedulable or any(t["key"].startswith("node.kubernetes.io/") for t in slot.taints):
                continue
            free = slot.allocatable.get("nvidia.com/gpu", 0) - slot.used.get("nvidia.com/gpu", 0)
            while free >= 8:
                ns = dev_ns[k % len(dev_ns)]
                team = ns.split("-")[0]
                k += 1
                b.job(ns, f"{team}-pretrain-{k:03d}", 1,
                      b.pod_spec([_c("train", f"ghcr.io/acme-ml/{team}-train:1.{k % 7}.0", "40", "400Gi", "48", "500Gi",
                                     gpus=8, port=None, env=env)], tolerations=tol,
                                 node_selector={"nvidia.com/gpu.product": model.product, "kubernetes.io/hostname": slot.name}),
                      {"team": team, "workload": "training"},
                      PodPlan(gpu_use="stalled" if k % 11 == 5 else "train", cpu_busy=0.5), age=b.rng.uniform(1800, 86400 * 4))
                free -= 8


def _fill_services(b: ClusterBuilder, target: int, team_ns: list, nodes: int) -> None:
    have = len(b.objects["pods"])
    left = target - have
    if left <= 0:
        return
    rng = b.rng
    # keep requests inside the CPU pools' capacity whatever the density
    cpu_alloc = sum(s.allocatable.get("cpu", 0) - s.used.get("cpu", 0) for s in b.scheduler.order
                    if "nvidia.com/gpu.present" not in s.labels and not s.unschedulable)
    density = min(1.0, 0.75 * cpu_alloc / max(1.0, left * 0.5))
    avg = max(5, min(60, left // 200))
    k = 0
    while left > 0:
        ns, team, env = team_ns[k % len(team_ns)]
        noun = NOUNS[(k // len(team_ns)) % len(NOUNS)]
        gen = k // (len(team_ns) * len(NOUNS))
        name = f"{team}-{noun}" + (f"-{gen + 1}" if gen else "")
        k += 1
        kind = rng.random()
        cpu_m = int(rng.choice((100, 200, 250, 500, 500, 1000)) * density) or 50
        mem_mi = rng.choice((256, 512, 1024, 2048))
        c = _c(noun, f"ghcr.io/acme-ml/{team}-{noun}:{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
               f"{cpu_m}m", f"{mem_mi}Mi", f"{cpu_m * 2}m", f"{mem_mi * 2}Mi",
               liveness=mf.http_probe("/healthz", 8080) if rng.random() < 0.8 else None,
               readiness=mf.http_probe("/ready", 8080) if rng.random() < 0.9 else None)
        labels = {"team": team, "tier": "inference" if kind < 0.75 else "batch"}
        if kind < 0.75:
            n = max(1, min(left, int(avg * rng.uniform(0.5, 1.5))))
            cpu = cpu_m / 1000.0
            rps_core = rng.choice((50.0, 100.0, 200.0))
            target = rng.choice((50, 60, 70))
            base = n * cpu * rps_core * target / 100.0 * rng.uniform(0.93, 1.05)
            metric = "inference_requests_per_second" if rng.random() < 0.3 else ""
            ld = _load(b, ns, name, base, rps_per_core=rps_core, cpu_req=cpu, mem_gi=mem_mi / 1024, metric=metric)
            # size the mean so the load right now (daily phase, noise) is what the replicas were sized for
            now_factor = ld.curve.rps(b.start) / ld.curve.base_rps
            ld = dataclasses.replace(ld, curve=dataclasses.replace(ld.curve, base_rps=base / now_factor))
            metrics = [_cpu_metric(target)]
            if metric:
                metrics.append(_rps_metric(metric, str(max(1, int(base / n)))))
            hpa = {"minReplicas": max(1, n // 3), "maxReplicas": max(n * 3, 4), "metrics": metrics} if env == "prod" else None
            b.deployment(ns, name, n, b.pod_spec([c]), labels, PodPlan(), hpa=hpa, load=ld if hpa else None)
        elif kind < 0.9:
            n = max(1, min(left, int(avg * rng.uniform(0.3, 1.0))))
            c.pop("ports", None)
            b.job(ns, f"{name}-etl-{rng.randint(1000, 9999)}", n, b.pod_spec([c]), labels, PodPlan(cpu_busy=0.8))
        else:
            n = max(1, min(left, rng.randint(1, 5)))
            b.statefulset(ns, f"{name}-cache", n, b.pod_spec([c]), labels, PodPlan(cpu_busy=0.2, mem_busy=0.8))
        left -= n


def _limit_range(b: ClusterBuilder, ns: str) -> None:
    b.objects["limitranges"].append({
        "apiVersion": "v1", "kind": "LimitRange",
        "metadata": b._meta(ns, "default-limits", b.ago(86400 * 30, 86400 * 200)),
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "1", "memory": "1Gi"},
                             "defaultRequest": {"cpu": "250m", "memory": "256Mi"},
                             "max": {"cpu": "96", "memory": "1100Gi"}, "min": {"cpu": "10m", "memory": "16Mi"}}]}})


def _network_policies(b: ClusterBuilder, ns: str) -> None:
    b.objects["networkpolicies"].append({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": b._meta(ns, "default-deny-ingress", b.ago(86400 * 30, 86400 * 200)),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    b.objects["networkpolicies"].append({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": b._meta(ns, "allow-from-ingress", b.ago(86400 * 30, 86400 * 200)),
        "spec": {"podSelector": {"matchLabels": {"tier": "inference"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "platform"}}},
                                       {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                              "ports": [{"protocol": "TCP", "port": 8080}]}]}})


def _quotas(b: ClusterBuilder, team_ns: list) -> None:
    keys = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "requests.nvidia.com/gpu", "pods")
    gi = 1024 ** 3
    from .builder import usage_by_namespace
    usage = usage_by_namespace(b.objects["pods"])
    for ns, team, env in team_ns:
        if ns == NAMESPACE_WITHOUT_QUOTA:
            continue
        factors = {k: b.rng.uniform(2.0, 3.5) for k in keys}
        override: dict[str, float] = {}
        used = usage.get(ns, {})
        if ns == QUOTA_NEAR_FULL[0]:
            u = used.get("requests.cpu", 0.0)
            override["requests.cpu"] = max(1.0, math.ceil(u / 0.94 * 10) / 10) if u else 1.0
        if ns == QUOTA_EXCEEDED[0]:
            u = used.get("requests.nvidia.com/gpu", 0.0)
            if u >= 2:
                override["requests.nvidia.com/gpu"] = float(max(1, int(u * 0.75)))  # cut after the pods existed
            else:
                uc = used.get("requests.memory", 0.0)
                override["requests.memory"] = max(gi, (uc * 0.8) // gi * gi)
        b.quota(ns, factors, override, used=used)
