"""Registers the metrics fixtures; the helpers live in metrics_support.py."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from metrics_support import exporters, fault_proxy, prom_env, world  # noqa: E402,F401  (fixtures)
