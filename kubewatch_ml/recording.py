"""Recordings: one SQLite file of compressed (cluster, metrics) snapshots with bounded retention.

Each frame stores the slim records of a ClusterSnapshot and the MetricsSnapshot (msgspec msgpack,
zlib-compressed), so a replay re-runs the very same analysis and render path a live fetch feeds.
WAL mode lets `replay` or `snapshot --from` read a file that `record` is still writing.
"""
from __future__ import annotations

import re
import sqlite3
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import msgspec

from .errors import EXIT_OUTPUT, UserError
from .metrics_snapshot import AreaState, GpuSample, HpaHistory, MetricsSnapshot
from .model import (
    Event,
    Hpa,
    LimitRange,
    Namespace,
    NetworkPolicy,
    Node,
    Pod,
    PodDisruptionBudget,
    ResourceQuota,
    Service,
    Workload,
)
from .snapshot import ClusterInfo, ClusterSnapshot, KindState

FORMAT = "kubewatch-ml/recording/v1"
_ZLEVEL = 3  # ~the ratio of level 6 at a third of the time on record JSON-like data


class _ClusterFrame(msgspec.Struct, omit_defaults=True):
    taken_at: float
    info: ClusterInfo = ClusterInfo()
    nodes: list[Node] = []
    pods: list[Pod] = []
    namespaces: list[Namespace] = []
    quotas: list[ResourceQuota] = []
    limit_ranges: list[LimitRange] = []
    hpas: list[Hpa] = []
    workloads: list[Workload] = []
    events: list[Event] = []
    pdbs: list[PodDisruptionBudget] = []
    network_policies: list[NetworkPolicy] = []
    services: list[Service] = []
    kinds: list[KindState] = []


class _MetricsFrame(msgspec.Struct, omit_defaults=True):
    # tuple-keyed maps travel as rows: msgpack keys must stay simple for other readers
    taken_at: float
    source: str = "none"
    areas: dict[str, AreaState] = {}
    gpus: list[GpuSample] = []
    container_cpu: list[tuple[str, str, str, float]] = []
    container_memory: list[tuple[str, str, str, float]] = []
    namespace_cpu: dict[str, float] = {}
    namespace_memory: dict[str, float] = {}
    probe_failures_5m: list[tuple[str, str, str, str, float]] = []
    restarts_1h: list[tuple[str, str, str, float]] = []
    crashlooping: list[tuple[str, str, str]] = []
    hpa_history: list[tuple[str, str, HpaHistory]] = []


_enc = msgspec.msgpack.Encoder()
_cluster_dec = msgspec.msgpack.Decoder(_ClusterFrame)
_metrics_dec = msgspec.msgpack.Decoder(_MetricsFrame)


def encode_cluster(c: ClusterSnapshot) -> bytes:
    frame = _ClusterFrame(
        taken_at=c.taken_at, info=c.cluster, nodes=list(c.nodes.values()), pods=list(c.pods.values()),
        namespaces=list(c.namespaces.values()), quotas=list(c.quotas), limit_ranges=list(c.limit_ranges),
        hpas=list(c.hpas), workloads=list(c.workloads.values()), events=list(c.events), pdbs=list(c.pdbs),
        network_policies=list(c.network_policies), services=list(c.services), kinds=list(c.kinds.values()),
    )
    return zlib.compress(_enc.encode(frame), _ZLEVEL)


def decode_cluster(blob: bytes) -> ClusterSnapshot:
    f = _cluster_dec.decode(zlib.decompress(blob))
    return ClusterSnapshot.build(
        f.taken_at, cluster=f.info, nodes=f.nodes, pods=f.pods, namespaces=f.namespaces, quotas=f.quotas,
        limit_ranges=f.limit_ranges, hpas=f.hpas, workloads=f.workloads, events=f.events, pdbs=f.pdbs,
        network_policies=f.network_policies, services=f.services, kinds={k.kind: k for k in f.kinds},
    )


