"""The API server's HTTP surface: discovery, Tables, paging, watches, identities, access reviews
(JSON and protobuf), eviction, the service proxy, admin routes, fault injection, keep-alive, stop."""
from __future__ import annotations

import http.client
import http.server
import json
import threading
import time

import pytest

from simapi_support import ADMIN, RO, VIEWER
from kubewatch_ml.sim.protobuf import encode_ssar

AGGREGATED = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;"
              "g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"


def test_version_and_discovery_fall_back_from_aggregated(http):
    code, doc, _ = http.get("/version?timeout=5s", token=None)
    assert code == 200 and doc["gitVersion"] == "v1.32.4" and doc["major"] == "1" and doc["minor"] == "32"
    code, doc, r = http.get("/api", headers={"Accept": AGGREGATED})
    assert code == 200 and r.getheader("Content-Type") == "application/json"
    assert doc["kind"] == "APIVersions" and doc["versions"] == ["v1"]
    code, doc, _ = http.get("/apis", headers={"Accept": AGGREGATED})
    assert doc["kind"] == "APIGroupList"
    groups = {g["name"]: g["preferredVersion"]["groupVersion"] for g in doc["groups"]}
    assert groups == {"apps": "apps/v1", "batch": "batch/v1", "autoscaling": "autoscaling/v2",
                      "policy": "policy/v1", "networking.k8s.io": "networking.k8s.io/v1",
                      "authorization.k8s.io": "authorization.k8s.io/v1",
                      "rbac.authorization.k8s.io": "rbac.authorization.k8s.io/v1",
                      "coordination.k8s.io": "coordination.k8s.io/v1",
                      "authentication.k8s.io": "authentication.k8s.io/v1"}


