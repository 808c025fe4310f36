"""The consumer loop's back-off: exponential, capped, jittered, reset after success."""

from __future__ import annotations

import pytest

from corridor.kafka import Backoff


def test_delays_double_up_to_the_cap_without_jitter() -> None:
    backoff = Backoff(base=0.2, cap=5.0, jitter=0.0)
    assert [backoff.next() for _ in range(7)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]


def test_jitter_takes_off_at_most_its_share_of_the_delay() -> None:
    draws = iter([0.0, 1.0, 0.5])
    backoff = Backoff(base=1.0, cap=10.0, jitter=0.5, uniform=lambda: next(draws))
    assert [backoff.next() for _ in range(3)] == [1.0, 1.0, 3.0]


def test_the_delay_stays_bounded_however_many_attempts_failed() -> None:
    backoff = Backoff(base=0.1, cap=2.0)
    delays = [backoff.next() for _ in range(10_000)]
    assert max(delays) <= 2.0
    assert min(delays) > 0


def test_reset_starts_again_from_the_base() -> None:
    backoff = Backoff(base=0.5, cap=8.0, jitter=0.0)
    for _ in range(5):
        backoff.next()
    backoff.reset()
    assert backoff.next() == 0.5


@pytest.mark.parametrize(
    ("base", "cap", "jitter"), [(0.0, 1.0, 0.5), (2.0, 1.0, 0.5), (0.1, 1.0, 1.5)]
)
def test_nonsense_parameters_are_refused(base: float, cap: float, jitter: float) -> None:
    with pytest.raises(ValueError, match="base"):
        Backoff(base=base, cap=cap, jitter=jitter)
