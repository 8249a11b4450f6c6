"""Security: no Secrets requested, the shipped read-only ClusterRole suffices, TLS verified by default,
credentials never written anywhere, hostile cluster text shown inert / escaped."""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import stat
import sys

import pytest
import yaml

from faults_support import admin, live_feed, screen_text, status_line, until
from kubewatch_ml.cli import main
from kubewatch_ml.feed import ObjectRef
from kubewatch_ml.sim.kubeconfig import write_kubeconfig
from kubewatch_ml.sim.objects import rfc3339

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _kc(sim, tmp_path, name: str, token: str, ca: bool = True) -> str:
    return write_kubeconfig(tmp_path / f"kc-{name}", server=sim.api_url, ca_file=sim.api.ca_file if ca else None,
                            users={name: token}, current=f"sim-{name}")


# --- what the tool asks for -------------------------------------------------------------------------
def test_the_tool_never_requests_secrets(sim, tmp_path, capsys):
    feed = live_feed(sim, metrics=None)
    try:
        assert feed.store.wait_synced(30)
    finally:
        feed.close()
        feed.conn.close()
    for args in (["snapshot", "-f", "json", "-o", str(tmp_path / "s.json")], ["triage", "-f", "json"]):
        _run(capsys, *args, "--kubeconfig", sim.kubeconfig_path, "--context", "sim-viewer", "-q")
    paths = {p for (_m, p) in sim.api.requests}
    assert "/api/v1/pods" in paths and "/api/v1/nodes" in paths  # the request log works
    assert not [p for p in paths if "secrets" in p or "configmaps" in p], sorted(paths)


def test_the_shipped_readonly_clusterrole_is_enough_for_every_view(sim, tmp_path, capsys):
    from kubewatch_ml.sim.auth import READONLY_CLUSTERROLE_RULES
    with open(os.path.join(ROOT, "deploy", "20-clusterrole.yaml")) as f:
        role = next(d for d in yaml.safe_load_all(f) if d and d["kind"] == "ClusterRole")

    def norm(rules):
        return sorted((tuple(sorted(r["apiGroups"])), tuple(sorted(r["resources"])), tuple(sorted(r["verbs"])))
                      for r in rules)
    assert norm(READONLY_CLUSTERROLE_RULES) == norm(role["rules"])  # the sim identity IS the shipped role
    kc = _kc(sim, tmp_path, "ro", sim.readonly_token)
    code, out, err = _run(capsys, "snapshot", "-f", "json", "--no-metrics", "-q", "--kubeconfig", kc)
    assert code == 0 and err == ""
    kinds = json.loads(out)["cluster"]["kinds"]
    assert kinds and all(k["complete"] and not k["forbidden"] and not k["error"] for k in kinds.values()), kinds
    # and it cannot write: an action is refused by the server, nothing changes
    from kubewatch_ml.actions.audit import AuditLog
    from kubewatch_ml.actions.session import ActionSession
    from kubewatch_ml.settings import KubeOptions
    from kubewatch_ml.sources.kube import connect
    conn = connect(KubeOptions(kubeconfig=kc))
    try:
        s = ActionSession(conn, audit=AuditLog(tmp_path / "a.jsonl"))
        ok, why = s.guard.allowed("label", ObjectRef("Node", "", sim.scenario.cordoned_node))
        assert not ok and why == "sim-ro may not patch nodes (RBAC does not allow it)"
    finally:
        conn.close()


# --- TLS -------------------------------------------------------------------------------------------------
def test_tls_is_verified_by_default_and_skipping_it_is_explicit_and_shown(sim, tmp_path, capsys):
    kc = _kc(sim, tmp_path, "noca", sim.viewer_token, ca=False)
    code, out, err = _run(capsys, "triage", "--no-metrics", "-q", "--kubeconfig", kc)
    assert code == 3 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "certificate" in lines[0].lower() and sim.viewer_token not in err, err
    code, out, err = _run(capsys, "snapshot", "-f", "json", "--no-metrics", "-q", "--kubeconfig", kc,
                          "--insecure-skip-tls-verify")
    assert code == 0 and json.loads(out)["cluster"]["insecure"] is True

    async def body():
        from kubewatch_ml.app import KubewatchApp
        from kubewatch_ml.sources.metrics import NoMetrics
        feed = live_feed(sim, metrics=NoMetrics("--no-metrics"), context=None, kubeconfig=kc,
                         insecure_skip_tls_verify=True)
        app = KubewatchApp(feed)
        try:
            async with app.run_test(size=(160, 30)) as pilot:
                await until(pilot, lambda: "API ● connected" in status_line(app), what="connected")
                assert status_line(app).startswith("INSECURE TLS")
        finally:
            feed.conn.close()
    asyncio.run(body())


