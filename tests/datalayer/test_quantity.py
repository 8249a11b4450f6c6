import pytest

from kubewatch_ml.quantity import (
    QuantityError, cpu_millicores, format_bytes, format_millicores, parse_quantity, quantity_for_key, to_int,
)


@pytest.mark.parametrize("text,milli", [
    ("100m", 100), ("1", 1000), ("1.5", 1500), ("0.25", 250), ("2", 2000), ("1e3", 1_000_000),
    ("1n", 1), ("250u", 1), ("1500000u", 1500), ("95500m", 95500), ("1k", 1_000_000), ("0", 0),
])
def test_cpu_millicores(text, milli):
    assert cpu_millicores(text) == milli


@pytest.mark.parametrize("text,value", [
    ("2Gi", 2 * 1024**3), ("64Ki", 65536), ("500M", 500_000_000), ("1e3", 1000), ("1E3", 1000),
    ("128974848", 128974848), ("129e6", 129_000_000), ("123Mi", 123 * 1024**2), ("0.5Gi", 512 * 1024**2),
    ("1Ti", 1 << 40), ("1E", 10**18), ("1Ei", 1 << 60), ("12k", 12000), ("1.5", 2), ("8", 8), ("100m", 1),
])
def test_to_int(text, value):
    assert to_int(text) == value


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3", "Gi", "1x", "--1", "1e", "e3"])
def test_rejects_garbage(bad):
    with pytest.raises(QuantityError):
        parse_quantity(bad)


def test_key_decides_the_unit():
    assert quantity_for_key("requests.cpu", "1500m") == 1500
    assert quantity_for_key("limits.cpu", "2") == 2000
    assert quantity_for_key("requests.memory", "1Gi") == 1 << 30
    assert quantity_for_key("requests.nvidia.com/gpu", "4") == 4
    assert quantity_for_key("count/jobs.batch", "50") == 50


def test_formatting_round_trips_common_values():
    assert format_millicores(1500) == "1500m" and format_millicores(2000) == "2"
    assert format_bytes(2 * 1024**3) == "2Gi" and format_bytes(1536 * 1024**2) == "1536Mi"
    assert to_int(format_bytes(3 << 30)) == 3 << 30
