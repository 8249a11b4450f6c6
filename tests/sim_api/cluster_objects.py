"""A small, realistic ML cluster as Kubernetes JSON: 4 nodes over 3 zones (2 GPU nodes, tainted),
a Deployment + ReplicaSet + HPA + PDB in ml-prod, a DaemonSet on every node, a GPU training Job,
a StatefulSet, a crash-looping pod with its events, a quota, a LimitRange, a NetworkPolicy, services."""
from __future__ import annotations

import time

T0 = time.time() - 3 * 3600


def ts(offset: float = 0.0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + offset))


def meta(name: str, ns: str | None = None, labels: dict | None = None, **extra) -> dict:
    md = {"name": name, "creationTimestamp": ts()}
    if ns is not None:
        md["namespace"] = ns
    if labels:
        md["labels"] = labels
    md.update(extra)
    return md


NODES = [
    # name, zone, gpu count, instance type
    ("cpu-a-1", "us-east-1a", 0, "m6i.4xlarge"),
    ("cpu-b-1", "us-east-1b", 0, "m6i.4xlarge"),
    ("gpu-a-1", "us-east-1a", 8, "p4d.24xlarge"),
    ("gpu-c-1", "us-east-1c", 8, "p4d.24xlarge"),
]


def node(name: str, zone: str, gpus: int, itype: str, i: int) -> dict:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "us-east-1",
              "node.kubernetes.io/instance-type": itype}
    alloc = {"cpu": "15890m", "memory": "60Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    spec: dict = {"podCIDR": f"10.244.{i}.0/24", "providerID": f"aws:///{zone}/i-0{i}abc"}
    if gpus:
        labels.update({"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB", "nvidia.com/gpu.memory": "81920",
                       "nvidia.com/gpu.count": str(gpus), "node-role.kubernetes.io/gpu": ""})
        alloc["nvidia.com/gpu"] = str(gpus)
        spec["taints"] = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    else:
        labels["node-role.kubernetes.io/worker"] = ""
    return {
        "kind": "Node", "apiVersion": "v1", "metadata": meta(name, labels=labels), "spec": spec,
        "status": {
            "capacity": dict(alloc), "allocatable": alloc,
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                 "message": "kubelet has sufficient memory available", "lastHeartbeatTime": ts(100),
                 "lastTransitionTime": ts()},
                {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "message": "kubelet is posting ready status", "lastHeartbeatTime": ts(100),
                 "lastTransitionTime": ts()},
            ],
            "addresses": [{"type": "InternalIP", "address": f"10.0.{i}.10"}, {"type": "Hostname", "address": name}],
            "nodeInfo": {"machineID": f"m{i}", "systemUUID": f"u{i}", "bootID": f"b{i}", "kernelVersion": "6.1.0-18-cloud-amd64",
                         "osImage": "Debian GNU/Linux 12 (bookworm)", "containerRuntimeVersion": "containerd://1.7.13",
                         "kubeletVersion": "v1.32.4", "kubeProxyVersion": "v1.32.4", "operatingSystem": "linux",
                         "architecture": "amd64"},
        },
    }


def container(name: str, image: str, cpu: str = "500m", mem: str = "1Gi", gpu: int = 0) -> dict:
    req = {"cpu": cpu, "memory": mem}
    lim = {"memory": mem}
    if gpu:
        req["nvidia.com/gpu"] = str(gpu)
        lim["nvidia.com/gpu"] = str(gpu)
    return {"name": name, "image": image, "resources": {"requests": req, "limits": lim},
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}}


def pod(name: str, ns: str, node_name: str, labels: dict, owner: tuple[str, str, str] | None, *,
        gpu: int = 0, restarts: int = 0, crash: bool = False, ip: str = "10.244.0.5", emptydir: bool = False) -> dict:
    c = container("main", "ghcr.io/acme/model-server:1.4.2", gpu=gpu)
    spec: dict = {"containers": [c], "nodeName": node_name, "restartPolicy": "Always",
                  "schedulerName": "default-scheduler", "serviceAccountName": "default"}
    if gpu:
        spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    if emptydir:
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    md = meta(name, ns, labels)
    if owner:
        kind, oname, api = owner
        md["ownerReferences"] = [{"apiVersion": api, "kind": kind, "name": oname, "uid": f"uid-{oname}",
                                  "controller": True, "blockOwnerDeletion": True}]
    state = ({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}}
             if crash else {"running": {"startedAt": ts(60)}})
    cs = {"name": "main", "image": c["image"], "imageID": "", "ready": not crash, "started": not crash,
          "restartCount": restarts, "state": state, "containerID": "containerd://abc"}
    if restarts:
        cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": ts(3000),
                                          "finishedAt": ts(3100)}}
    return {
        "kind": "Pod", "apiVersion": "v1", "metadata": md, "spec": spec,
        "status": {"phase": "Running", "podIP": ip, "hostIP": "10.0.0.10", "startTime": ts(50), "qosClass": "Burstable",
                   "conditions": [{"type": "Ready", "status": "False" if crash else "True",
                                   "lastTransitionTime": ts(60)}],
                   "containerStatuses": [cs]},
    }