# --- credentials never leave ------------------------------------------------------------------------------
def _client_cert(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import datetime
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubewatch-test-user")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_credentials_never_appear_in_any_output(sim, tmp_path, capsys, caplog):
    """A kubeconfig with a bearer token + client key (admin) and an exec plugin (viewer); every output
    the tool writes is grepped for the token, the exec plugin's token and the key."""
    cert_pem, key_pem = _client_cert(tmp_path)
    key_b64 = base64.b64encode(key_pem).decode()
    key_body = key_pem.decode().splitlines()[1]  # a line of the PEM body
    plugin = tmp_path / "cred-plugin.py"
    plugin.write_text("import json\nprint(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
                      "'kind': 'ExecCredential', 'status': {'token': %r}}))\n" % sim.viewer_token)
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "tok",
           "clusters": [{"name": "sim", "cluster": {"server": sim.api_url, "certificate-authority": sim.api.ca_file}}],
           "users": [{"name": "tok", "user": {"token": sim.admin_token,
                                               "client-certificate-data": base64.b64encode(cert_pem).decode(),
                                               "client-key-data": key_b64}},
                     {"name": "exec", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                         "command": sys.executable, "args": [str(plugin)],
                                                         "interactiveMode": "Never"}}},
                     {"name": "bad", "user": {"token": sim.admin_token + "-revoked"}}],
           "contexts": [{"name": n, "context": {"cluster": "sim", "user": n}} for n in ("tok", "exec", "bad")]}
    failing = tmp_path / "failing-plugin.py"  # a broken plugin that dumps a token on stderr
    failing.write_text("import sys\nsys.stderr.write('login failed, cached token %s\\n')\nsys.exit(1)\n"
                       % sim.admin_token)
    doc["users"].append({"name": "execfail", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                               "command": sys.executable, "args": [str(failing)],
                                                               "interactiveMode": "Never"}}})
    doc["contexts"].append({"name": "execfail", "context": {"cluster": "sim", "user": "execfail"}})
    kc = tmp_path / "kubeconfig"
    kc.write_text(yaml.safe_dump(doc))
    secrets = [sim.admin_token, sim.viewer_token, key_b64[:40], key_body]
    caplog.set_level(logging.DEBUG)  # every logger, the kubernetes client's and urllib3's included
    outputs: dict[str, str] = {}
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for ctx in ("tok", "exec"):
        for fmt in ("json", "md", "html", "svg"):
            path = out_dir / f"{ctx}.{fmt}"
            code, out, err = _run(capsys, "snapshot", "-f", fmt, "-o", str(path), "--kubeconfig", str(kc),
                                  "--context", ctx)
            assert code == 0, err
            outputs[f"snapshot {ctx} {fmt} stderr"] = out + err
        code, out, err = _run(capsys, "triage", "-f", "json", "--kubeconfig", str(kc), "--context", ctx)
        outputs[f"triage {ctx}"] = out + err
    code, out, err = _run(capsys, "record", str(out_dir / "rec.kwrec"), "--count", "1", "--interval", "0.1",
                          "--kubeconfig", str(kc), "--context", "tok", "--no-metrics")
    assert code == 0, err
    outputs["record"] = out + err
    code, out, err = _run(capsys, "triage", "--kubeconfig", str(kc), "--context", "bad", "--no-metrics")
    assert code == 3
    outputs["401 error"] = out + err
    code, out, err = _run(capsys, "triage", "--kubeconfig", str(kc), "--context", "execfail", "--no-metrics")
    assert code == 3 and "exec credential plugin" in err and "login failed" in err  # its words, not its token
    outputs["exec plugin error"] = out + err
    # an action's audit line and its error message
    from kubewatch_ml.actions.audit import AuditLog
    from kubewatch_ml.actions.session import ActionSession
    from kubewatch_ml.settings import KubeOptions
    from kubewatch_ml.sources.kube import connect
    conn = connect(KubeOptions(kubeconfig=str(kc), context="tok"))
    try:
        s = ActionSession(conn, audit=AuditLog(out_dir / "audit.jsonl", context="tok"))
        node = sim.scenario.cordoned_node
        assert s.apply(s.plan_labels(node, {"team": "sec"})).ok
        outputs["conn repr"] = repr(conn) + str(conn.info)
    finally:
        conn.close()
    for p in sorted(out_dir.rglob("*")):
        if p.is_file():
            outputs[str(p.relative_to(out_dir))] = p.read_bytes().decode("utf-8", "replace")
    outputs["logs"] = "\n".join(r.getMessage() + " " + str(r.args) for r in caplog.records)
    assert len(outputs) > 15 and any(name.endswith(".svg") for name in outputs) and "audit.jsonl" in outputs
    assert (out_dir / "audit.jsonl").stat().st_mode & 0o077 == 0  # owner-only
    leaks = [(name, i) for name, text in outputs.items() for i, sec in enumerate(secrets) if sec in text]
    assert leaks == [], leaks


# --- hostile cluster text ---------------------------------------------------------------------------------
HOSTILE = "[red]x[/] \x1b]0;pwned\x07 \x1b[2J <script>alert(1)</script> [bold magenta]boom[/]"


