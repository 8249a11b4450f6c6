"""deploy/: every manifest is valid for Kubernetes, the ClusterRole is read-only and grants exactly
what the views read, and the CronJob's command lines parse with this build's CLI."""
from __future__ import annotations

import json
import os
import pathlib
import shlex
import subprocess
import time

import kubernetes_validate
import pytest
import yaml

from kubewatch_ml.cli import build_parser
from kubewatch_ml.model import RECORD_KINDS

DEPLOY = pathlib.Path(__file__).resolve().parents[2] / "deploy"
K8S_VERSION = "1.32.0"
GROUP_OF = {  # API group of each RECORD_KINDS resource
    "nodes": "", "pods": "", "namespaces": "", "resourcequotas": "", "limitranges": "", "events": "",
    "services": "", "deployments": "apps", "statefulsets": "apps", "replicasets": "apps", "daemonsets": "apps",
    "jobs": "batch", "horizontalpodautoscalers": "autoscaling", "poddisruptionbudgets": "policy",
    "networkpolicies": "networking.k8s.io",
}


def _docs():
    files = sorted(DEPLOY.glob("*.yaml"))
    assert files, "no manifests in deploy/"
    return [(f.name, d) for f in files for d in yaml.safe_load_all(f.read_text()) if d]


def _one(kind):
    return next(d for _, d in _docs() if d["kind"] == kind)


def test_every_manifest_validates_strictly():
    kinds = []
    for name, doc in _docs():
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises on unknown or mistyped fields
        kinds.append(doc["kind"])
    assert sorted(kinds) == sorted(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                                    "PersistentVolumeClaim", "CronJob"])


def test_validation_catches_a_broken_manifest():
    cj = _one("CronJob")
    cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cj, K8S_VERSION, strict=True)


def test_clusterrole_is_read_only_and_exactly_the_record_kinds():
    role = _one("ClusterRole")
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule
        for g in rule["apiGroups"]:
            for r in rule["resources"]:
                granted.setdefault((g, r), set()).update(rule["verbs"])
    assert all("*" not in g and "*" not in r for g, r in granted)
    assert not any(r == "secrets" or r.endswith("/proxy") or r == "configmaps" for _, r in granted)
    ssar = granted.pop(("authorization.k8s.io", "selfsubjectaccessreviews"))
    assert ssar == {"create"}
    assert granted == {(GROUP_OF[r], r): {"get", "list", "watch"} for r in RECORD_KINDS}
    binding = _one("ClusterRoleBinding")
    sa = _one("ServiceAccount")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                    "namespace": sa["metadata"]["namespace"]}]