def encode_metrics(m: MetricsSnapshot) -> bytes:
    frame = _MetricsFrame(
        taken_at=m.taken_at, source=m.source, areas=dict(m.areas), gpus=list(m.gpus),
        container_cpu=[(*k, v) for k, v in m.container_cpu.items()],
        container_memory=[(*k, v) for k, v in m.container_memory.items()],
        namespace_cpu=dict(m.namespace_cpu), namespace_memory=dict(m.namespace_memory),
        probe_failures_5m=[(*k, v) for k, v in m.probe_failures_5m.items()],
        restarts_1h=[(*k, v) for k, v in m.restarts_1h.items()],
        crashlooping=sorted(m.crashlooping),
        hpa_history=[(*k, v) for k, v in m.hpa_history.items()],
    )
    return zlib.compress(_enc.encode(frame), _ZLEVEL)


def decode_metrics(blob: bytes) -> MetricsSnapshot:
    f = _metrics_dec.decode(zlib.decompress(blob))
    return MetricsSnapshot(
        taken_at=f.taken_at, source=f.source, areas=f.areas, gpus=tuple(f.gpus),
        container_cpu={r[:3]: r[3] for r in f.container_cpu},
        container_memory={r[:3]: r[3] for r in f.container_memory},
        namespace_cpu=f.namespace_cpu, namespace_memory=f.namespace_memory,
        probe_failures_5m={r[:4]: r[4] for r in f.probe_failures_5m},
        restarts_1h={r[:3]: r[3] for r in f.restarts_1h},
        crashlooping=frozenset(tuple(r) for r in f.crashlooping),
        hpa_history={(r[0], r[1]): r[2] for r in f.hpa_history},
    )


# --- retention and time arguments -------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")


@dataclass(frozen=True)
class Retention:
    """Keep at most `max_frames` frames, none older than `max_age` seconds before the newest, and
    at most `max_bytes` of compressed frames (the newest frame is always kept)."""

    max_frames: int | None = 1000
    max_age: float | None = None
    max_bytes: int | None = 2 * 10**9  # one 150k-pod frame is ~5 MB compressed: 1000 of them would be 5 GB

    def describe(self) -> str:
        parts = []
        if self.max_frames is not None:
            parts.append(f"{self.max_frames} frames")
        if self.max_age is not None:
            parts.append(format_duration(self.max_age))
        if self.max_bytes is not None:
            parts.append(format_size(self.max_bytes))
        return "last " + ", ".join(parts) if parts else "unbounded"


_SIZE = re.compile(r"^(\d+(?:\.\d+)?)(k|m|g|t)i?b$")
_SIZE_UNITS = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def format_size(n: int) -> str:
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:g}{unit}"
    return f"{n}B"


