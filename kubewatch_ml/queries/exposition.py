"""Exporter text (format 0.0.4) into samples named and labelled as Prometheus would store them,
through prometheus_client's parser, undoing its quirks (metrics.md §6):
- a counter declared without `_total` (DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION) comes back renamed
  `…_total`; Prometheus keeps the exposed name, so do we;
- empty label values are kept by the parser; Prometheus drops them, so do we;
- DCGM's NOT_SUPPORTED / blank sentinels (values near 2^63) leaked by old exporters are dropped.

`pick()` is the scraper's way in: it reads bytes as they arrive, finds only the wanted samples'
lines and keeps of each just the label values asked for, as one shared tuple per label set.
"""
from __future__ import annotations

import math
import re
import sys
from operator import itemgetter
from typing import Callable, Iterable, Mapping, NamedTuple

from prometheus_client.parser import text_string_to_metric_families

# prometheus_client's parser costs ~55 us a line: 2.9 M lines of KSM at 150k pods take minutes.
# Above this size the line parser below is used (tests hold the two equal).
FAST_ABOVE = 2_000_000

Labels = dict[str, str]
Samples = dict[str, list[tuple[Labels, float]]]  # sample name -> [(labels, value)]
_TYPE_LINE = re.compile(r"^# TYPE (\S+) ", re.M)
_SENTINEL = 9.0e18  # DCGM_FT_*_BLANK / NOT_SUPPORTED live just under 2^63


class ExpositionError(ValueError):
    """The text is not valid exposition format; the message says where it broke, in one line."""


class Pick(NamedTuple):
    """What to keep of one sample: these label values, in this order ("" = absent or empty), of the
    rows whose labels match `where` (as in select(): "" = absent, "!x" = not x, so "!" = non-empty)."""
    columns: tuple[str, ...]
    where: tuple[tuple[str, str], ...] = ()


Picked = dict[str, list[tuple[tuple[str, ...], float]]]  # sample name -> [(label values, value)]


def parse_exposition(text: str | bytes, only: frozenset[str] | set[str] | None = None,
                     fast: bool | None = None) -> Samples:
    """Samples by name. `only`: keep just these sample names (the rest is skipped cheaply).
    `fast`: force the line parser (True) or prometheus_client's (False); default by size."""
    if fast or (fast is None and len(text) > FAST_ABOVE):
        return _parse_fast(text, only)
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ExpositionError(f"not UTF-8 text: {e}") from None
    if only is not None:
        text = _keep_families(text, only)
    declared = set(_TYPE_LINE.findall(text))
    out: Samples = {}
    try:
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                name = s.name
                if (fam.type == "counter" and name == fam.name + "_total" and name not in declared
                        and fam.name in declared):
                    name = fam.name  # the parser's rename, not what the exporter served
                v = float(s.value)
                if math.isnan(v) or abs(v) >= _SENTINEL:
                    continue
                if only is not None and name not in only:
                    continue
                labels = {k: val for k, val in s.labels.items() if val != ""}
                out.setdefault(name, []).append((labels, v))
    except ValueError as e:
        raise ExpositionError(f"malformed exposition text: {str(e)[:120]}") from None
    return out


def _keep_families(text: str, only) -> str:
    """The lines of `text` that belong to the wanted samples (and their HELP/TYPE lines)."""
    names = sorted({n for n in only} | {n[:-6] for n in only if n.endswith("_total")}, key=len, reverse=True)
    alt = "|".join(re.escape(n) for n in names)
    pat = re.compile(rf"^(?:# (?:HELP|TYPE) (?:{alt})(?:_total)? .*|(?:{alt})(?:_total)?[{{ \t].*)$", re.M)
    return "\n".join(pat.findall(text)) + "\n"


# --- the line parser --------------------------------------------------------------------------
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_REST = re.compile(r"[ \t]+(\S+)(?:[ \t]+-?[0-9]+)?[ \t]*")  # after name/labels: value [timestamp]
# Between two label values once the text is split at its quotes (a "," is put before the first name)
_GAP = re.compile(r"[ \t]*,[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*")
_END = re.compile(r"[ \t]*,?")
_LABEL = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"[ \t]*(?:,|$)')
_UNESCAPE = re.compile(r"\\(.)")
_WINDOW = 1 << 20  # bytes searched at once: the kept lines of one window are held, not the whole text's


def _bad(what: str, line: str) -> ExpositionError:
    return ExpositionError(f"malformed exposition text: {what}: {line[:120]!r}")


def _label_names(gaps: tuple[str, ...], line: str) -> tuple[str, ...]:
    """The label names of a quote-split label set, checked (cached per shape by the callers)."""
    names = []
    for g in gaps[:-1]:
        m = _GAP.fullmatch(g)
        if m is None:
            raise _bad("bad labels", line)
        names.append(m.group(1))
    if _END.fullmatch(gaps[-1]) is None:
        raise _bad("bad labels", line)
    return tuple(names)