def objects() -> dict[str, list[dict]]:
    web_labels = {"app": "web", "team": "vision", "pod-template-hash": "7d4b9c"}
    out: dict[str, list[dict]] = {
        "namespaces": [{"kind": "Namespace", "apiVersion": "v1", "metadata": meta(n, labels={"kubernetes.io/metadata.name": n}),
                        "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
                       for n in ("default", "kube-system", "monitoring", "ml-prod", "ml-dev")],
        "nodes": [node(n, z, g, t, i) for i, (n, z, g, t) in enumerate(NODES)],
        "pods": [], "events": [],
    }
    # web: 3 replicas, one on each CPU node and one on gpu-a-1 (tolerates nothing -> cpu only really; fine)
    for i, nn in enumerate(["cpu-a-1", "cpu-b-1", "cpu-a-1"]):
        out["pods"].append(pod(f"web-7d4b9c-{'xyz'[i]}{i}k2p", "ml-prod", nn, web_labels,
                               ("ReplicaSet", "web-7d4b9c", "apps/v1"), ip=f"10.244.0.{10 + i}", emptydir=(i == 0)))
    for i, (nn, *_rest) in enumerate(NODES):
        out["pods"].append(pod(f"node-exporter-{nn}", "kube-system", nn, {"app": "node-exporter"},
                               ("DaemonSet", "node-exporter", "apps/v1"), ip=f"10.0.{i}.10"))
    out["pods"].append(pod("train-llm-0-abcde", "ml-dev", "gpu-c-1", {"job-name": "train-llm", "app": "train-llm"},
                           ("Job", "train-llm", "batch/v1"), gpu=4, ip="10.244.3.7"))
    out["pods"].append(pod("notebook-crashy", "ml-dev", "gpu-a-1", {"app": "notebook"}, ("StatefulSet", "notebook", "apps/v1"),
                           gpu=1, restarts=7, crash=True, ip="10.244.2.9"))
    sel = {"matchLabels": {"app": "web"}}
    tmpl = {"metadata": {"labels": {"app": "web", "team": "vision"}},
            "spec": {"containers": [container("main", "ghcr.io/acme/model-server:1.4.2")]}}
    out["deployments"] = [{"kind": "Deployment", "apiVersion": "apps/v1",
                           "metadata": meta("web", "ml-prod", {"app": "web"}, generation=1),
                           "spec": {"replicas": 3, "selector": sel, "template": tmpl},
                           "status": {"replicas": 3, "readyReplicas": 3, "updatedReplicas": 3, "availableReplicas": 3,
                                      "observedGeneration": 1}}]
    out["replicasets"] = [{"kind": "ReplicaSet", "apiVersion": "apps/v1",
                           "metadata": meta("web-7d4b9c", "ml-prod", web_labels, generation=1,
                                            ownerReferences=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                                              "uid": "uid-web", "controller": True}]),
                           "spec": {"replicas": 3, "selector": {"matchLabels": web_labels},
                                    "template": {"metadata": {"labels": web_labels}, "spec": tmpl["spec"]}},
                           "status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "fullyLabeledReplicas": 3}}]
    out["daemonsets"] = [{"kind": "DaemonSet", "apiVersion": "apps/v1",
                          "metadata": meta("node-exporter", "kube-system", {"app": "node-exporter"}, generation=1),
                          "spec": {"selector": {"matchLabels": {"app": "node-exporter"}},
                                   "template": {"metadata": {"labels": {"app": "node-exporter"}},
                                                "spec": {"containers": [container("exporter", "quay.io/prometheus/node-exporter:v1.8.1")]}}},
                          "status": {"desiredNumberScheduled": 4, "currentNumberScheduled": 4, "numberReady": 4,
                                     "numberMisscheduled": 0, "updatedNumberScheduled": 4, "numberAvailable": 4}}]
    out["statefulsets"] = [{"kind": "StatefulSet", "apiVersion": "apps/v1",
                            "metadata": meta("notebook", "ml-dev", {"app": "notebook"}, generation=1),
                            "spec": {"replicas": 1, "serviceName": "notebook", "selector": {"matchLabels": {"app": "notebook"}},
                                     "template": {"metadata": {"labels": {"app": "notebook"}},
                                                  "spec": {"containers": [container("main", "jupyter/base:2024", gpu=1)]}}},
                            "status": {"replicas": 1, "readyReplicas": 0, "currentReplicas": 1, "availableReplicas": 0}}]
    out["jobs"] = [{"kind": "Job", "apiVersion": "batch/v1", "metadata": meta("train-llm", "ml-dev", {"app": "train-llm"}),
                    "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 3,
                             "selector": {"matchLabels": {"job-name": "train-llm"}},
                             "template": {"metadata": {"labels": {"job-name": "train-llm"}},
                                          "spec": {"restartPolicy": "Never",
                                                   "containers": [container("trainer", "ghcr.io/acme/trainer:2.0", gpu=4)]}}},
                    "status": {"active": 1, "startTime": ts(100)}}]
    out["horizontalpodautoscalers"] = [{
        "kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2", "metadata": meta("web", "ml-prod"),
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 2, "maxReplicas": 10,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
                             {"type": "Pods", "pods": {"metric": {"name": "inference_queue_depth"},
                                                       "target": {"type": "AverageValue", "averageValue": "30"}}}]},
        "status": {"currentReplicas": 3, "desiredReplicas": 3,
                   "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 42, "averageValue": "210m"}}},
                                      {"type": "Pods", "pods": {"metric": {"name": "inference_queue_depth"}, "current": {"averageValue": "12"}}}],
                   "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                                   "message": "recommended size matches current size", "lastTransitionTime": ts()}]}}]
    out["resourcequotas"] = [{"kind": "ResourceQuota", "apiVersion": "v1", "metadata": meta("compute", "ml-prod"),
                              "spec": {"hard": {"requests.cpu": "8", "requests.memory": "32Gi", "limits.memory": "64Gi",
                                                "requests.nvidia.com/gpu": "4"}},
                              "status": {"hard": {"requests.cpu": "8", "requests.memory": "32Gi", "limits.memory": "64Gi",
                                                  "requests.nvidia.com/gpu": "4"},
                                         "used": {"requests.cpu": "1500m", "requests.memory": "3Gi", "limits.memory": "3Gi",
                                                  "requests.nvidia.com/gpu": "0"}}}]
    out["limitranges"] = [{"kind": "LimitRange", "apiVersion": "v1", "metadata": meta("defaults", "ml-dev"),
                           "spec": {"limits": [{"type": "Container", "default": {"memory": "2Gi"},
                                                "defaultRequest": {"cpu": "250m", "memory": "512Mi"}}]}}]
    out["poddisruptionbudgets"] = [{"kind": "PodDisruptionBudget", "apiVersion": "policy/v1",
                                    "metadata": meta("web", "ml-prod", generation=1),
                                    "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
                                    "status": {"currentHealthy": 3, "desiredHealthy": 2, "disruptionsAllowed": 1,
                                               "expectedPods": 3, "observedGeneration": 1}}]
    out["networkpolicies"] = [{"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1",
                               "metadata": meta("deny-ingress", "ml-prod"),
                               "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]}}]
    out["services"] = [
        {"kind": "Service", "apiVersion": "v1", "metadata": meta("web", "ml-prod", {"app": "web"}),
         "spec": {"type": "ClusterIP", "clusterIP": "10.96.12.34", "clusterIPs": ["10.96.12.34"],
                  "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}},
        {"kind": "Service", "apiVersion": "v1", "metadata": meta("kube-state-metrics", "monitoring", {"app": "kube-state-metrics"}),
         "spec": {"type": "ClusterIP", "clusterIP": "10.96.50.1", "clusterIPs": ["10.96.50.1"],
                  "selector": {"app": "kube-state-metrics"},
                  "ports": [{"name": "http-metrics", "port": 8080, "targetPort": 8080, "protocol": "TCP"}]}},
    ]
    out["events"] = [
        {"kind": "Event", "apiVersion": "v1", "metadata": meta("notebook-crashy.17a1", "ml-dev"),
         "involvedObject": {"kind": "Pod", "namespace": "ml-dev", "name": "notebook-crashy", "apiVersion": "v1",
                            "fieldPath": "spec.containers{main}"},
         "reason": "BackOff", "message": "Back-off restarting failed container main in pod notebook-crashy",
         "type": "Warning", "count": 42, "firstTimestamp": ts(200), "lastTimestamp": ts(3100),
         "source": {"component": "kubelet", "host": "gpu-a-1"}},
        {"kind": "Event", "apiVersion": "v1", "metadata": meta("gpu-a-1.node-ready", "default"),
         "involvedObject": {"kind": "Node", "name": "gpu-a-1", "uid": "gpu-a-1", "apiVersion": "v1"},
         "reason": "NodeReady", "message": "Node gpu-a-1 status is now: NodeReady", "type": "Normal", "count": 1,
         "firstTimestamp": ts(10), "lastTimestamp": ts(10), "source": {"component": "kubelet", "host": "gpu-a-1"}},
    ]
    return out


def fill(store) -> None:
    for resource, objs in objects().items():
        store.load(resource, objs)
