import sqlite3

import pytest

from kubewatch_ml.errors import UserError
from kubewatch_ml.recording import (
    Recording,
    Retention,
    decode_cluster,
    decode_metrics,
    encode_cluster,
    encode_metrics,
    parse_at,
    parse_retention,
)

from .conftest import T0, sample_cluster, sample_metrics


def test_cluster_and_metrics_round_trip_exactly(cluster, metrics):
    back = decode_cluster(encode_cluster(cluster))
    assert back.cluster == cluster.cluster
    assert dict(back.nodes) == dict(cluster.nodes)
    assert dict(back.pods) == dict(cluster.pods)
    assert back.quotas == cluster.quotas and back.hpas == cluster.hpas
    assert dict(back.workloads) == dict(cluster.workloads)
    assert dict(back.pods_by_workload) == dict(cluster.pods_by_workload)  # indexes rebuilt
    m = decode_metrics(encode_metrics(metrics))
    assert m == metrics


def test_append_load_and_seek(tmp_path):
    path = tmp_path / "rec.db"
    with Recording.create(path) as rec:
        for i in range(5):
            rec.append(sample_cluster(T0 + 60 * i, replicas=2 + i), sample_metrics(T0 + 60 * i))
    with Recording.open(path) as rec:
        infos = rec.frames()
        assert [f.taken_at for f in infos] == [T0 + 60 * i for i in range(5)]
        assert infos[0].context == "prod-ml" and infos[0].nodes == 4
        c, m = rec.load(rec.frame_at(T0 + 150).id)  # between frames 2 and 3: the earlier one
        assert c.taken_at == T0 + 120 and c.workloads[("Deployment", "team-nlp", "serve")].replicas == 4
        assert m is not None and m.taken_at == T0 + 120
        c, _ = rec.load_at("-1m")
        assert c.taken_at == T0 + 180
        c, _ = rec.load_at("first")
        assert c.taken_at == T0


def test_retention_by_count_and_by_age(tmp_path):
    with Recording.create(tmp_path / "n.db", parse_retention("3")) as rec:
        for i in range(6):
            rec.append(sample_cluster(T0 + i))
        assert [f.taken_at for f in rec.frames()] == [T0 + 3, T0 + 4, T0 + 5]
    with Recording.create(tmp_path / "a.db", parse_retention("2m")) as rec:
        for i in range(6):
            rec.append(sample_cluster(T0 + 60 * i))
        assert [f.taken_at for f in rec.frames()] == [T0 + 180, T0 + 240, T0 + 300]


def test_retention_by_size_keeps_the_newest_frames(tmp_path):
    with Recording.create(tmp_path / "s.db", Retention(max_frames=None, max_bytes=1)) as rec:
        for i in range(4):
            rec.append(sample_cluster(T0 + i))
        assert [f.taken_at for f in rec.frames()] == [T0 + 3]  # the newest always stays
    one = len(encode_cluster(sample_cluster(T0)))
    with Recording.create(tmp_path / "s2.db", Retention(max_frames=None, max_bytes=int(one * 2.5))) as rec:
        for i in range(5):
            rec.append(sample_cluster(T0 + i))
        assert [f.taken_at for f in rec.frames()] == [T0 + 3, T0 + 4]


def test_parse_retention_combinations():
    r = parse_retention("24h,500MB")
    assert (r.max_frames, r.max_age, r.max_bytes) == (None, 86400, 500 * 10**6)
    r = parse_retention("100")
    assert (r.max_frames, r.max_age, r.max_bytes) == (100, None, 2 * 10**9)  # the size cap stays on
    assert parse_retention("7d,2GB,10").describe() == "last 10 frames, 1w, 2GB"
    with pytest.raises(UserError, match="too small"):
        parse_retention("10kB")
    with pytest.raises(UserError, match="bad retention"):
        parse_retention("24h,lots")


def test_file_stays_bounded_under_retention(tmp_path):
    def record(path, retention):
        with Recording.create(path, retention) as rec:
            for i in range(30):
                rec.append(sample_cluster(T0 + i, replicas=300), sample_metrics(T0 + i))
            kept = len(rec)
        return kept, path.stat().st_size  # closed: the WAL is checkpointed into the file

    kept, bounded = record(tmp_path / "b.db", Retention(max_frames=2))
    kept_all, unbounded = record(tmp_path / "u.db", Retention(max_frames=None))
    assert (kept, kept_all) == (2, 30)
    assert bounded * 5 < unbounded  # freed pages go back to the file system


def test_bad_inputs_are_one_line_user_errors(tmp_path):
    with pytest.raises(UserError, match="no recording"):
        Recording.open(tmp_path / "missing.db")
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite at all " * 100)
    with pytest.raises(UserError, match="not a kubewatch-ml recording"):
        Recording.open(junk)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(UserError):
        Recording.open(other)
    for foreign in (junk, other):  # never write into a file that is not a recording
        before = foreign.read_bytes()
        with pytest.raises(UserError, match="not a"):
            Recording.create(foreign)
        assert foreign.read_bytes() == before
    with pytest.raises(UserError) as e:
        Recording.create(tmp_path / "nodir" / "r.db")
    assert e.value.exit_code == 4
    with pytest.raises(UserError, match="bad retention"):
        parse_retention("5 parsecs")
    with pytest.raises(UserError, match="bad time"):
        parse_at("yesterday-ish", T0, T0 + 10)


def test_parse_at_forms():
    assert parse_at("2026-05-28T20:26:40Z", 0, 1) == T0
    assert parse_at(str(T0 + 5), 0, 1) == T0 + 5
    assert parse_at("+90s", T0, T0 + 600) == T0 + 90
    assert parse_at("-10m", T0, T0 + 900) == T0 + 300
    assert parse_at("last", T0, T0 + 900) == T0 + 900


def test_first_and_last_are_positions_even_when_frames_share_a_time(tmp_path):
    with Recording.create(tmp_path / "same.db") as rec:
        for i in range(3):
            rec.append(sample_cluster(T0, replicas=2 + i))
        first, _ = rec.load_at("first")
        last, _ = rec.load_at("last")
    assert first.workloads[("Deployment", "team-nlp", "serve")].replicas == 2
    assert last.workloads[("Deployment", "team-nlp", "serve")].replicas == 4
