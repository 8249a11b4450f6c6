import pytest

from kubewatch_ml.sim import scenario as scenario_mod
from kubewatch_ml.sim.cluster import SimCluster

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, so two builds are comparable


@pytest.fixture(scope="session")
def scn():
    """The default scenario, built once (tests only read it)."""
    return scenario_mod.build(seed=7, nodes=40, pods=600, start=START)


@pytest.fixture
def sim(tmp_path):
    """Store + dynamics of the default cluster, no HTTP servers; the clock moves only by advance()."""
    with SimCluster(seed=7, nodes=40, pods=600, start_clock=False, workdir=str(tmp_path), start=START,
                    serve=False) as c:
        yield c
