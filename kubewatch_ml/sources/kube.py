"""The connection to a Kubernetes API server, and the one HTTP path of the product.

Configuration is loaded like kubectl by the official `kubernetes` client (kubeconfig files, KUBECONFIG
lists, contexts, tokens, client certificates, exec/auth-provider plugins, in-cluster service account);
the resulting host, TLS material and refreshed credentials drive a urllib3 pool that carries every
request: reads, writes, watches and service proxies. A read-only connection refuses every method but
GET/HEAD before anything leaves the process. Credentials never appear in errors or logs.
"""
from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import os
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator, Mapping
from urllib.parse import urlencode, urlsplit

import urllib3

from .. import __version__
from ..errors import ConnectError, UserError
from ..settings import KubeOptions
from ..snapshot import ClusterInfo

log = logging.getLogger(__name__)

USER_AGENT = f"kubewatch-ml/{__version__}"
READ_METHODS = frozenset({"GET", "HEAD"})
_CHUNK = 1 << 20


class ReadOnlyError(UserError):
    """A write was attempted on a read-only connection; nothing was sent."""


class ApiError(Exception):
    """A non-2xx answer from the API server (status, reason, message from the metav1.Status)."""

    def __init__(self, status: int, reason: str = "", message: str = ""):
        self.status = status
        self.reason = reason
        self.message = message
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}".strip())


class KubeResponse:
    """A complete answer. Unpacks as `status, body = conn.request(...)`."""

    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int, body: bytes, headers: Mapping[str, str]):
        self.status, self.body, self.headers = status, body, headers

    def __iter__(self):
        return iter((self.status, self.body))

    def __getitem__(self, i):
        return (self.status, self.body)[i]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def __repr__(self) -> str:
        return f"KubeResponse(status={self.status}, {len(self.body)} bytes)"


class StreamResponse:
    """A streamed answer (watch): iterate for the lines; `body` holds the error body when not 2xx.
    close() may be called from another thread to end a blocked read."""

    def __init__(self, status: int, headers: Mapping[str, str], raw: urllib3.BaseHTTPResponse | None, body: bytes = b""):
        self.status, self.headers, self.body = status, headers, body
        self._raw = raw
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        raw = self._raw
        if raw is None:
            return
        buf = b""
        try:
            while not self._closed:
                chunk = raw.read1(_CHUNK) if hasattr(raw, "read1") else raw.read(_CHUNK)
                if not chunk:
                    break
                buf += chunk
                if b"\n" in buf:
                    *lines, buf = buf.split(b"\n")
                    for ln in lines:
                        if ln.strip():
                            yield ln
            if buf.strip() and not self._closed:
                yield buf
        except urllib3.exceptions.ProtocolError as e:  # the server cut the stream (restart, proxy): it ended
            log.debug("watch stream broken: %s", e)
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        raw = self._raw
        if raw is not None:
            try:
                raw.shutdown()  # unblocks a read in another thread
            except Exception:  # noqa: BLE001 - best effort on an already broken socket
                pass
            try:
                raw.release_conn()
                raw.close()
            except Exception:  # noqa: BLE001
                pass


@dataclass(frozen=True)
class _Auth:
    """What the kubernetes client resolved, minus anything we must not print."""

    host: str
    verify: bool
    ca_file: str | None
    cert_file: str | None
    key_file: str | None
    server_hostname: str | None
    proxy: str | None


def is_loopback(url: str) -> bool:
    """The server is on this machine (127.0.0.0/8, ::1, localhost): no DNS lookup, a name is not loopback."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FixedCredentials:
    """Stands in for the client configuration when the credentials were resolved elsewhere: a process the
    dashboard starts for one long list (list_child.py) sends the parent's current Authorization header."""

    def __init__(self, authorization: str | None):
        self.authorization = authorization

    def get_api_key_with_prefix(self, *_a: Any, **_k: Any) -> str | None:
        return self.authorization