def _plant_hostile(sim) -> tuple[str, str]:
    """Hostile text wherever the API lets it in: annotations, an event message, a container's waiting
    message. Names and label values are validated by the API (checked: refused with 422)."""
    conn = admin(sim)
    try:
        pod = next(p for p in conn.request("GET", "/api/v1/pods").json()["items"]
                   if p["status"].get("phase") == "Running" and p["metadata"]["namespace"] != "kube-system")
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        merge = "application/merge-patch+json"
        assert conn.request("PATCH", f"/api/v1/namespaces/{ns}", body={"metadata": {"annotations": {"note": HOSTILE}}},
                            content_type=merge).status == 200
        assert conn.request("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}",
                            body={"metadata": {"annotations": {"kubewatch/evil": HOSTILE}}}, content_type=merge).status == 200
        node = sim.scenario.cordoned_node
        r = conn.request("PATCH", f"/api/v1/nodes/{node}", body={"metadata": {"labels": {"evil": "[red]x[/]"}}},
                         content_type=merge)
        assert r.status == 422  # label values cannot carry markup or escapes
        cname = pod["spec"]["containers"][0]["name"]
        ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{name}.hostile", "namespace": ns},
              "involvedObject": {"kind": "Pod", "namespace": ns, "name": name, "uid": pod["metadata"]["uid"],
                                 "fieldPath": f"spec.containers{{{cname}}}"},
              "reason": "Unhealthy", "type": "Warning", "count": 7, "message": "Liveness probe failed: " + HOSTILE,
              "source": {"component": "kubelet"}, "firstTimestamp": "2026-01-01T00:00:00Z",
              "lastTimestamp": rfc3339(sim.now())}
        r = conn.request("POST", f"/api/v1/namespaces/{ns}/events", body=ev, content_type="application/json")
        assert r.status == 201, r.body[:300]
        return ns, name
    finally:
        conn.close()


def _strings(doc):
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for v in doc.values():
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


def test_hostile_text_is_escaped_in_markdown_and_html(sim, tmp_path, capsys):
    ns, name = _plant_hostile(sim)
    for fmt in ("md", "html", "json"):
        code, out, err = _run(capsys, "snapshot", "-f", fmt, "--no-metrics", "-q", "--kubeconfig", sim.kubeconfig_path,
                              "--context", "sim-viewer")
        assert code == 0
        assert "\x1b" not in out and "\x07" not in out, fmt
        if fmt == "json":  # data, kept exactly: control characters travel as \u001b escapes
            assert any(HOSTILE in v for v in _strings(json.loads(out))) and "\\u001b" in out
            continue
        assert "<script>" not in out, fmt  # never live HTML
        if fmt == "html":
            assert "&lt;script&gt;" in out and name in out
        if fmt == "md":
            assert "&lt;script&gt;" in out and "\\[red\\]x\\[/\\]" in out


def test_hostile_text_is_shown_inert_in_the_dashboard(sim):
    ns, name = _plant_hostile(sim)

    async def body():
        from kubewatch_ml.app import KubewatchApp
        feed = live_feed(sim)
        app = KubewatchApp(feed)
        try:
            async with app.run_test(size=(200, 40)) as pilot:
                await until(pilot, lambda: app.main_screen.latest is not None, what="first frame")
                await pilot.press("5")
                await until(pilot, lambda: app.active_view == "probes", what="the probe view")
                await pilot.press("/")
                await pilot.press(*name)
                await pilot.press("enter")
                await until(pilot, lambda: name in screen_text(app), what="the pod in the probe view")
                await pilot.press("z")
                text = await until(pilot, lambda: "[bold magenta]boom[/]" in screen_text(app) and screen_text(app),
                                   what="the hostile message shown literally")
                assert "[red]x[/]" in text and "\x1b" not in text and "\x07" not in text
        finally:
            feed.conn.close()
    asyncio.run(body())


def test_prometheus_credentials_never_appear_in_any_output(sim, tmp_path, capsys):
    """Password in the Prometheus URL, a bearer token and basic auth: none reach stdout, stderr or files."""
    secrets = ["URLPASSW0RD-9f2c", "PROMTOKEN-77ab1c9d2e", "BASICPASS-31d0"]
    args = ["--prometheus-url", f"http://ops:{secrets[0]}@127.0.0.1:1", "--prometheus-token", secrets[1],
            "--prometheus-basic-auth", f"ops:{secrets[2]}", "--query-timeout", "0.5",
            "--kubeconfig", sim.kubeconfig_path, "--context", "sim-viewer"]
    texts = []
    for fmt in ("json", "md", "html"):
        code, out, err = _run(capsys, "snapshot", "-f", fmt, *args)
        assert code == 0, err
        texts.append(out + err)
    code, out, err = _run(capsys, "triage", "-f", "json", *args)
    texts.append(out + err)
    assert "prometheus http://127.0.0.1:1" in texts[0]  # the source is named, without its userinfo
    assert [s for s in secrets for t in texts if s in t] == []