def test_cronjob_runs_hardened_with_the_service_account_and_volume():
    cj = _one("CronJob")
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == _one("ServiceAccount")["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    c = pod["containers"][0]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    claim = next(v for v in pod["volumes"] if "persistentVolumeClaim" in v)["persistentVolumeClaim"]["claimName"]
    assert claim == _one("PersistentVolumeClaim")["metadata"]["name"]
    assert cj["spec"]["concurrencyPolicy"] == "Forbid"


def test_cronjob_command_lines_parse_with_this_cli():
    script = _one("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][0]
    calls = []
    for line in script.splitlines():
        line = line.split("||")[0].strip()
        if line.startswith("kubewatch-ml "):
            argv = [a.replace("$ts", "20260101T000000Z") for a in shlex.split(line)[1:]]
            args = build_parser().parse_args(argv)  # SystemExit(2) on an unknown flag
            calls.append((args.command, getattr(args, "format", None)))
    assert calls == [("snapshot", "json"), ("snapshot", "html"), ("triage", "json")]


# --- the whole deploy/ directory applied with the real kubectl to the simulator -------------------------
def _kubectl_env(sim) -> dict:
    return {**os.environ, "KUBECONFIG": str(sim.kubeconfig_path)}


def _kubectl(sim, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    from .conftest import need_binary
    r = subprocess.run([need_binary("kubectl"), *args], env=_kubectl_env(sim), capture_output=True, text=True,
                       timeout=90)
    if check:
        assert r.returncode == 0, f"kubectl {' '.join(args)}: {r.stdout}\n{r.stderr}"
    return r


@pytest.fixture
def sim(tmp_path):
    from .conftest import need_binary
    need_binary("kubectl")  # before the simulator starts: FAIL under CI, skip otherwise
    from kubewatch_ml.sim.cluster import SimCluster
    # TLS: kubectl only sends a bearer token over https
    with SimCluster(seed=5, nodes=12, pods=150, tls=True, workdir=tmp_path / "sim", start_clock=False) as s:
        yield s


def test_kubectl_applies_the_whole_deploy_directory_to_the_simulator(sim):
    # no --validate=false: kubectl reads /openapi/v3 and has the server validate strictly (fieldValidation=Strict)
    first = _kubectl(sim, "apply", "-f", str(DEPLOY))
    want = {"namespace/kubewatch-ml", "serviceaccount/kubewatch-ml",
            "clusterrole.rbac.authorization.k8s.io/kubewatch-ml-readonly",
            "clusterrolebinding.rbac.authorization.k8s.io/kubewatch-ml-readonly",
            "persistentvolumeclaim/kubewatch-ml-snapshots", "cronjob.batch/kubewatch-ml-snapshot"}
    assert {ln.rsplit(" ", 1)[0] for ln in first.stdout.splitlines()} == want, first.stdout
    assert all(ln.endswith(" created") for ln in first.stdout.splitlines()), first.stdout
    assert "Warning" not in first.stderr, first.stderr
    sim.advance(30)  # controllers run: the namespace gets its default ServiceAccount
    again = _kubectl(sim, "apply", "-f", str(DEPLOY))  # idempotent: nothing to change
    assert sorted(again.stdout.splitlines()) == sorted(f"{w} unchanged" for w in want), again.stdout

    got = json.loads(_kubectl(sim, "get", "cronjob,sa,pvc", "-n", "kubewatch-ml", "-o", "json").stdout)["items"]
    by = {(o["kind"], o["metadata"]["name"]): o for o in got}
    assert set(by) == {("CronJob", "kubewatch-ml-snapshot"), ("ServiceAccount", "kubewatch-ml"),
                       ("ServiceAccount", "default"), ("PersistentVolumeClaim", "kubewatch-ml-snapshots")}
    cj, pvc = by[("CronJob", "kubewatch-ml-snapshot")], by[("PersistentVolumeClaim", "kubewatch-ml-snapshots")]
    assert cj["spec"]["jobTemplate"] == _one("CronJob")["spec"]["jobTemplate"]
    assert cj["spec"]["schedule"] == "*/15 * * * *" and cj["spec"]["concurrencyPolicy"] == "Forbid"
    assert pvc["status"]["phase"] == "Bound" and pvc["status"]["capacity"] == {"storage": "2Gi"}
    assert pvc["spec"]["volumeName"].startswith("pvc-")
    assert "kubectl.kubernetes.io/last-applied-configuration" in cj["metadata"]["annotations"]
    rbac = json.loads(_kubectl(sim, "get", "clusterrole,clusterrolebinding", "-o", "json").stdout)["items"]
    role = next(o for o in rbac if o["kind"] == "ClusterRole" and o["metadata"]["name"] == "kubewatch-ml-readonly")
    binding = next(o for o in rbac if o["kind"] == "ClusterRoleBinding"
                   and o["metadata"]["name"] == "kubewatch-ml-readonly")
    assert role["rules"] == _one("ClusterRole")["rules"]
    assert binding["subjects"] == _one("ClusterRoleBinding")["subjects"]
    assert binding["roleRef"] == _one("ClusterRoleBinding")["roleRef"]
    assert any(o["metadata"]["name"] == "cluster-admin" for o in rbac if o["kind"] == "ClusterRole")
    for obj in got + [role, binding]:  # what the server returns is valid Kubernetes, strictly
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)

    # kubectl's usual columns
    table = _kubectl(sim, "get", "pvc", "-n", "kubewatch-ml").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
                                "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert table[1].split()[:5] == ["kubewatch-ml-snapshots", "Bound", pvc["spec"]["volumeName"], "2Gi", "RWO"]
    table = _kubectl(sim, "get", "cronjob", "-n", "kubewatch-ml").stdout.splitlines()
    assert table[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    assert table[1].split()[:7] == ["kubewatch-ml-snapshot", "*/15", "*", "*", "*", "*", "Etc/UTC"]
    table = _kubectl(sim, "get", "clusterrolebinding", "kubewatch-ml-readonly", "-o", "wide").stdout.splitlines()
    assert table[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert table[1].split()[1] == "ClusterRole/kubewatch-ml-readonly"
    assert table[1].split()[-1] == "kubewatch-ml/kubewatch-ml"

    sim.advance(16 * 60)  # the schedule is */15: a run per quarter hour passed, its pod as the template says
    if sim.now() % 900 < 45:  # a run came due in the last 15 s step: its Job exists, its pod comes a step later
        sim.advance(45)
    from kubewatch_ml.sim.tables import parse_ts
    created = parse_ts(cj["metadata"]["creationTimestamp"])
    runs = int(sim.now() // 900) - int(created // 900)  # 1 or 2, depending on the wall clock at creation
    jobs = json.loads(_kubectl(sim, "get", "jobs", "-n", "kubewatch-ml", "-o", "json").stdout)["items"]
    assert len(jobs) == runs and {j["metadata"]["ownerReferences"][0]["name"] for j in jobs} == {"kubewatch-ml-snapshot"}
    last = max(jobs, key=lambda j: j["metadata"]["name"])
    assert last["metadata"]["name"] == f"kubewatch-ml-snapshot-{int(sim.now() // 900) * 15}"
    pod = json.loads(_kubectl(sim, "get", "pods", "-n", "kubewatch-ml", "-l", f"job-name={last['metadata']['name']}",
                              "-o", "json").stdout)["items"]
    assert len(pod) == 1 and pod[0]["spec"]["serviceAccountName"] == "kubewatch-ml"
    cj = json.loads(_kubectl(sim, "get", "cronjob", "kubewatch-ml-snapshot", "-n", "kubewatch-ml", "-o", "json").stdout)
    assert cj["status"]["lastScheduleTime"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(sim.now() // 900) * 900))


def test_a_broken_manifest_is_refused_by_the_simulator_and_nothing_is_stored(sim, tmp_path):
    cj = _one("CronJob")
    cj["metadata"]["namespace"] = "default"
    cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containerz"] = []
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cj))
    r = _kubectl(sim, "apply", "-f", str(bad), check=False)
    assert r.returncode != 0
    assert 'unknown field "spec.jobTemplate.spec.template.spec.containerz"' in r.stderr, r.stderr
    assert sim.store.get("cronjobs", "default", cj["metadata"]["name"]) is None


def test_the_service_account_gets_exactly_the_shipped_role_through_its_binding(sim, tmp_path, capsys):
    """As the CronJob's pod would: a token for the ServiceAccount (`kubectl create token`), whose rights come
    from the applied ClusterRoleBinding; the product's read-only snapshot works with it and nothing more."""
    from kubewatch_ml.cli import main
    from kubewatch_ml.sim.kubeconfig import write_kubeconfig
    _kubectl(sim, "apply", "-f", str(DEPLOY))
    token = _kubectl(sim, "create", "token", "kubewatch-ml", "-n", "kubewatch-ml").stdout.strip()
    assert token.count(".") == 2

    def can_i(*args):
        return _kubectl(sim, "--token", token, "auth", "can-i", *args, check=False).stdout.strip()
    assert can_i("list", "pods", "--all-namespaces") == "yes"
    assert can_i("watch", "horizontalpodautoscalers.autoscaling", "-A") == "yes"
    assert can_i("list", "secrets", "-A") == "no" and can_i("get", "configmaps", "-A") == "no"
    assert can_i("patch", "nodes") == "no" and can_i("create", "pods/eviction", "-n", "default") == "no"
    listed = _kubectl(sim, "--token", token, "auth", "can-i", "--list").stdout
    granted = {line.split()[0] for line in listed.splitlines()[1:] if line.strip() and not line.startswith(" ")}
    want = {r if not g else f"{r}.{g}" for rule in _one("ClusterRole")["rules"]
            for g in rule["apiGroups"] for r in rule["resources"]}
    assert want <= granted and not {"secrets", "configmaps", "*.*"} & granted, listed
    who = _kubectl(sim, "--token", token, "auth", "whoami").stdout
    assert "system:serviceaccount:kubewatch-ml:kubewatch-ml" in who
    denied = _kubectl(sim, "--token", token, "get", "secrets", "-A", check=False)
    assert denied.returncode != 0 and ('User "system:serviceaccount:kubewatch-ml:kubewatch-ml" cannot list resource '
                                       '"secrets"') in denied.stderr

    kc = write_kubeconfig(tmp_path / "sa.kubeconfig", server=sim.api_url, ca_file=sim.api.ca_file,
                          users={"cronjob": token}, current="sim-cronjob")
    assert main(["snapshot", "--kubeconfig", kc, "--no-metrics", "--readonly", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cluster"]["nodes"] == sim.store.count("nodes")
    assert not [k for k, s in doc["cluster"]["kinds"].items() if s["forbidden"] or s["error"]]

    _kubectl(sim, "delete", "clusterrolebinding", "kubewatch-ml-readonly")  # rights follow the stored bindings
    assert can_i("list", "pods", "-A") == "no"
    _kubectl(sim, "delete", "serviceaccount", "kubewatch-ml", "-n", "kubewatch-ml")  # its tokens die with it
    gone = _kubectl(sim, "--token", token, "get", "nodes", check=False)
    assert gone.returncode != 0 and "Unauthorized" in gone.stderr + gone.stdout
