"""A lowered GIL switch interval while pages are fetched beside a decoding thread.

At the default 5 ms the TLS reader, which re-acquires the GIL for every record it reads, waits behind the
decoder (a convoy that made the overlapped list slower than a sequential one); at ~1 ms it does not.
The interval is process-wide, so this is careful not to undo what anyone else set meanwhile:
- it lowers only an interval above its own, and sets a value nobody else uses (999 us, not the 1 ms a
  UI sets), so when the last list ends it can tell whether the value is still its own;
- it restores the saved interval only if the current one is still its own; anything else was set by
  another caller while the lists ran, and is left alone;
- a caller that owns the interval passes `switch_interval=None` to the store and nothing is touched.
"""
from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Iterator

LIST_SWITCH_INTERVAL_S = 0.000999

_lock = threading.Lock()
_users = 0
_saved: float | None = None  # what we found, when we lowered it
_ours: float | None = None  # what getswitchinterval() read back after we set it


@contextmanager
def lowered_switch_interval(value: float | None = LIST_SWITCH_INTERVAL_S) -> Iterator[None]:
    """Hold the switch interval at `value` or lower for the block (None: leave it alone)."""
    global _users, _saved, _ours
    if value is None:
        yield
        return
    with _lock:
        if _users == 0:
            _saved = _ours = None
            current = sys.getswitchinterval()
            if current > value:
                sys.setswitchinterval(value)
                _saved, _ours = current, sys.getswitchinterval()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                if _ours is not None and sys.getswitchinterval() == _ours:
                    sys.setswitchinterval(_saved)
                _saved = _ours = None
