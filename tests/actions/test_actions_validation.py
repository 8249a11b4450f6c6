import pytest

from kubewatch_ml.actions.validation import (
    InvalidInput, TaintSpec, check_label, parse_label_changes, parse_replicas, parse_taint_changes,
)


@pytest.mark.parametrize("key", ["pool", "team", "nvidia.com/gpu.product", "a.b-c/x_y.z", "A9",
                                 "node-role.kubernetes.io/gpu",
                                 "node.kubernetes.io/exclude-from-external-load-balancers",
                                 "x" * 63, ("a" * 253) + "/n"])
def test_valid_label_keys(key):
    check_label(key, "v")


@pytest.mark.parametrize("key,why", [
    ("", "empty"), ("-pool", "start and end"), ("pool_", "start and end"), ("x" * 64, "at most 63"),
    ("Nvidia.com/gpu", "DNS subdomain"), ("a/b/c", "more than one"), ("/x", "empty prefix"),
    ("nvidia.com/", "empty name"), (("a" * 254) + "/n", "at most 253"), ("po ol", "letters, digits"),
    ("kubernetes.io/hostname", "reserved kubernetes.io/"), ("topology.kubernetes.io/zone", "reserved"),
    ("foo.k8s.io/bar", "reserved k8s.io/"),
])
def test_invalid_label_keys_explain(key, why):
    with pytest.raises(InvalidInput, match=why.replace("/", "/")):
        check_label(key, "v")


@pytest.mark.parametrize("value", ["", "a100", "A100-SXM4-80GB", "x" * 63, "1.2_3"])
def test_valid_label_values(value):
    check_label("pool", value)


@pytest.mark.parametrize("value", ["-a", "a-", "x" * 64, "a b", "a/b", "é"])
def test_invalid_label_values(value):
    with pytest.raises(InvalidInput, match="label value"):
        check_label("pool", value)


def test_reserved_label_cannot_be_removed_either():
    with pytest.raises(InvalidInput, match="reserved"):
        parse_label_changes("kubernetes.io/hostname-")


def test_parse_label_changes():
    assert parse_label_changes("pool=a100 team=ml old-") == {"pool": "a100", "team": "ml", "old": None}
    assert parse_label_changes("empty=") == {"empty": ""}
    with pytest.raises(InvalidInput, match="key=value"):
        parse_label_changes("pool")
    with pytest.raises(InvalidInput, match="no label change"):
        parse_label_changes("   ")


def test_parse_taints():
    adds, removes = parse_taint_changes("nvidia.com/gpu=present:NoSchedule dedicated:NoExecute old- x:PreferNoSchedule-")
    assert adds == [TaintSpec("nvidia.com/gpu", "present", "NoSchedule"), TaintSpec("dedicated", "", "NoExecute")]
    assert removes == [("old", None), ("x", "PreferNoSchedule")]
    assert str(adds[0]) == "nvidia.com/gpu=present:NoSchedule" and str(adds[1]) == "dedicated:NoExecute"
    with pytest.raises(InvalidInput, match="effect 'NoWay'"):
        parse_taint_changes("a=b:NoWay")
    with pytest.raises(InvalidInput, match="reserved"):
        parse_taint_changes("node.kubernetes.io/unschedulable:NoSchedule")
    assert parse_taint_changes("node.kubernetes.io/out-of-service=nodeshutdown:NoExecute")[0][0].key == \
        "node.kubernetes.io/out-of-service"


@pytest.mark.parametrize("text,n", [("0", 0), ("3", 3), (" 12 ", 12), (1000, 1000), ("+4", 4)])
def test_replicas_ok(text, n):
    assert parse_replicas(text) == n


@pytest.mark.parametrize("text,why", [("-1", "negative"), ("2.5", "whole number"), ("abc", "whole number"),
                                      ("", "whole number"), ("1001", "safety cap of 1000"),
                                      ("99999999", "cap"), (True, "whole number")])
def test_replicas_rejected_with_reason(text, why):
    with pytest.raises(InvalidInput, match=why):
        parse_replicas(text, current=3)


def test_replica_cap_is_configurable_and_mentions_current():
    with pytest.raises(InvalidInput, match=r"now 3"):
        parse_replicas("11", current=3, cap=10)
    assert parse_replicas("10", cap=10) == 10
