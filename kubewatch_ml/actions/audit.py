"""Audit log: every action attempted, one JSON line in <state dir>/audit.jsonl.

Fields: time (UTC, ISO 8601), context, user, action, object, before, after, result, message.
Credentials never get here: nothing from the connection but the context and user names is
written, and anything that looks like a token is redacted on the way out as a second fence.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from kubewatch_ml import settings

_SECRET_KEYS = re.compile(r"token|password|secret|authorization|client-key|bearer", re.I)
_SECRET_TEXT = re.compile(r"(Bearer\s+)\S+|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", re.I)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_TEXT.sub(lambda m: (m.group(1) or "") + "<redacted>", value)
    if isinstance(value, dict):
        return {k: ("<redacted>" if _SECRET_KEYS.search(str(k)) else _scrub(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


class AuditLog:
    def __init__(self, path: str | os.PathLike | None = None, context: str = "", user: str = ""):
        self.path = Path(path) if path else settings.state_dir() / "audit.jsonl"
        self.context = context
        self.user = user
        self._lock = threading.Lock()

    def record(self, action: str, obj: Any, result: str, message: str = "",
               before: Any = None, after: Any = None, now: float | None = None) -> dict:
        """result: ok | refused | cancelled | conflict | error (or another ActionResult outcome)."""
        t = time.time() if now is None else now
        line = _scrub({
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z",
            "context": self.context, "user": self.user, "action": action,
            "object": obj if isinstance(obj, (str, list)) else str(obj),
            "before": before, "after": after, "result": result, "message": message,
        })
        data = (json.dumps(line, separators=(",", ":"), default=str) + "\n").encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)  # one write per line: concurrent sessions do not interleave
            finally:
                os.close(fd)
        return line

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(x) for x in self.path.read_text().splitlines() if x.strip()]