def test_resource_lists_name_subresources(http):
    _, core, _ = http.get("/api/v1")
    res = {r["name"]: r for r in core["resources"]}
    assert res["pods/eviction"] == {"name": "pods/eviction", "singularName": "", "namespaced": True,
                                    "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]}
    assert res["pods"]["shortNames"] == ["po"] and res["pods"]["categories"] == ["all"]
    assert res["nodes"]["namespaced"] is False and res["nodes"]["singularName"] == "node"
    assert set(res["nodes"]["verbs"]) >= {"get", "list", "watch", "patch", "update"}
    assert "nodes/status" in res and "services/proxy" in res
    _, apps, _ = http.get("/apis/apps/v1")
    res = {r["name"]: r for r in apps["resources"]}
    for w in ("deployments", "statefulsets", "replicasets"):
        assert (res[f"{w}/scale"]["group"], res[f"{w}/scale"]["version"], res[f"{w}/scale"]["kind"]) == \
            ("autoscaling", "v1", "Scale")
    _, hpa, _ = http.get("/apis/autoscaling/v2")
    assert hpa["resources"][0]["shortNames"] == ["hpa"]
    code, doc, _ = http.get("/apis/apps")
    assert code == 200 and doc["kind"] == "APIGroup"
    assert http.get("/openapi/v2")[0] == 404


def test_table_rows_carry_partial_metadata(http):
    code, doc, _ = http.get("/api/v1/pods?limit=500", headers={"Accept": TABLE})
    assert code == 200 and doc["kind"] == "Table" and doc["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in doc["columnDefinitions"] if c["priority"] == 0] == \
        ["Name", "Ready", "Status", "Restarts", "Age"]
    assert len(doc["rows"]) == 9
    row = next(r for r in doc["rows"] if r["cells"][0] == "train-llm-0-abcde")
    assert row["cells"][1:4] == ["1/1", "Running", "0"] and row["cells"][6] == "gpu-c-1"
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["namespace"] == "ml-dev"
    _, doc, _ = http.get("/api/v1/nodes/gpu-a-1", headers={"Accept": TABLE})
    assert doc["kind"] == "Table" and doc["rows"][0]["cells"][:3] == ["gpu-a-1", "Ready", "gpu"]
    _, doc, _ = http.get("/api/v1/nodes?includeObject=Object", headers={"Accept": TABLE})
    assert doc["rows"][0]["object"]["kind"] == "Node"


def test_paging_with_selectors_and_namespaces(http, store):
    seen, cont, pages, remaining = [], "", 0, []
    while True:
        _, doc, _ = http.get("/api/v1/pods?limit=4" + (f"&continue={cont}" if cont else ""))
        seen += [p["metadata"]["name"] for p in doc["items"]]
        pages += 1
        cont = doc["metadata"].get("continue")
        remaining.append(doc["metadata"].get("remainingItemCount"))
        rv = doc["metadata"]["resourceVersion"]
        if not cont:
            break
    total = len(store.list("pods")[0])
    assert pages == 3 and seen == [p["metadata"]["name"] for p in store.list("pods")[0]]
    assert remaining == [total - 4, total - 8, None]  # as the API server: remainingItemCount on paged pages
    assert rv == str(store.resource_version)
    _, doc, _ = http.get("/api/v1/namespaces/kube-system/pods?limit=3")
    assert len(doc["items"]) == 3 and doc["metadata"]["continue"] and doc["metadata"]["remainingItemCount"] == 1
    _, sel, _ = http.get("/api/v1/pods?limit=2&labelSelector=app")  # a selector: the server does not count
    assert sel["metadata"]["continue"] and "remainingItemCount" not in sel["metadata"]
    _, doc2, _ = http.get(f"/api/v1/namespaces/kube-system/pods?limit=3&continue={doc['metadata']['continue']}")
    assert [p["metadata"]["name"] for p in doc2["items"]] == ["node-exporter-gpu-c-1"]
    assert "continue" not in doc2["metadata"]
    _, doc, _ = http.get("/api/v1/pods?labelSelector=app%20notin%20(web,node-exporter),!job-name")
    assert [p["metadata"]["name"] for p in doc["items"]] == ["notebook-crashy"]
    _, doc, _ = http.get("/api/v1/pods?labelSelector=team%3D%3Dvision,pod-template-hash&fieldSelector=metadata.namespace%3Dml-prod")
    assert len(doc["items"]) == 3
    _, doc, _ = http.get("/api/v1/events?fieldSelector=involvedObject.kind%3DNode,involvedObject.name%3Dgpu-a-1,"
                         "involvedObject.namespace%3D")
    assert [e["reason"] for e in doc["items"]] == ["NodeReady"]
    _, doc, _ = http.get("/api/v1/nodes?fieldSelector=metadata.name!%3Dcpu-a-1&labelSelector=nvidia.com/gpu.count")
    assert [n["metadata"]["name"] for n in doc["items"]] == ["gpu-a-1", "gpu-c-1"]


def _watch_lines(api, path: str, token: str = ADMIN, during=None, read_for: float = 1.5) -> list[dict]:
    conn = http.client.HTTPConnection(api.host, api.port, timeout=10)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    assert r.status == 200 and r.getheader("Transfer-Encoding") == "chunked"
    if during:
        threading.Timer(0.3, during).start()
    out = [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]
    conn.close()
    return out


def test_watch_semantics(api, store):
    rv = store.resource_version
    import copy

    def change():
        n = copy.deepcopy(store.get("nodes", "", "cpu-a-1"))
        n["spec"]["unschedulable"] = True
        store.replace("nodes", n)
        store.delete("pods", "ml-dev", "notebook-crashy")

    ev = _watch_lines(api, f"/api/v1/nodes?watch=1&resourceVersion={rv}&timeoutSeconds=1", during=change)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in ev] == [("MODIFIED", "cpu-a-1")]
    ev = _watch_lines(api, f"/api/v1/namespaces/ml-dev/pods?watch=true&resourceVersion={rv}&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in ev] == [("DELETED", "notebook-crashy")]
    ev = _watch_lines(api, f"/api/v1/pods?watch=1&resourceVersion={rv}&timeoutSeconds=1&fieldSelector=spec.nodeName%3Dcpu-a-1")
    assert ev == []
    ev = _watch_lines(api, "/api/v1/pods?watch=1&resourceVersion=3&timeoutSeconds=1")
    assert ev[0]["type"] == "ERROR" and ev[0]["object"]["code"] == 410 and ev[0]["object"]["reason"] == "Expired"
    ev = _watch_lines(api, "/api/v1/namespaces?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
                           "&resourceVersionMatch=NotOlderThan&timeoutSeconds=1")
    assert [e["type"] for e in ev] == ["ADDED"] * 5 + ["BOOKMARK"]
    assert ev[-1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_secrets_only_for_admin(http):
    code, doc, _ = http.get("/api/v1/secrets")
    assert code == 200 and doc == {"kind": "SecretList", "apiVersion": "v1",
                                   "metadata": {"resourceVersion": doc["metadata"]["resourceVersion"]}, "items": []}
    for tok, user in ((VIEWER, "viewer"), (RO, "readonly-role")):
        code, doc, _ = http.get("/api/v1/secrets", token=tok)
        assert code == 403 and doc["message"] == (f'secrets is forbidden: User "{user}" cannot list resource '
                                                  f'"secrets" in API group "" at the cluster scope')
        code, doc, _ = http.get("/api/v1/namespaces/ml-prod/secrets/db", token=tok)
        assert code == 403 and 'in the namespace "ml-prod"' in doc["message"]


def test_readonly_role_is_the_shipped_clusterrole():
    import pathlib
    import yaml
    from kubewatch_ml.sim.auth import READONLY_CLUSTERROLE_RULES
    path = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "20-clusterrole.yaml"
    role = next(d for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] == "ClusterRole")
    norm = lambda rules: sorted((tuple(r["apiGroups"]), tuple(sorted(r["resources"])), tuple(sorted(r["verbs"])))  # noqa: E731
                                for r in rules)
    assert norm(READONLY_CLUSTERROLE_RULES) == norm(role["rules"])


def test_readonly_role_reads_every_kind(http):
    for path in ("/api/v1/pods", "/api/v1/nodes", "/apis/apps/v1/deployments", "/apis/policy/v1/poddisruptionbudgets",
                 "/apis/autoscaling/v2/horizontalpodautoscalers", "/apis/networking.k8s.io/v1/networkpolicies"):
        assert http.get(path + "?limit=1", token=RO)[0] == 200, path
    assert http.request("DELETE", "/api/v1/namespaces/ml-dev/pods/notebook-crashy", token=RO)[0] == 403


@pytest.mark.parametrize("token,expect", [(ADMIN, True), (VIEWER, False), (RO, False)])
def test_access_review_protobuf_as_kubectl_sends_it(http, token, expect):
    body = encode_ssar("patch", "nodes")
    code, doc, _ = http.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=body,
                                content_type="application/vnd.kubernetes.protobuf",
                                headers={"Accept": "application/vnd.kubernetes.protobuf,application/json"}, token=token)
    assert code == 201
    assert doc["kind"] == "SelfSubjectAccessReview"
    assert doc["spec"]["resourceAttributes"] == {"verb": "patch", "resource": "nodes"}
    assert doc["status"]["allowed"] is expect
    body = encode_ssar("list", "pods", namespace="ml-prod")
    _, doc, _ = http.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=body,
                             content_type="application/vnd.kubernetes.protobuf", token=token)
    assert doc["status"]["allowed"] is True


