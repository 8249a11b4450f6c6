import pytest

from kubewatch_ml.feed import StaticFeed
from kubewatch_ml.recording import Recording
from kubewatch_ml.replay_feed import RecordingFeed, ReplayFeed

from .conftest import T0, sample_cluster, sample_metrics


@pytest.fixture
def rec_path(tmp_path):
    path = tmp_path / "rec.db"
    with Recording.create(path) as rec:
        for i in range(4):
            rec.append(sample_cluster(T0 + 60 * i, replicas=2 + i), sample_metrics(T0 + 60 * i))
    return path


def _replicas(frame):
    return frame.cluster.workloads[("Deployment", "team-nlp", "serve")].replicas


def test_paused_replay_steps_and_seeks(rec_path):
    feed = ReplayFeed(Recording.open(rec_path), playing=False)
    try:
        f = feed.next_frame(1.0)
        assert f.taken_at == T0 and _replicas(f) == 2 and f.status.api_state == "replay"
        assert f.analysis.overview.nodes == 4  # the same analysis path as a live frame
        assert feed.next_frame(0.05) is None  # paused: nothing new
        feed.step(2)
        assert feed.next_frame(1.0).taken_at == T0 + 120
        feed.step(-1)
        assert feed.next_frame(1.0).taken_at == T0 + 60
        feed.seek_text("last")
        assert _replicas(feed.next_frame(1.0)) == 5
        feed.seek(T0 + 90)
        assert feed.next_frame(1.0).taken_at == T0 + 60
        feed.step(10)  # clamped to the end
        assert feed.position()[0] == 3
        assert "frame 4/4" in feed.describe() and "paused" in feed.describe()
    finally:
        feed.close()


def test_playing_replay_advances_in_order_and_stops_at_the_end(rec_path):
    feed = ReplayFeed(Recording.open(rec_path), speed=1000.0)
    try:
        seen = []
        for _ in range(8):
            f = feed.next_frame(3.0)
            if f is not None:
                seen.append(f.taken_at)
            if len(seen) == 4:
                break
        assert seen == [T0, T0 + 60, T0 + 120, T0 + 180]
        assert feed.next_frame(0.3) is None  # at the end, no new frames
        assert feed.toggle() is False and not feed.playing
    finally:
        feed.close()


def test_recording_feed_writes_every_frame_it_hands_out(tmp_path):
    frames = [StaticFeed.from_snapshot(sample_cluster(T0 + i), sample_metrics(T0 + i), T0 + i).next_frame(0)
              for i in range(3)]
    feed = RecordingFeed(StaticFeed(frames), Recording.create(tmp_path / "r.db"))
    got = [feed.next_frame(0.01) for _ in range(4)]
    feed.close()
    assert [f.taken_at for f in got if f] == [T0, T0 + 1, T0 + 2]
    with Recording.open(tmp_path / "r.db") as rec:
        assert [fi.taken_at for fi in rec.frames()] == [T0, T0 + 1, T0 + 2]
        cluster, metrics = rec.load(rec.frames()[1].id)
        assert metrics == sample_metrics(T0 + 1)


def test_recorded_frames_carry_the_time_they_were_analysed(tmp_path):
    # a live store hands out the same cached snapshot until something changes
    cached = sample_cluster(T0)
    frames = [StaticFeed.from_snapshot(cached, None, T0 + 5 * i).next_frame(0) for i in range(3)]
    feed = RecordingFeed(StaticFeed(frames), Recording.create(tmp_path / "r.db"))
    while feed.next_frame(0.01) is not None:
        pass
    feed.close()
    with Recording.open(tmp_path / "r.db") as rec:
        assert [fi.taken_at for fi in rec.frames()] == [T0, T0 + 5, T0 + 10]


def test_record_flag_wraps_the_dashboard_feed(tmp_path):
    import argparse

    from kubewatch_ml.cli import build_parser
    from kubewatch_ml.errors import UserError
    from kubewatch_ml.replay_feed import record_if_asked

    args = build_parser().parse_args(["tui", "--record", str(tmp_path / "t.db"), "--record-retention", "2"])
    inner = StaticFeed.from_snapshot(sample_cluster(), sample_metrics(), T0)
    feed = record_if_asked(inner, args)
    assert isinstance(feed, RecordingFeed) and feed.recording.retention.max_frames == 2
    assert feed.next_frame(0.01) is not None
    feed.close()
    assert record_if_asked(inner, argparse.Namespace(record=None)) is inner
    closed = []
    inner2 = StaticFeed([])
    inner2.close = lambda: closed.append(True)
    with pytest.raises(UserError):
        record_if_asked(inner2, argparse.Namespace(record=str(tmp_path / "no" / "t.db"), record_retention="5"))
    assert closed == [True]  # nothing left running
