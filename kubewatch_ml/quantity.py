"""Kubernetes resource quantities ("100m", "1.5", "2Gi", "500M", "1e3", "64Ki") in canonical units.

CPU becomes integer millicores, memory and storage integer bytes, everything else integer counts.
Parsing is exact (Decimal only for the rare odd forms) and rounds up like the API server's
`Quantity.MilliValue()` / `Value()`, so a request of "1n" cpu still counts as 1 millicore.
"""
from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from functools import lru_cache

_BINARY = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
_DECIMAL_EXP = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


@lru_cache(maxsize=4096)
def parse_quantity(text: str) -> Decimal:
    """The exact value of a quantity string (base units: cores, bytes, counts)."""
    s = text.strip() if isinstance(text, str) else str(text)
    if not s:
        raise QuantityError("empty quantity")
    if s[-2:] in _BINARY:
        num, mult = s[:-2], Decimal(_BINARY[s[-2:]])
    elif s[-1] in _DECIMAL_EXP:  # "E" at the very end is exa; "1E3" ends in a digit
        num, mult = s[:-1], Decimal(10) ** _DECIMAL_EXP[s[-1]]
    else:
        num, mult = s, Decimal(1)  # plain number, possibly with an exponent: "1e3", "1.5"
    if not num or not _is_number(num):
        raise QuantityError(f"not a quantity: {text!r}")
    try:
        return Decimal(num) * mult
    except InvalidOperation:
        raise QuantityError(f"not a quantity: {text!r}") from None


def _is_number(s: str) -> bool:
    if not s:
        return False
    body = s[1:] if s[0] in "+-" else s
    if not body or body[0] not in "0123456789.":
        return False
    mantissa, _, exp = body.replace("E", "e").partition("e")
    if exp and not (exp.lstrip("+-").isdigit()):
        return False
    return mantissa.replace(".", "", 1).isdigit()


@lru_cache(maxsize=8192)
def cpu_millicores(text: str) -> int:
    """CPU quantity -> millicores, rounded up ("100m" -> 100, "1.5" -> 1500, "1n" -> 1)."""
    s = text.strip() if isinstance(text, str) else str(text)
    if s.endswith("m") and s[:-1].isdigit():  # the common case, no Decimal
        return int(s[:-1])
    if s.isdigit():
        return int(s) * 1000
    return _ceil(parse_quantity(s) * 1000)


@lru_cache(maxsize=8192)
def to_int(text: str) -> int:
    """Bytes or counts, rounded up ("2Gi" -> 2147483648, "500M" -> 500000000, "1e3" -> 1000)."""
    s = text.strip() if isinstance(text, str) else str(text)
    if s.isdigit():
        return int(s)
    unit = s[-2:]
    if unit in _BINARY and s[:-2].isdigit():
        return int(s[:-2]) * _BINARY[unit]
    return _ceil(parse_quantity(s))


def _ceil(d: Decimal) -> int:
    return int(math.ceil(d))


def is_cpu_key(key: str) -> bool:
    """Quota/resource keys measured in cores: cpu, requests.cpu, limits.cpu."""
    return key == "cpu" or key.endswith(".cpu")


def is_bytes_key(key: str) -> bool:
    """Quota/resource keys measured in bytes: memory, storage, ephemeral-storage, hugepages-*."""
    tail = key.rsplit(".", 1)[-1] if not key.startswith("hugepages-") else key
    return (
        tail in ("memory", "storage", "ephemeral-storage")
        or key.endswith("memory")
        or key.endswith("storage")
        or "hugepages-" in key
    )


def quantity_for_key(key: str, text: str) -> int:
    """A quantity in the canonical unit its key implies: millicores for cpu, else bytes/counts."""
    return cpu_millicores(text) if is_cpu_key(key) else to_int(text)


def format_millicores(m: int) -> str:
    return f"{m // 1000}" if m % 1000 == 0 else f"{m}m"


def format_bytes(n: int) -> str:
    """Short binary form for display: 2Gi, 512Mi, 1536Ki, 1000."""
    for suffix, mult in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n >= mult and n % mult == 0:
            return f"{n // mult}{suffix}"
    for suffix, mult in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20)):
        if n >= mult:
            return f"{n / mult:.1f}{suffix}"
    return str(n)