def test_eviction_honours_pdb(http, store):
    base = "/api/v1/namespaces/ml-prod/pods/{}/eviction"

    def evict(name):
        return http.request("POST", base.format(name), body={"apiVersion": "policy/v1", "kind": "Eviction",
                                                             "metadata": {"name": name, "namespace": "ml-prod"}})

    code, doc, _ = evict("web-7d4b9c-x0k2p")
    assert code == 201 and doc["status"] == "Success"
    assert store.get("pods", "ml-prod", "web-7d4b9c-x0k2p") is None
    pdb = store.get("poddisruptionbudgets", "ml-prod", "web")
    assert pdb["status"]["disruptionsAllowed"] == 0 and "web-7d4b9c-x0k2p" in pdb["status"]["disruptedPods"]
    rv = store.resource_version
    code, doc, r = evict("web-7d4b9c-y1k2p")
    assert code == 429 and doc["reason"] == "TooManyRequests"
    assert doc["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert doc["details"]["causes"] == [{"reason": "DisruptionBudget",
                                         "message": "The disruption budget web needs 2 healthy pods and has 3 currently"}]
    assert r.getheader("Retry-After") is None  # client-go would retry silently; kubectl drain retries itself
    assert store.resource_version == rv and store.get("pods", "ml-prod", "web-7d4b9c-y1k2p") is not None
    # a pod no PDB covers goes at once; protobuf bodies are accepted too
    code, _, _ = http.request("POST", "/api/v1/namespaces/kube-system/pods/node-exporter-cpu-a-1/eviction",
                              body=b"k8s\x00", content_type="application/vnd.kubernetes.protobuf")
    assert code == 201 and store.get("pods", "kube-system", "node-exporter-cpu-a-1") is None
    assert evict("nope")[0] == 404


