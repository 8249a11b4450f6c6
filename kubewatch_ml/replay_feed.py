"""Feeds over recordings, for the TUI (no Textual here).

`ReplayFeed` plays a recording through the same `build_frame` path a live refresh uses, with
pause / step / seek controls the app's key bindings call. `RecordingFeed` wraps any feed and
writes every frame it hands out into a recording (`--record FILE` on the dashboard).
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Callable

from .errors import UserError
from .feed import Feed, FeedStatus, Frame, build_frame, metrics_state
from .recording import FrameInfo, Recording, format_rfc3339, parse_at

MIN_GAP, MAX_GAP = 0.2, 5.0  # seconds of wall time between replayed frames, whatever the recorded gap


class ReplayFeed:
    """Plays `recording` from frame `start` (an index, default 0). While playing, frames advance at
    the recorded pace times `speed` (each gap clamped to MIN_GAP..MAX_GAP); at the end it waits for
    frames a running `record` may still append. Controls are thread-safe; each one makes the next
    `next_frame` call return the frame now current."""

    def __init__(self, recording: Recording, *, start: int = 0, speed: float = 1.0, playing: bool = True,
                 clock: Callable[[], float] = time.monotonic):
        self.recording = recording
        self._infos: list[FrameInfo] = recording.frames()
        if not self._infos:
            raise UserError(f"{recording.path} holds no frames yet")
        self._pos = max(0, min(start, len(self._infos) - 1))
        self._speed = speed if speed > 0 else 1.0
        self._playing = playing
        self._clock = clock
        self._cond = threading.Condition()
        self._dirty = True  # the first call shows the start frame
        self._due = 0.0
        self._closed = False
        self._last_status = FeedStatus(api_state="replay", loaded=True)

    # -- controls (UI thread)
    @property
    def playing(self) -> bool:
        return self._playing

    def pause(self) -> None:
        with self._cond:
            self._playing = False
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            if self._pos >= len(self._infos) - 1:
                self._refresh_infos()
            self._playing = True
            self._due = self._clock() + self._gap()
            self._cond.notify_all()

    def toggle(self) -> bool:
        """Pause if playing, play if paused; returns True when now playing."""
        (self.pause if self._playing else self.resume)()
        return self._playing

    def step(self, n: int = 1) -> None:
        """Pause and move n frames (negative: back)."""
        with self._cond:
            self._playing = False
            if n > 0 and self._pos + n >= len(self._infos):
                self._refresh_infos()
            self._move(self._pos + n)

    def seek(self, t: float) -> None:
        """Jump to the last frame taken at or before POSIX time t (the first if t is earlier)."""
        with self._cond:
            idx = 0
            for i, fi in enumerate(self._infos):
                if fi.taken_at <= t:
                    idx = i
            self._move(idx)

    def seek_text(self, text: str) -> None:
        """Seek with the `--at` syntax: RFC3339, POSIX seconds, first, last, -15m, +15m."""
        word = text.strip().lower()
        if word in ("first", "start", "begin"):
            with self._cond:
                self._move(0)
        elif word in ("last", "end", "latest", "now"):
            with self._cond:
                self._refresh_infos()
                self._move(len(self._infos) - 1)
        else:
            self.seek(parse_at(text, self._infos[0].taken_at, self._infos[-1].taken_at))

    def seek_fraction(self, f: float) -> None:
        with self._cond:
            self._move(round(max(0.0, min(1.0, f)) * (len(self._infos) - 1)))

    def position(self) -> tuple[int, int, float]:
        """(index, frame count, taken_at of the current frame)."""
        with self._cond:
            return self._pos, len(self._infos), self._infos[self._pos].taken_at

    def describe(self) -> str:
        i, n, t = self.position()
        state = "playing" if self._playing else "paused"
        speed = f" x{self._speed:g}" if self._speed != 1 else ""
        return f"replay {self.recording.path.name}: frame {i + 1}/{n} at {format_rfc3339(t)} ({state}{speed})"

    def _move(self, idx: int) -> None:
        self._pos = max(0, min(idx, len(self._infos) - 1))
        self._dirty = True
        self._due = self._clock() + self._gap()
        self._cond.notify_all()

    def _gap(self) -> float:
        if self._pos + 1 >= len(self._infos):
            return MAX_GAP
        d = (self._infos[self._pos + 1].taken_at - self._infos[self._pos].taken_at) / self._speed
        return max(MIN_GAP, min(MAX_GAP, d))

    def _refresh_infos(self) -> None:
        current = self._infos[self._pos].id
        infos = self.recording.frames()
        if infos:
            self._infos = infos
            ids = [fi.id for fi in infos]
            self._pos = ids.index(current) if current in ids else 0  # retention may have trimmed it

    # -- Feed protocol (worker thread)
    def next_frame(self, timeout: float) -> Frame | None:
        deadline = self._clock() + timeout
        with self._cond:
            while not self._closed:
                if self._dirty:
                    break
                now = self._clock()
                if self._playing and now >= self._due:
                    if self._pos + 1 >= len(self._infos):
                        self._refresh_infos()
                    if self._pos + 1 < len(self._infos):
                        self._pos += 1
                        self._due = now + self._gap()
                        break
                    self._due = now + MAX_GAP  # at the end: look for appended frames now and then
                wake = min(deadline, self._due) if self._playing else deadline
                if now >= deadline:
                    return None
                self._cond.wait(max(0.01, wake - now))
            if self._closed:
                return None
            self._dirty = False
            info = self._infos[self._pos]
        cluster, metrics = self.recording.load(info.id)  # decode outside the lock: controls stay responsive
        status = FeedStatus(
            context=cluster.cluster.context, server=cluster.cluster.server, api_state="replay",
            metrics_source=metrics.source if metrics else "none", metrics_state=metrics_state(metrics),
            kinds=cluster.kinds, forbidden=tuple(sorted(k for k, s in cluster.kinds.items() if s.forbidden)),
            readonly=True, insecure=cluster.cluster.insecure, loaded=True,
        )
        self._last_status = status
        return build_frame(cluster, metrics, cluster.taken_at, status)

    def progress(self) -> FeedStatus:
        return self._last_status

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.recording.close()


class RecordingFeed:
    """Hands out `inner`'s frames unchanged and appends each to `recording`. A write failure (disk
    full, file removed) stops recording and shows in the status line; the dashboard keeps going."""

    def __init__(self, inner: Feed, recording: Recording):
        self.inner = inner
        self.recording = recording
        self.error = ""
        self.frames_written = 0

    def next_frame(self, timeout: float) -> Frame | None:
        frame = self.inner.next_frame(timeout)
        if frame is not None and not self.error:
            cluster = frame.cluster
            now = getattr(frame.analysis, "now", 0.0) or 0.0
            if now > cluster.taken_at:  # a live store's snapshot is cached until a change: the frame's time is `now`
                cluster = replace(cluster, taken_at=now)
            try:
                self.recording.append(cluster, frame.metrics)
                self.frames_written += 1
            except UserError as e:
                self.error = f"recording stopped: {e}"
        if frame is not None and self.error:
            frame = replace(frame, status=replace(frame.status, api_error=self.error))
        return frame

    def progress(self) -> FeedStatus:
        st = self.inner.progress()
        return replace(st, api_error=self.error) if self.error and not st.api_error else st

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.recording.close()

    def __getattr__(self, name: str):  # conn, store, ... of the wrapped feed
        return getattr(self.inner, name)


def add_record_args(group) -> None:
    """--record FILE / --record-retention for the dashboard commands (tui, demo)."""
    group.add_argument("--record", metavar="FILE",
                       help="also record every refresh into FILE (replay: kubewatch-ml replay FILE)")
    group.add_argument("--record-retention", default="1000", metavar="LIMITS",
                       help="with --record: N frames, a duration (24h) and/or a size (500MB), comma-separated "
                            "(default 1000 frames, 2GB cap)")


def record_if_asked(feed: Feed, args) -> Feed:
    """`feed` wrapped in a RecordingFeed when --record was given; on a bad path or retention the
    feed is closed and the one-line UserError raised (nothing half-started)."""
    path = getattr(args, "record", None)
    if not path:
        return feed
    from .recording import parse_retention

    try:
        return RecordingFeed(feed, Recording.create(path, parse_retention(getattr(args, "record_retention", "1000"))))
    except BaseException:
        feed.close()
        raise