def _escaped_labels(body: str, line: str) -> tuple[tuple[str, ...], list[str]]:
    """Label names and unescaped values of a label set holding backslashes (rare: the slow way)."""
    names, values, pos = [], [], 0
    for lm in _LABEL.finditer(body):
        if lm.start() != pos:
            break
        pos = lm.end()
        v = lm.group(2)
        if "\\" in v:
            v = _UNESCAPE.sub(lambda e: "\n" if e.group(1) == "n" else e.group(1), v)
        names.append(lm.group(1))
        values.append(v)
    if pos != len(body):
        raise _bad("bad labels", line)
    return tuple(names), values


def _split(line: str, name_end: int, shapes: dict) -> tuple[tuple[str, ...], list[str], float]:
    """(label names, label values, value) of a sample line; raises ExpositionError when malformed.
    Label names are checked once per shape (`shapes` caches them): exporters repeat a few shapes
    millions of times."""
    if line.startswith("{", name_end):
        close = line.rfind("}")
        if close < name_end:
            raise _bad("unclosed labels", line)
        body = line[name_end + 1:close]
        rest = line[close + 1:]
        if "\\" in body:
            names, values = _escaped_labels(body, line)
        else:
            parts = ("," + body).split('"')
            if not len(parts) & 1:
                raise _bad("bad labels", line)
            gaps = tuple(parts[0::2])
            names = shapes.get(gaps)
            if names is None:
                names = shapes[gaps] = _label_names(gaps, line)
            values = parts[1::2]
    else:
        names, values, rest = (), [], line[name_end:]
    m = _REST.fullmatch(rest)
    if m is None:
        raise _bad("bad value", line)
    try:
        v = float(m.group(1))
    except ValueError:
        raise _bad("bad value", line) from None
    return names, values, v


def _reader(p: Pick | None, names: tuple[str, ...]) -> Callable[[list[str]], object]:
    """For one label-name shape: label values -> what `p` keeps of the row, or None when `where` drops it."""
    if p is None:
        return lambda values: {k: x for k, x in zip(names, values) if x}
    last = {n: i for i, n in enumerate(names)}  # a repeated name: the last one counts
    absent = len(names)  # the "" appended to the values
    idx = [last.get(c, absent) for c in p.columns]
    if len(idx) > 1:
        get = itemgetter(*idx)
    else:
        get = (lambda vs, i=idx[0]: (vs[i],)) if idx else (lambda vs: ())
    tests = [(last.get(k, absent), want[1:], True) if want.startswith("!") else (last.get(k, absent), want, False)
             for k, want in p.where]

    def read(values: list[str]):
        values.append("")
        for i, want, negate in tests:
            if (values[i] == want) != negate:
                continue
            return None
        return get(values)
    return read


def _fit(name: str, gaps: tuple[str, ...], names: tuple[str, ...], p: Pick | None):
    """For lines of one sample with one label shape (the quote-split gaps, already checked) and no
    escapes: a regex for the whole line capturing only the label values `p` reads and the value, the
    value's group, and match -> what `p` keeps (None: dropped by `where`). Most lines are then one
    C-level match."""
    last = {n: i for i, n in enumerate(names)}
    need = sorted(range(len(names)) if p is None else
                  {last[c] for c in p.columns + tuple(k for k, _ in p.where) if c in last})
    group = {i: g for g, i in enumerate(need)}
    pat = re.escape(f"{name}{{{gaps[0][1:]}")
    for i in range(len(names)):
        pat += r'"([^"\\]*)"' if i in group else r'"[^"\\]*"'
        pat += re.escape(gaps[i + 1])
    fit = re.compile(pat + r"\}" + _REST.pattern).fullmatch
    value = len(need) + 1  # the group of the sample's value
    if p is None:
        return fit, value, lambda m: {k: x for k, x in zip(names, m.groups()) if x}
    if any(c not in last for c in p.columns + tuple(k for k, _ in p.where)):  # an absent label reads as ""
        cols = [group[last[c]] if c in last else value for c in p.columns]
        tests = [(group[last[k]] if k in last else value, want.removeprefix("!"), want.startswith("!"))
                 for k, want in p.where]
        get = itemgetter(*cols) if len(cols) > 1 else (lambda g, i=cols[0]: (g[i],)) if cols else (lambda g: ())

        def padded(m: re.Match):
            g = m.groups() + ("",)
            for i, want, negate in tests:
                if (g[i] == want) == negate:
                    return None
            return get(g)
        return fit, value, padded
    cols = [group[last[c]] + 1 for c in p.columns]
    tests = [(group[last[k]] + 1, want.removeprefix("!"), want.startswith("!")) for k, want in p.where]

    def conv(m: re.Match):  # m.group(i, j, ...): the picked values as one tuple, in the Pick's order
        for i, want, negate in tests:
            if (m.group(i) == want) == negate:
                return None
        return m.group(*cols) if len(cols) > 1 else (m.group(cols[0]),) if cols else ()
    return fit, value, conv


