"""`replay`: the real dashboard on a recording, driven with the replay keys through the Pilot."""
import asyncio

from kubewatch_ml.recording import Recording
from kubewatch_ml.replay_feed import ReplayFeed
from kubewatch_ml.screens.replay_keys import ReplayApp

from .conftest import T0, sample_cluster, sample_metrics


async def _until(pilot, cond, steps=200):
    for _ in range(steps):
        if cond():
            return True
        await pilot.pause(0.05)
    return False


def test_replay_keys_pause_step_and_seek(tmp_path):
    path = tmp_path / "rec.db"
    with Recording.create(path) as rec:
        for i in range(5):
            rec.append(sample_cluster(T0 + 60 * i, replicas=2 + i), sample_metrics(T0 + 60 * i))

    async def scenario():
        feed = ReplayFeed(Recording.open(path), playing=False)
        app = ReplayApp(feed, clock=lambda: T0)
        shown = lambda: app.main_screen.latest.frame.taken_at if app.main_screen and app.main_screen.latest else None
        async with app.run_test(size=(140, 40)) as pilot:
            assert await _until(pilot, lambda: shown() == T0)
            await pilot.press("full_stop")
            await pilot.press("full_stop")
            assert await _until(pilot, lambda: shown() == T0 + 120)
            await pilot.press("comma")
            assert await _until(pilot, lambda: shown() == T0 + 60)
            await pilot.press("right_curly_bracket")
            assert await _until(pilot, lambda: shown() == T0 + 240)
            replicas = app.main_screen.latest.frame.cluster.workloads[("Deployment", "team-nlp", "serve")].replicas
            assert replicas == 6
            await pilot.press("left_curly_bracket")
            assert await _until(pilot, lambda: shown() == T0)
            # [ ] are previous/next view here too (as the key table says); < > step ten frames
            assert app.active_view == "overview"
            await pilot.press("right_square_bracket")
            await pilot.pause()
            assert app.active_view == "quotas" and shown() == T0
            await pilot.press("left_square_bracket")
            await pilot.pause()
            assert app.active_view == "overview" and shown() == T0
            await pilot.press("greater_than_sign")
            assert await _until(pilot, lambda: shown() == T0 + 240)  # clamped to the last of 5 frames
            await pilot.press("less_than_sign")
            assert await _until(pilot, lambda: shown() == T0)
            assert "frame 1/5" in app.status_extra and "paused" in app.status_extra
            await pilot.press("at")  # seek to a time typed by the user
            await pilot.pause()
            for ch in "+2m":
                await pilot.press(ch)
            await pilot.press("enter")
            assert await _until(pilot, lambda: shown() == T0 + 120)
            await pilot.press("p")
            assert feed.playing and "playing" in feed.describe()
            await pilot.press("p")
            assert not feed.playing
            await pilot.press("q")

    asyncio.run(scenario())