@pytest.fixture
def exporter():
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = f"# TYPE up gauge\nup{{path=\"{self.path}\"}} 1\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_service_proxy(api, http, exporter):
    api.proxy_targets[("monitoring", "kube-state-metrics", "8080")] = exporter
    base = "/api/v1/namespaces/monitoring/services/"
    code, body, r = http.get(base + "kube-state-metrics:8080/proxy/metrics?x=1", token=VIEWER)
    assert code == 200 and body == b'# TYPE up gauge\nup{path="/metrics?x=1"} 1\n'
    assert r.getheader("Content-Type").startswith("text/plain")
    assert http.get(base + "kube-state-metrics/proxy/metrics")[0] == 200
    code, doc, _ = http.get(base + "kube-state-metrics:8080/proxy/metrics", token=RO)  # not in the shipped role
    assert code == 403 and 'cannot get resource "services/proxy"' in doc["message"]
    code, doc, _ = http.get(base + "nope:80/proxy/metrics")
    assert code == 404 and doc["message"] == 'services "nope" not found'
    api.proxy_targets[("monitoring", "kube-state-metrics", "8080")] = "http://127.0.0.1:9"  # nothing listens
    code, doc, _ = http.get(base + "kube-state-metrics:8080/proxy/metrics")
    assert code == 503 and doc["reason"] == "ServiceUnavailable"


def test_admin_routes_and_faults(api, http):
    calls = []
    api.admin_routes["/_sim/advance"] = lambda m, q, b: (calls.append((m, q, b)) or (200, {"advanced": float(q["seconds"])}))
    code, doc, _ = http.request("POST", "/_sim/advance?seconds=30", body=b"")
    assert code == 200 and doc == {"advanced": 30.0} and calls == [("POST", {"seconds": "30"}, b"")]
    assert http.request("POST", "/_sim/advance?seconds=30", token=VIEWER)[0] == 403
    assert http.request("POST", "/_sim/advance?seconds=30", token=None)[0] == 401
    assert http.get("/_sim/nothing")[0] == 404

    code, doc, _ = http.request("PUT", "/_sim/faults", body={"status": {"nodes": 503}})
    assert code == 200 and doc["status"] == {"nodes": 503}
    code, doc, r = http.get("/api/v1/nodes")
    assert code == 503 and r.getheader("Retry-After") == "1" and doc["reason"] == "ServiceUnavailable"
    assert http.get("/api/v1/pods")[0] == 200
    http.request("PUT", "/_sim/faults", body={"status": {"*": 429}})
    code, doc, r = http.get("/apis/apps/v1/deployments")
    assert code == 429 and doc["reason"] == "TooManyRequests" and doc["details"]["retryAfterSeconds"] == 1
    assert http.get("/_sim/faults")[0] == 200  # the admin routes stay reachable to undo a fault
    http.request("PUT", "/_sim/faults", body={"status": {}, "latency": 0.2})
    t0 = time.monotonic()
    assert http.get("/api/v1/pods")[0] == 200
    assert time.monotonic() - t0 >= 0.2
    assert http.request("PUT", "/_sim/faults", body=b"[", content_type="application/json")[0] == 400
    http.request("PUT", "/_sim/faults", body={"latency": 0})


def test_on_write_hook_and_keep_alive(api, store):
    seen = []
    api.on_write = lambda resource, verb, obj: seen.append((resource, verb, obj["metadata"]["name"]))
    conn = http.client.HTTPConnection(api.host, api.port, timeout=10)
    hdr = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/merge-patch+json"}
    for i in range(3):  # one connection, three requests
        conn.request("PATCH", "/apis/apps/v1/namespaces/ml-prod/deployments/web/scale",
                     body=json.dumps({"spec": {"replicas": 4 + i}}), headers=hdr)
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["spec"]["replicas"] == 4 + i
    conn.close()
    assert seen == [("deployments", "patch", "web")] * 3
    conn = http.client.HTTPConnection(api.host, api.port, timeout=10)
    conn.request("PATCH", "/api/v1/nodes/cpu-a-1?dryRun=All", body=json.dumps({"spec": {"unschedulable": True}}),
                 headers=hdr)
    assert conn.getresponse().status == 200
    conn.close()
    assert len(seen) == 3  # dry runs are not writes