def make_pool(a: _Auth, maxsize: int) -> urllib3.PoolManager:
    """The urllib3 pool for a resolved connection (also built by list_child.py from the same _Auth)."""
    kw: dict[str, Any] = dict(num_pools=4, maxsize=maxsize, block=False, retries=False)
    if a.host.startswith("https"):
        kw["cert_reqs"] = ssl.CERT_REQUIRED if a.verify else ssl.CERT_NONE
        if a.verify and a.ca_file:
            kw["ca_certs"] = a.ca_file
        if a.cert_file:
            kw["cert_file"] = a.cert_file
        if a.key_file:
            kw["key_file"] = a.key_file
        if a.server_hostname:
            kw["server_hostname"] = a.server_hostname
        if not a.verify:
            kw["assert_hostname"] = False
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    if a.proxy:
        return urllib3.ProxyManager(a.proxy, **kw)
    return urllib3.PoolManager(**kw)


class KubeConnection:
    def __init__(self, configuration, info: ClusterInfo | None, readonly: bool = False, timeout: float = 30.0,
                 namespace: str | None = None, auth: _Auth | None = None):
        """`configuration` is the kubernetes client's (it refreshes credentials); `auth`, when given, is an
        already resolved _Auth (list_child.py: the parent's, with FixedCredentials as the configuration)."""
        self._cfg = configuration
        self.info = info
        self.readonly = readonly
        self.timeout = timeout
        self.namespace = namespace  # the -n restriction (None: all namespaces)
        self._auth = auth or _Auth(
            host=configuration.host.rstrip("/"),
            verify=bool(configuration.verify_ssl),
            ca_file=configuration.ssl_ca_cert,
            cert_file=configuration.cert_file,
            key_file=configuration.key_file,
            server_hostname=getattr(configuration, "tls_server_name", None),
            proxy=getattr(configuration, "proxy", None),
        )
        self._token_lock = threading.Lock()
        self._pool = make_pool(self._auth, maxsize=48)  # 15 watches + lists + proxies
        # Ask for gzip (as client-go: big lists shrink ~10x on the wire), except from a server on this machine
        # (kind, minikube, `kubectl proxy`, the simulator): there compression only burns CPU on both ends of a
        # loopback socket (the paged-GET floor against the simulator: 2.4-2.7 s plain, 3.5-3.6 s gzip). Behind a local
        # `kubectl proxy` the remote leg is still compressed: Go's transport asks for gzip on its own.
        self.ask_gzip = not is_loopback(self._auth.host)
        self.clock_offset = 0.0  # the API server's clock minus ours, from its Date headers

    @property
    def server(self) -> str:
        return self._auth.host

    def request_headers(self, stream: bool = False) -> dict[str, str]:
        """What every request carries: Accept, User-Agent, gzip for whole bodies from a remote server, the
        (refreshed) credentials."""
        hdrs = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if not stream and self.ask_gzip:  # urllib3 inflates the answer
            hdrs["Accept-Encoding"] = "gzip"
        token = self._auth_header()
        if token:
            hdrs["Authorization"] = token
        return hdrs

    def _auth_header(self) -> str | None:
        # get_api_key_with_prefix runs the refresh hook (exec plugins, expiring tokens)
        with self._token_lock:
            return self._cfg.get_api_key_with_prefix("BearerToken", alias="authorization")

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        q = ""
        if params:
            q = "?" + urlencode({k: _param(v) for k, v in params.items() if v is not None})
        return self._auth.host + path + q

    def request(self, method: str, path: str, params: Mapping[str, Any] | None = None, body: Any = None,
                content_type: str | None = None, headers: Mapping[str, str] | None = None,
                timeout: float | None = None, stream: bool = False):
        """Send one request. Returns KubeResponse (or StreamResponse with stream=True).
        Raises ReadOnlyError before sending when read-only and not GET/HEAD; ConnectError when the
        server cannot be reached."""
        method = method.upper()
        if self.readonly and method not in READ_METHODS:
            raise ReadOnlyError(f"read-only mode: refusing {method} {path} (nothing was sent); "
                                "restart without --readonly to change the cluster")
        hdrs = self.request_headers(stream)
        data = None
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data = bytes(body)
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = json.dumps(body).encode()
            hdrs["Content-Type"] = content_type or "application/json"
        elif content_type:
            hdrs["Content-Type"] = content_type
        if headers:
            hdrs.update(headers)
        t = self.timeout if timeout is None else timeout
        tmo = urllib3.Timeout(connect=min(t, 15.0), read=t)
        url = self.url(path, params)
        try:
            resp = self._pool.request(method, url, body=data, headers=hdrs, timeout=tmo,
                                      preload_content=not stream, redirect=False, decode_content=True)
        except urllib3.exceptions.HTTPError as e:
            raise ConnectError(describe_transport_error(self._auth.host, e)) from None
        except OSError as e:
            raise ConnectError(f"cannot reach {self._auth.host} ({_reason(e)}): is the cluster up? check --context") from None
        rh = {k.lower(): v for k, v in resp.headers.items()}
        if "date" in rh:
            self._note_server_date(rh["date"])
        if not stream:
            return KubeResponse(resp.status, resp.data, rh)
        if resp.status >= 300:
            try:
                err = resp.read()
            finally:
                resp.release_conn()
            return StreamResponse(resp.status, rh, None, err)
        return StreamResponse(resp.status, rh, resp)

    def _note_server_date(self, value: str) -> None:
        try:
            server = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        self.clock_offset = server - time.time()

    def server_now(self) -> float:
        """The cluster's clock, from the API server's Date headers: ages and "pending for" are measured
        against it, so a skewed local (or server) clock does not make every object look hours old.
        Skews under 2 s (the header's 1 s resolution plus latency) count as none."""
        off = self.clock_offset
        return time.time() + (off if abs(off) >= 2.0 else 0.0)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        r = self.request("GET", path, params)
        if not 200 <= r.status < 300:
            raise api_error(r.status, r.body)
        return json.loads(r.body)

    def close(self) -> None:
        try:
            self._pool.clear()
        except Exception:  # noqa: BLE001
            pass

    def __enter__(self) -> "KubeConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:  # never the token
        if self.info is None:  # a list process's connection (list_child.py)
            return f"KubeConnection({self._auth.host!r}, readonly={self.readonly})"
        return f"KubeConnection({self.info.server!r}, context={self.info.context!r}, readonly={self.readonly})"