def parse_duration(text: str) -> float:
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise UserError(f"bad duration '{text}': use a number with s, m, h, d or w (e.g. 90s, 15m, 24h, 7d)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def format_duration(seconds: float) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_retention(text: str) -> Retention:
    """Comma-separated limits, all applied: '500' frames, '24h' of frames, '2GB' of frames;
    e.g. '24h,1GB'. Limits not given are off, except that a size limit of 2 GB always applies
    unless a size is given."""
    frames: int | None = None
    age: float | None = None
    size: int | None = Retention().max_bytes
    parts = [x.strip().lower() for x in text.split(",") if x.strip()]
    if not parts:
        raise UserError("empty --retention: use N frames, a duration (24h) or a size (2GB), comma-separated")
    for t in parts:
        m = _SIZE.match(t)
        if t.isdigit():
            if int(t) < 1:
                raise UserError("retention must keep at least 1 frame")
            frames = int(t)
        elif m:
            size = int(float(m.group(1)) * _SIZE_UNITS[m.group(2)])
            if size < 10**6:
                raise UserError(f"retention size {t} is too small: at least 1MB")
        else:
            try:
                age = parse_duration(t)
            except UserError:
                raise UserError(f"bad retention '{t}': use N frames, a duration (90m, 24h, 7d) or a size (500MB, 2GB)") from None
    return Retention(max_frames=frames, max_age=age, max_bytes=size)


def parse_rfc3339(text: str) -> float:
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def format_rfc3339(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{dt.microsecond // 1000:03d}" if dt.microsecond else "") + "Z"


_FIRST_WORDS = ("first", "start", "begin")
_LAST_WORDS = ("last", "end", "latest", "now")


def parse_at(text: str, first: float, last: float) -> float:
    """A moment in a recording: RFC3339, POSIX seconds, 'first', 'last', '-15m' (before the last
    frame) or '+15m' (after the first frame)."""
    t = text.strip().lower()
    if t in _FIRST_WORDS:
        return first
    if t in _LAST_WORDS:
        return last
    if t[:1] in "+-" and _DURATION.match(t[1:]):
        d = parse_duration(t[1:])
        return last - d if t[0] == "-" else first + d
    try:
        return float(t)
    except ValueError:
        pass
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise UserError(
            f"bad time '{text}': use RFC3339 (2026-01-31T14:05:00Z), POSIX seconds, first, last, -15m or +15m"
        ) from None


# --- the file ---------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    taken_at REAL NOT NULL,
    context TEXT NOT NULL DEFAULT '',
    nodes INTEGER NOT NULL DEFAULT 0,
    pods INTEGER NOT NULL DEFAULT 0,
    cluster BLOB NOT NULL,
    metrics BLOB
);
CREATE INDEX IF NOT EXISTS frames_taken_at ON frames (taken_at);
"""


@dataclass(frozen=True)
class FrameInfo:
    id: int
    taken_at: float
    context: str
    nodes: int
    pods: int


class Recording:
    """A recording file. `Recording.open(path)` reads; `Recording.create(path, retention)` appends
    (creating the file if needed). Thread-safe: the TUI records from its feed thread."""

    def __init__(self, path: str | Path, db: sqlite3.Connection, retention: Retention | None, writable: bool):
        self.path = Path(path)
        self._db = db
        self._lock = threading.Lock()
        self.retention = retention
        self.writable = writable

    @classmethod
    def create(cls, path: str | Path, retention: Retention | None = None) -> "Recording":
        p = Path(path)
        if p.is_dir():
            raise UserError(f"cannot record to {p}: it is a directory", EXIT_OUTPUT)
        if not p.parent.exists():
            raise UserError(f"cannot record to {p}: directory {p.parent} does not exist", EXIT_OUTPUT)
        if p.exists() and p.stat().st_size > 0:
            Recording.open(p).close()  # an existing file must be one of ours: never write into another database
        try:
            db = sqlite3.connect(str(p), check_same_thread=False, timeout=10)
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes effect on a new file: deletes give space back
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            fmt = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if fmt is None:
                with db:
                    db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
                    db.execute("INSERT INTO meta VALUES ('created', ?)", (format_rfc3339(time.time()),))
            elif fmt[0] != FORMAT:
                raise UserError(f"{p} is a recording in format {fmt[0]}, this build writes {FORMAT}")
        except sqlite3.DatabaseError as e:
            raise UserError(f"cannot record to {p}: {_one_line(e)}", EXIT_OUTPUT) from None
        return cls(p, db, retention or Retention(), True)

    @classmethod
    def open(cls, path: str | Path) -> "Recording":
        p = Path(path)
        if not p.is_file():
            raise UserError(f"no recording at {p}")
        try:
            db = sqlite3.connect(f"file:{p}?mode=ro", uri=True, check_same_thread=False, timeout=10)
            fmt = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
        except sqlite3.DatabaseError:
            raise UserError(f"{p} is not a kubewatch-ml recording (record one with: kubewatch-ml record FILE)") from None
        if fmt is None or fmt[0] != FORMAT:
            raise UserError(f"{p} is not a {FORMAT} recording")
        return cls(p, db, None, False)

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # writing
    def append(self, cluster: ClusterSnapshot, metrics: MetricsSnapshot | None = None) -> int:
        """Store one frame, then trim to the retention. Returns the frame id."""
        if not self.writable:
            raise UserError(f"{self.path} was opened read-only")
        cblob = encode_cluster(cluster)  # compress outside the lock: it is the slow part
        mblob = encode_metrics(metrics) if metrics is not None else None
        with self._lock:
            try:
                with self._db:
                    cur = self._db.execute(
                        "INSERT INTO frames (taken_at, context, nodes, pods, cluster, metrics) VALUES (?,?,?,?,?,?)",
                        (cluster.taken_at, cluster.cluster.context, len(cluster.nodes), len(cluster.pods), cblob, mblob),
                    )
                    fid = int(cur.lastrowid)
                    trimmed = self._trim()
                if trimmed:
                    self._db.execute("PRAGMA incremental_vacuum")
            except sqlite3.DatabaseError as e:
                raise UserError(f"cannot write {self.path}: {_one_line(e)}", EXIT_OUTPUT) from None
        return fid

    def _trim(self) -> int:
        r = self.retention or Retention()
        n = 0
        if r.max_age is not None:
            n += self._db.execute(
                "DELETE FROM frames WHERE taken_at < (SELECT MAX(taken_at) FROM frames) - ?", (r.max_age,)
            ).rowcount
        if r.max_frames is not None:
            n += self._db.execute(
                "DELETE FROM frames WHERE id NOT IN (SELECT id FROM frames ORDER BY taken_at DESC, id DESC LIMIT ?)",
                (r.max_frames,),
            ).rowcount
        if r.max_bytes is not None:
            # newest first, keep while the running total fits (always the newest frame)
            rows = self._db.execute(
                "SELECT id, length(cluster) + ifnull(length(metrics), 0) FROM frames ORDER BY taken_at DESC, id DESC"
            ).fetchall()
            total, drop = 0, []
            for i, (fid, size) in enumerate(rows):
                total += size
                if total > r.max_bytes and i > 0:
                    drop.append((fid,))
            if drop:
                n += self._db.executemany("DELETE FROM frames WHERE id = ?", drop).rowcount
        return n

    # reading
    def frames(self) -> list[FrameInfo]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, taken_at, context, nodes, pods FROM frames ORDER BY taken_at, id"
            ).fetchall()
        return [FrameInfo(*r) for r in rows]

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM frames").fetchone()[0])

    def frame_at(self, t: float) -> FrameInfo:
        """The last frame taken at or before t (the first frame if t is earlier than all)."""
        infos = self.frames()
        if not infos:
            raise UserError(f"{self.path} holds no frames yet")
        best = infos[0]
        for fi in infos:
            if fi.taken_at <= t:
                best = fi
            else:
                break
        return best

    def load(self, frame_id: int) -> tuple[ClusterSnapshot, MetricsSnapshot | None]:
        with self._lock:
            row = self._db.execute("SELECT cluster, metrics FROM frames WHERE id=?", (frame_id,)).fetchone()
        if row is None:
            raise UserError(f"frame {frame_id} is not in {self.path} (trimmed by retention?)")
        try:
            return decode_cluster(row[0]), (decode_metrics(row[1]) if row[1] is not None else None)
        except (zlib.error, msgspec.DecodeError) as e:
            raise UserError(f"frame {frame_id} of {self.path} is damaged: {_one_line(e)}") from None

    def load_at(self, text: str) -> tuple[ClusterSnapshot, MetricsSnapshot | None]:
        """The frame for a user's --at value (see parse_at)."""
        infos = self.frames()
        if not infos:
            raise UserError(f"{self.path} holds no frames yet")
        word = text.strip().lower()
        if word in _FIRST_WORDS or word in _LAST_WORDS:  # by position: frames may share a time
            return self.load((infos[0] if word in _FIRST_WORDS else infos[-1]).id)
        t = parse_at(text, infos[0].taken_at, infos[-1].taken_at)
        return self.load(self.frame_at(t).id)


def _one_line(e: BaseException) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__
