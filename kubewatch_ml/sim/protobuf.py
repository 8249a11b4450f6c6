"""Just enough of Kubernetes' protobuf encoding to read what kubectl POSTs as protobuf:
the `k8s\\0` envelope (runtime.Unknown) and a SelfSubjectAccessReview inside it."""
from __future__ import annotations

from typing import Any

from .objects import ApiError

MAGIC = b"k8s\x00"


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def fields(buf: bytes) -> dict[int, list[Any]]:
    """Decode one protobuf message into field number -> values (bytes for length-delimited)."""
    out: dict[int, list[Any]] = {}
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated field")
            val, i = buf[i:i + n], i + n
        elif wire == 1:
            val, i = buf[i:i + 8], i + 8
        elif wire == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.setdefault(num, []).append(val)
    return out


def _str(f: dict[int, list[Any]], num: int) -> str:
    v = f.get(num)
    return v[-1].decode() if v else ""


def unwrap(body: bytes) -> tuple[str, str, bytes]:
    """The runtime.Unknown envelope -> (apiVersion, kind, raw message bytes)."""
    if not body.startswith(MAGIC):
        raise ValueError("missing k8s protobuf magic")
    f = fields(body[len(MAGIC):])
    tm = fields(f[1][-1]) if 1 in f else {}
    raw = f[2][-1] if 2 in f else b""
    return _str(tm, 1), _str(tm, 2), raw


def decode_ssar(body: bytes) -> dict:
    """A protobuf SelfSubjectAccessReview as the JSON-shaped dict the API would have received."""
    try:
        api_version, kind, raw = unwrap(body)
        review = fields(raw)
        spec = fields(review[2][-1]) if 2 in review else {}
        out_spec: dict[str, Any] = {}
        if 1 in spec:
            ra = fields(spec[1][-1])
            names = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource", 7: "name"}
            out_spec["resourceAttributes"] = {n: _str(ra, k) for k, n in names.items() if _str(ra, k)}
        if 2 in spec:
            na = fields(spec[2][-1])
            out_spec["nonResourceAttributes"] = {n: _str(na, k) for k, n in {1: "path", 2: "verb"}.items() if _str(na, k)}
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise ApiError(400, "BadRequest", f"the body of the request could not be decoded as protobuf: {e}") from None
    return {"kind": kind or "SelfSubjectAccessReview", "apiVersion": api_version or "authorization.k8s.io/v1",
            "metadata": {}, "spec": out_spec}


def decode_ssrr(body: bytes) -> dict:
    """A protobuf SelfSubjectRulesReview (`kubectl auth can-i --list`): spec.namespace only."""
    try:
        api_version, kind, raw = unwrap(body)
        review = fields(raw)
        spec = fields(review[2][-1]) if 2 in review else {}
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise ApiError(400, "BadRequest", f"the body of the request could not be decoded as protobuf: {e}") from None
    return {"kind": kind or "SelfSubjectRulesReview", "apiVersion": api_version or "authorization.k8s.io/v1",
            "metadata": {}, "spec": {"namespace": _str(spec, 1)}}


def decode_eviction(body: bytes) -> dict:
    """A protobuf policy/v1 Eviction: only the target's name/namespace matter (the URL names them too)."""
    try:
        api_version, kind, raw = unwrap(body)
        ev = fields(raw)
        md = fields(ev[1][-1]) if 1 in ev else {}
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise ApiError(400, "BadRequest", f"the body of the request could not be decoded as protobuf: {e}") from None
    return {"kind": kind or "Eviction", "apiVersion": api_version or "policy/v1",
            "metadata": {"name": _str(md, 1), "namespace": _str(md, 3)}}


def decode_token_request(body: bytes) -> dict:
    """A protobuf authentication/v1 TokenRequest (`kubectl create token`): spec audiences (1) and
    expirationSeconds (4)."""
    try:
        api_version, kind, raw = unwrap(body)
        tr = fields(raw)
        spec = fields(tr[2][-1]) if 2 in tr else {}
        out: dict[str, Any] = {}
        if spec.get(1):
            out["audiences"] = [a.decode() for a in spec[1]]
        if spec.get(4):
            out["expirationSeconds"] = int(spec[4][-1])
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise ApiError(400, "BadRequest", f"the body of the request could not be decoded as protobuf: {e}") from None
    return {"kind": kind or "TokenRequest", "apiVersion": api_version or "authentication.k8s.io/v1",
            "metadata": {}, "spec": out}


# --- encoding, for tests that play kubectl ------------------------------------------------------
def _enc_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _enc_field(num: int, data: bytes) -> bytes:
    return _enc_varint(num << 3 | 2) + _enc_varint(len(data)) + data


def encode_ssar(verb: str, resource: str, group: str = "", namespace: str = "", name: str = "",
                subresource: str = "") -> bytes:
    attrs = b"".join(_enc_field(k, v.encode()) for k, v in
                     ((1, namespace), (2, verb), (3, group), (5, resource), (6, subresource), (7, name)) if v)
    review = _enc_field(1, b"") + _enc_field(2, _enc_field(1, attrs))
    type_meta = _enc_field(1, b"authorization.k8s.io/v1") + _enc_field(2, b"SelfSubjectAccessReview")
    return MAGIC + _enc_field(1, type_meta) + _enc_field(2, review) + _enc_field(3, b"") + _enc_field(4, b"")