def _param(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def api_error(status: int, body: bytes) -> ApiError:
    from .decode import decode_status

    st = decode_status(body) if body else None
    if st is not None:
        return ApiError(status, st.reason or _REASONS.get(status, ""), st.message)
    text = body[:200].decode("utf-8", "replace").strip() if body else ""
    return ApiError(status, _REASONS.get(status, ""), text)


_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
            410: "Expired", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}


def _reason(e: BaseException) -> str:
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, socket.gaierror):
            return "unknown host"
        if isinstance(e, (socket.timeout, TimeoutError)):
            return "timed out"
        if isinstance(e, ssl.SSLCertVerificationError):
            return "TLS certificate verification failed"
        e = e.__cause__ or e.__context__ or getattr(e, "reason", None)
        if not isinstance(e, BaseException):
            break
    return "connection failed"


def describe_transport_error(host: str, e: BaseException) -> str:
    inner = getattr(e, "reason", None) or e
    if isinstance(inner, urllib3.exceptions.SSLError) or isinstance(e, urllib3.exceptions.SSLError):
        text = str(inner)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            return (f"cannot verify the TLS certificate of {host}: add the cluster's CA to the kubeconfig "
                    "(certificate-authority) or, only if you trust the network, pass --insecure-skip-tls-verify")
        if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
            return f"TLS handshake with {host} failed (the server does not speak TLS?): check the URL scheme in the kubeconfig"
        return f"TLS handshake with {host} failed: check the kubeconfig's certificates or --insecure-skip-tls-verify"
    if isinstance(e, urllib3.exceptions.NewConnectionError) or isinstance(inner, urllib3.exceptions.NewConnectionError):
        return f"cannot reach {host} ({_reason(e)}): is the cluster up? check --context"
    if isinstance(inner, (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ConnectTimeoutError)) or isinstance(
            e, (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ConnectTimeoutError)):
        return f"cannot reach {host} (timed out): is the cluster up? check --context or --request-timeout"
    if isinstance(inner, urllib3.exceptions.ProtocolError) or isinstance(e, urllib3.exceptions.ProtocolError):
        return f"connection to {host} broke off ({_reason(e)}): is the cluster up? check --context"
    return f"cannot reach {host} ({_reason(e)}): is the cluster up? check --context"