def test_stop_ends_open_watches(store, tmp_path):
    from simapi_support import _start
    api, _ = _start(store, tmp_path)
    conn = http.client.HTTPConnection(api.host, api.port, timeout=10)
    conn.request("GET", "/api/v1/pods?watch=1&resourceVersion=0", headers={"Authorization": f"Bearer {ADMIN}"})
    r = conn.getresponse()
    assert r.status == 200
    first = r.readline()
    assert json.loads(first)["type"] == "ADDED"
    t0 = time.monotonic()
    api.stop()
    try:
        while r.readline():
            pass
    except (OSError, http.client.HTTPException):
        pass
    assert time.monotonic() - t0 < 5
    conn.close()


def test_tls_server(tls_api):
    import socket
    import ssl
    with socket.create_connection((tls_api.host, tls_api.port), timeout=5) as s:  # plain HTTP to the TLS port
        s.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            s.recv(100)
        except OSError:
            pass
    ctx = ssl.create_default_context(cafile=tls_api.ca_file)
    for host in ("127.0.0.1", "localhost"):
        conn = http.client.HTTPSConnection(host, tls_api.port, context=ctx, timeout=10)
        conn.request("GET", "/api/v1/nodes?limit=1", headers={"Authorization": f"Bearer {ADMIN}"})
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["kind"] == "NodeList"
        conn.close()
    assert tls_api.url.startswith("https://127.0.0.1:")


def test_fault_drop_watches_ends_streams_early(api, http, store):
    http.request("PUT", "/_sim/faults", body={"drop_watches": True})
    t0 = time.monotonic()
    ev = _watch_lines(api, f"/api/v1/pods?watch=1&resourceVersion={store.resource_version}&timeoutSeconds=30")
    assert ev == [] and time.monotonic() - t0 < 5  # ended long before its 30 s timeout
    http.request("PUT", "/_sim/faults", body={"drop_watches": False})
    t0 = time.monotonic()
    ev = _watch_lines(api, f"/api/v1/pods?watch=1&resourceVersion={store.resource_version}&timeoutSeconds=1")
    assert ev == [] and time.monotonic() - t0 >= 0.9


def test_selector_watch_sees_objects_move_in_and_out(api, store):
    import copy
    rv = store.resource_version

    def move():
        pod = copy.deepcopy(store.get("pods", "ml-dev", "train-llm-0-abcde"))
        pod["spec"]["nodeName"] = "cpu-a-1"  # moves into the view
        store.replace("pods", pod)
        pod = copy.deepcopy(store.get("pods", "ml-prod", "web-7d4b9c-x0k2p"))
        pod["metadata"]["labels"]["extra"] = "1"  # stays in view
        store.replace("pods", pod)
        pod = copy.deepcopy(store.get("pods", "ml-prod", "web-7d4b9c-z2k2p"))
        pod["spec"]["nodeName"] = "cpu-b-1"  # moves out of the view
        store.replace("pods", pod)

    ev = _watch_lines(api, f"/api/v1/pods?watch=1&resourceVersion={rv}&timeoutSeconds=1"
                           "&fieldSelector=spec.nodeName%3Dcpu-a-1", during=move)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in ev] == [
        ("ADDED", "train-llm-0-abcde"), ("MODIFIED", "web-7d4b9c-x0k2p"), ("DELETED", "web-7d4b9c-z2k2p")]


def test_pod_log_errors(http):
    base = "/api/v1/namespaces/ml-prod/pods/"
    code, body, r = http.get(base + "web-7d4b9c-x0k2p/log?tailLines=2")
    assert code == 200 and r.getheader("Content-Type") == "text/plain" and len(body.splitlines()) == 2
    assert http.get(base + "nope/log")[0] == 404
    code, doc, _ = http.get(base + "web-7d4b9c-x0k2p/log?container=sidecar")
    assert code == 400 and doc["message"] == "container sidecar is not valid for pod web-7d4b9c-x0k2p"
    code, doc, _ = http.get(base + "web-7d4b9c-x0k2p/log", token=RO)  # not in the shipped read-only role
    assert code == 403 and 'cannot get resource "pods/log"' in doc["message"]
    _, core, _ = http.get("/api/v1")
    assert {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]} in core["resources"]


