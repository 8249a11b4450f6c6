"""Undo stack for this session: label, taint and cordon changes, newest first.

An entry keeps how to build the inverse plan, not the plan itself: the inverse is computed from
a fresh read when the user asks, so it carries the current resourceVersion and its own dry run.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from kubewatch_ml.actions.plan import ActionPlan

UNDOABLE = frozenset({"cordon", "uncordon", "label", "taint"})


@dataclass(frozen=True)
class UndoEntry:
    title: str  # what was done, e.g. "label node/gpu-3"
    build: Callable[[], ActionPlan]


class UndoStack:
    def __init__(self, limit: int = 50):
        self._items: list[UndoEntry] = []
        self._limit = limit
        self._lock = threading.Lock()

    def push(self, plan: ActionPlan) -> bool:
        if plan.action not in UNDOABLE or plan.inverse is None or (plan.no_op and not plan.extra.get("partial")):
            return False
        with self._lock:
            self._items.append(UndoEntry(plan.title, plan.inverse))
            del self._items[:-self._limit]
        return True

    def peek(self) -> UndoEntry | None:
        with self._lock:
            return self._items[-1] if self._items else None

    def pop(self) -> UndoEntry | None:
        with self._lock:
            return self._items.pop() if self._items else None

    def __len__(self) -> int:
        return len(self._items)