# --- connect ------------------------------------------------------------------------------


def _kubeconfig_paths(opts: KubeOptions) -> tuple[str, list[str]]:
    """(the config_file string for the client, the existing paths)."""
    if opts.kubeconfig:
        path = os.path.expanduser(opts.kubeconfig)
        if not os.path.exists(path):
            raise ConnectError(f"kubeconfig {opts.kubeconfig} does not exist: check --kubeconfig")
        return path, [path]
    env = os.environ.get("KUBECONFIG")
    spec = env if env else "~/.kube/config"
    paths = [os.path.expanduser(p) for p in spec.split(os.pathsep) if p]
    return spec, [p for p in paths if os.path.exists(p)]


def _load_configuration(opts: KubeOptions):
    """A kubernetes.client.Configuration, plus (context name, user name)."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    spec, existing = _kubeconfig_paths(opts)
    if not existing:
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not opts.kubeconfig:
            try:
                config.load_incluster_config(client_configuration=cfg)
            except ConfigException as e:
                raise ConnectError(f"in-cluster configuration failed ({_one_line(e)}): is a service account mounted?") from None
            return cfg, "in-cluster", "serviceaccount"
        raise ConnectError(
            f"no kubeconfig found ({spec if os.environ.get('KUBECONFIG') else '~/.kube/config'}) and not running "
            "in a cluster: pass --kubeconfig or set KUBECONFIG (or try `kubewatch-ml demo`)")
    import yaml

    try:
        contexts, current = config.list_kube_config_contexts(config_file=spec)
    except yaml.YAMLError as e:
        raise ConnectError(f"kubeconfig {', '.join(existing)} is not valid YAML ({_one_line(e)}): fix or replace the file") from None
    except (ConfigException, KeyError, TypeError, AttributeError) as e:
        raise ConnectError(f"kubeconfig {', '.join(existing)} is invalid ({_one_line(e)}): check it with `kubectl config view`") from None
    names = [c.get("name", "") for c in contexts or ()]
    ctx_name = opts.context or (current or {}).get("name", "")
    if opts.context and opts.context not in names:
        raise ConnectError(f"context {opts.context!r} not found in the kubeconfig; available: {', '.join(names) or 'none'}")
    if not ctx_name:
        raise ConnectError(f"the kubeconfig has no current-context: pass --context (available: {', '.join(names) or 'none'})")
    ctx = next((c for c in contexts if c.get("name") == ctx_name), {}) or {}
    user = ((ctx.get("context") or {}).get("user")) or ""
    user_cfg = _user_entry(contexts, ctx_name, spec)
    try:
        with _captured_root_errors() as problems:  # the client logs exec failures instead of raising
            config.load_kube_config(config_file=spec, context=ctx_name, client_configuration=cfg, persist_config=False)
        exec_cfg = (user_cfg or {}).get("exec")
        if exec_cfg and not cfg.api_key and not cfg.cert_file:
            why = problems[-1] if problems else "it returned no token or client certificate"
            raise ConnectError(f"the exec credential plugin {exec_cfg.get('command', '?')!r} of user {user!r} failed "
                               f"({_redact_tokens(_one_line(Exception(why)))}): check that it is installed and logged in")
    except ConnectError:
        raise
    except ConfigException as e:
        raise ConnectError(f"kubeconfig context {ctx_name!r} cannot be used ({_one_line(e)}): check it with `kubectl config view`") from None
    except yaml.YAMLError as e:
        raise ConnectError(f"kubeconfig is not valid YAML ({_one_line(e)})") from None
    except Exception as e:  # noqa: BLE001 - exec plugins fail in many ways; say which step
        raise ConnectError(f"loading credentials for context {ctx_name!r} failed ({_one_line(e)}): "
                           "check the user's exec plugin or certificate files") from None
    return cfg, ctx_name, user


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-+=.~]{20,}")


def _redact_tokens(text: str) -> str:
    """A failing exec plugin's stderr is quoted to the user; a token it printed must not be."""
    return _TOKEN_LIKE.sub("<redacted>", text)


