"""Fixtures of the fault-matrix tests; helpers live in faults_support.py."""
from __future__ import annotations

import pytest

from faults_support import fast_retries, start_sim


@pytest.fixture
def sim(tmp_path):
    s = start_sim(tmp_path)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def fast(monkeypatch):
    fast_retries(monkeypatch)
