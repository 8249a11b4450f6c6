"""A one-endpoint HTTPS server whose certificate no kubeconfig trusts (a throw-away CA)."""
import contextlib
import http.server
import json
import ssl
import threading

from kubewatch_ml.sim.kubeconfig import make_tls_files


@contextlib.contextmanager
def tls_version_server(tmp_path):
    _ca, crt, key = make_tls_files(tmp_path)

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            body = json.dumps({"gitVersion": "v1.32.0-tls"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(crt), str(key))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"https://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