class _captured_root_errors:
    """Keep the kubernetes client's root-logger errors off the terminal; hand them to us instead."""

    def __enter__(self) -> list[str]:
        root = logging.getLogger()
        self._collector = _ErrorCollector()
        self._saved = root.handlers[:], root.propagate
        root.handlers = [self._collector]
        return self._collector.messages

    def __exit__(self, *exc) -> None:
        logging.getLogger().handlers = self._saved[0]


def _user_entry(contexts: list, ctx_name: str, spec: str) -> dict | None:
    """The kubeconfig `user` mapping of a context (to tell an exec plugin apart), best effort."""
    import yaml

    ctx = next((c for c in contexts or () if c.get("name") == ctx_name), None) or {}
    uname = (ctx.get("context") or {}).get("user")
    for path in spec.split(os.pathsep):
        path = os.path.expanduser(path)
        if not path or not os.path.exists(path):
            continue
        try:
            with open(path) as f:
                doc = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError):
            continue
        for u in doc.get("users") or ():
            if isinstance(u, dict) and u.get("name") == uname:
                return u.get("user") or {}
    return None


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:200] or type(e).__name__


def connect(opts: KubeOptions) -> KubeConnection:
    """Load the kubeconfig (or in-cluster config), open the pool and GET /version to fail fast."""
    cfg, ctx_name, user = _load_configuration(opts)
    if opts.insecure_skip_tls_verify:
        cfg.verify_ssl = False
    host = (cfg.host or "").rstrip("/")
    if not host or not urlsplit(host).scheme:
        raise ConnectError(f"context {ctx_name!r} has no usable server URL ({host or 'empty'}): check the kubeconfig")
    insecure = host.startswith("https") and not cfg.verify_ssl
    info = ClusterInfo(context=ctx_name, server=host, version="", user=user, insecure=insecure)
    conn = KubeConnection(cfg, info, readonly=opts.readonly, timeout=opts.request_timeout,
                          namespace=opts.namespace)
    try:
        r = conn.request("GET", "/version", timeout=min(opts.request_timeout, 10.0))
    except ConnectError:
        conn.close()
        raise
    if r.status == 200:
        # /version may be served to anyone; discovery needs valid credentials (as kubectl's next call)
        try:
            auth_check = conn.request("GET", "/api", timeout=min(opts.request_timeout, 10.0)).status
        except ConnectError:
            conn.close()
            raise
        if auth_check == 401:
            r = KubeResponse(401, b"", {})
    if r.status == 401:
        conn.close()
        raise ConnectError(f"{host} rejected our credentials (401 Unauthorized) for context {ctx_name!r}: "
                           "the token may have expired; log in again or refresh the kubeconfig")
    version = ""
    if r.status == 200:
        try:
            version = str(json.loads(r.body).get("gitVersion", ""))
        except (ValueError, AttributeError):
            conn.close()
            raise ConnectError(f"{host} answered /version with something that is not JSON: is this a Kubernetes API server?") from None
    elif r.status == 403:
        version = ""  # /version is usually public; a 403 still proves the server and the credentials work
    elif r.status == 429 or 500 <= r.status <= 599:
        conn.close()
        why = "overloaded (429 Too Many Requests)" if r.status == 429 else f"failing (HTTP {r.status})"
        raise ConnectError(f"{host} is {why}: the API server is unhealthy; retry later")
    else:
        conn.close()
        raise ConnectError(f"{host} answered /version with HTTP {r.status}: is this a Kubernetes API server?")
    conn.info = ClusterInfo(context=ctx_name, server=host, version=version, user=user, insecure=insecure)
    return conn
