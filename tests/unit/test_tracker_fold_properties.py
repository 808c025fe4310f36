"""Properties of the fold over random journeys: advancing a stored view equals folding
everything, arrival order and copies do not matter, a view survives its stored form."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from services.tracker.db import viewcodec
from services.tracker.domain import advance, fold, unique_in_order
from tests.unit.test_tracker_samples import RULES, journey_events


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(0, 40))
def test_advancing_a_stored_view_equals_folding_everything(seed: int, cut: int) -> None:
    events = unique_in_order(journey_events(seed, f"P{seed}"))
    prefix, suffix = events[:cut], events[cut:]
    stored = viewcodec.from_dict(viewcodec.to_dict(fold(f"P{seed}", prefix, RULES)))
    assert advance(stored, suffix, RULES) == fold(f"P{seed}", events, RULES)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), shuffle=st.randoms(use_true_random=False))
def test_the_fold_does_not_depend_on_arrival_order_or_copies(
    seed: int, shuffle: random.Random
) -> None:
    events = journey_events(seed, f"P{seed}")
    scrambled = events + shuffle.sample(events, k=len(events) // 3)
    shuffle.shuffle(scrambled)
    assert fold(f"P{seed}", scrambled, RULES) == fold(f"P{seed}", events, RULES)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(0, 40))
def test_a_view_survives_its_json_form(seed: int, cut: int) -> None:
    view = fold(f"P{seed}", journey_events(seed, f"P{seed}")[:cut], RULES)
    assert viewcodec.from_json(viewcodec.to_json(view)) == view