def test_on_write_hook_runs_outside_the_store_lock(api, http, store):
    results = []

    def hook(resource, verb, obj):
        got = []
        t = threading.Thread(target=lambda: got.append(store.lock.acquire(timeout=2) and (store.lock.release() or True)))
        t.start()
        t.join()
        results.append((resource, verb, got == [True]))

    api.on_write = hook
    assert http.request("PATCH", "/api/v1/nodes/cpu-a-1", body={"spec": {"unschedulable": True}},
                        content_type="application/strategic-merge-patch+json")[0] == 200
    assert http.request("POST", "/api/v1/namespaces/ml-prod/pods/web-7d4b9c-x0k2p/eviction",
                        body={"kind": "Eviction", "apiVersion": "policy/v1",
                              "metadata": {"name": "web-7d4b9c-x0k2p"}})[0] == 201
    assert results == [("nodes", "patch", True), ("poddisruptionbudgets", "update", True), ("pods", "delete", True)]


def test_busy_port_is_one_clear_error_and_a_restart_keeps_the_ca(api, store):
    from kubewatch_ml.errors import UserError
    from kubewatch_ml.sim.apiserver import ApiServer
    with pytest.raises(UserError) as e:
        ApiServer(store, port=api.port, tokens={"t": "admin"}).start()
    assert f"cannot listen on 127.0.0.1:{api.port}" in str(e.value) and "\n" not in str(e.value)
    other = ApiServer(store, tls=True, tokens={"t": "admin"}).start()
    ca = other.ca_file
    pem = open(ca).read()
    other.stop()
    other.start()  # a restart (sim/faults.py) serves the same CA, so clients keep trusting it
    try:
        assert other.ca_file == ca and open(ca).read() == pem
    finally:
        other.stop()


def test_large_answers_are_gzipped_for_clients_that_ask(api, store):
    """As kube-apiserver: an object answer over 128 KiB goes out gzip (level 1) when Accept-Encoding names gzip;
    a small one, a client that does not ask, and one that refuses (q=0) get plain JSON; a watch never."""
    import gzip

    for i in range(300):
        store.create("events", {"metadata": {"namespace": "ml-prod", "name": f"big-{i:03d}"},
                                "involvedObject": {"kind": "Pod", "namespace": "ml-prod", "name": f"p-{i}"},
                                "reason": "Filler", "message": "x" * 600, "type": "Normal"})
    conn = http.client.HTTPConnection(api.host, api.port, timeout=30)

    def get(path: str, enc: str | None):
        conn.request("GET", path, headers={"Authorization": f"Bearer {ADMIN}", **({"Accept-Encoding": enc} if enc else {})})
        r = conn.getresponse()
        return r, r.read()

    plain_r, plain = get("/api/v1/events", None)
    assert plain_r.getheader("Content-Encoding") is None and len(plain) > 128 * 1024
    for enc in ("gzip", "deflate, gzip;q=0.8"):
        r, body = get("/api/v1/events", enc)  # same keep-alive connection: Content-Length frames the gzip body
        assert r.getheader("Content-Encoding") == "gzip" and r.getheader("Vary") == "Accept-Encoding"
        assert int(r.getheader("Content-Length")) == len(body) < len(plain) // 5
        assert json.loads(gzip.decompress(body)) == json.loads(plain)
    r, body = get("/api/v1/events", "gzip;q=0")
    assert r.getheader("Content-Encoding") is None and json.loads(body) == json.loads(plain)
    r, body = get("/api/v1/events?limit=10", "gzip")  # under the threshold
    assert r.getheader("Content-Encoding") is None and len(json.loads(body)["items"]) == 10
    r, body = get("/api/v1/events?watch=1&timeoutSeconds=1", "gzip")  # a watch stream: never compressed
    assert r.getheader("Content-Encoding") is None and r.getheader("Transfer-Encoding") == "chunked"
    assert len([json.loads(line) for line in body.splitlines() if line.strip()]) >= 300
    conn.close()