def pick(body: bytes | Iterable[bytes], picks: Mapping[str, Pick | None]) -> dict[str, list]:
    """The wanted samples of one exporter's text, given whole or as chunks as they arrive: only the
    lines of `picks`' sample names are parsed (one C-level search over the text finds them, and
    most are then one regex match for their label shape). Each keeps what its Pick asks for as one
    shared tuple per distinct label set (None: all labels, as a dict). NaN and DCGM's sentinels are
    dropped. Raises ExpositionError for a malformed line of a wanted sample."""
    if not picks:
        return {}
    alt = "|".join(re.escape(n) for n in sorted(picks, key=len, reverse=True))
    find = re.compile(rf"\n(?=({alt})[{{ \t])([^\n]*)".encode()).findall
    first = re.compile(rf"(?=({alt})[{{ \t])([^\n]*)".encode()).match
    bnames = {n.encode(): n for n in picks}
    out: dict[str, list] = {n: [] for n in picks}
    shapes: dict = {}
    readers: dict = {}
    fits: dict[str, list] = {n: [] for n in picks}  # per sample: (fit, value group, conv) of the shapes seen, latest first
    memo: dict = {}
    intern = sys.intern

    def slow(name: str, line: str):
        """A line no known shape fits: checked and split the long way; its shape is learnt."""
        ne = len(name)
        names, values, v = _split(line, ne, shapes)
        if line.startswith("{", ne) and "\\" not in line:
            gaps = tuple(("," + line[ne + 1:line.rfind("}")]).split('"')[0::2])
            fits[name].insert(0, _fit(name, gaps, names, picks[name]))
        read = readers.get((name, names))
        if read is None:
            read = readers[(name, names)] = _reader(picks[name], names)
        return read, values, v

    def lines(buf: bytes, a: int, b: int):
        for bname, raw in find(buf, a, b):
            name = bnames[bname]
            try:
                line = raw.decode()
            except UnicodeDecodeError as e:
                raise ExpositionError(f"not UTF-8 text: {e}") from None
            known = fits[name]
            m = known[0][0](line) if known else None
            if m is None and len(known) > 1:
                for i, f in enumerate(known):
                    m = f[0](line)
                    if m is not None:
                        known.insert(0, known.pop(i))
                        break
            if m is not None:
                _, value, conv = known[0]
                try:
                    v = float(m.group(value))
                except ValueError:
                    raise _bad("bad value", line) from None
                if v != v or abs(v) >= _SENTINEL:
                    continue
                labels = conv(m)
            else:
                read, values, v = slow(name, line)
                if v != v or abs(v) >= _SENTINEL:
                    continue
                labels = read(values)
            if labels is None:
                continue
            if type(labels) is tuple:
                shared = memo.get(labels)
                if shared is None:
                    shared = memo[labels] = tuple(map(intern, labels))
                labels = shared
            out[name].append((labels, v))

    def window(buf: bytes, a: int, n: int) -> None:  # complete lines, each after a "\n"; ~1 MB at a time
        while a < n:
            b = n if n - a <= _WINDOW else buf.find(b"\n", a + _WINDOW, n)
            b = n if b < 0 else b
            lines(buf, a, b)
            a = b

    if isinstance(body, (bytes, bytearray)):
        m = first(body)  # the first line has no "\n" before it
        if m is not None:
            lines(b"\n" + m.group(), 0, m.end() + 1)
        window(body, 0, len(body))
        return {n: rows for n, rows in out.items() if rows}
    carry = b"\n"  # always from a "\n" on: the start of the text, or of its last incomplete line
    for chunk in body:
        buf = carry + chunk
        cut = buf.rfind(b"\n")
        window(buf, 0, cut)
        carry = buf[cut:]
    window(carry, 0, len(carry))
    return {n: rows for n, rows in out.items() if rows}


def _parse_fast(text: str | bytes, only) -> Samples:
    if only is not None:
        return pick(text if isinstance(text, (bytes, bytearray)) else text.encode(), dict.fromkeys(only))
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ExpositionError(f"not UTF-8 text: {e}") from None
    out: Samples = {}
    shapes: dict = {}
    for line in text.split("\n"):
        if not line or line[0] == "#":
            continue
        m = _NAME.match(line)
        if m is None or not line.startswith(("{", " ", "\t"), m.end()):
            raise _bad("no sample name", line)
        names, values, v = _split(line, m.end(), shapes)
        if math.isnan(v) or abs(v) >= _SENTINEL:
            continue
        out.setdefault(m.group(), []).append(({k: x for k, x in zip(names, values) if x}, v))
    return out


def select(samples: Samples, name: str, **match: str) -> list[tuple[Labels, float]]:
    """Samples of `name` whose labels equal `match` (value "" = label absent, "!" prefix = not equal)."""
    rows = samples.get(name, ())
    if not match:
        return list(rows)
    out = []
    for labels, v in rows:
        for k, want in match.items():
            have = labels.get(k, "")
            if want.startswith("!"):
                if have == want[1:]:
                    break
            elif have != want:
                break
        else:
            out.append((labels, v))
    return out
