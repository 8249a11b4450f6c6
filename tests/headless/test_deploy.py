"""deploy/: every manifest is valid for Kubernetes, the ClusterRole is read-only and grants exactly
what the views read, and the CronJob's command lines parse with this build's CLI."""
from __future__ import annotations

import pathlib
import shlex

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
