"""The consumer loop's watchdog, on a fake clock: waiting without progress is first
``stalled`` (readiness) and then ``stuck`` (liveness); progress or idleness clears it."""

from __future__ import annotations

import pytest

from corridor.kafka import Progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def progress(clock: FakeClock) -> Progress:
    return Progress(ready_grace=30.0, live_grace=120.0, clock=clock)


def test_an_idle_loop_is_fine_however_long_it_idles(progress: Progress, clock: FakeClock) -> None:
    clock.now += 10_000
    assert progress.state() == "ok"
    assert progress.stalled_seconds() == 0.0


def test_records_waiting_without_progress_go_stalled_then_stuck(
    progress: Progress, clock: FakeClock
) -> None:
    progress.waiting()
    clock.now += 29.9
    assert progress.state() == "ok"
    clock.now += 0.1
    assert progress.state() == "stalled"
    clock.now += 89.9
    assert progress.state() == "stalled"
    clock.now += 0.1
    assert progress.state() == "stuck"
    assert progress.stalled_seconds() == pytest.approx(120.0)


def test_waiting_again_does_not_restart_the_grace(progress: Progress, clock: FakeClock) -> None:
    progress.waiting()
    for _ in range(4):
        clock.now += 10
        progress.waiting()  # the lag report says so every second while nothing moves
    assert progress.state() == "stalled"


def test_progress_starts_the_grace_again(progress: Progress, clock: FakeClock) -> None:
    progress.waiting()
    clock.now += 100
    assert progress.state() == "stalled"
    progress.progressed()
    assert progress.state() == "ok"
    progress.waiting()  # more records wait: a new grace from now
    clock.now += 29
    assert progress.state() == "ok"


def test_a_loop_that_catches_up_is_fine(progress: Progress, clock: FakeClock) -> None:
    progress.waiting()
    clock.now += 200
    assert progress.state() == "stuck"
    progress.idle()
    assert progress.state() == "ok"


def test_the_readiness_grace_cannot_exceed_the_liveness_grace() -> None:
    with pytest.raises(ValueError, match="grace"):
        Progress(ready_grace=200, live_grace=100)
