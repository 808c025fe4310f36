"""The stored view's JSON: what the encoder remembers never changes what it writes."""

from __future__ import annotations

import random

from services.tracker.db.viewcodec import ViewEncoder, from_json, to_json
from services.tracker.domain import ShipmentView, advance, fold
from tests.unit.test_tracker_samples import RULES, journey_events


def test_remembered_lists_give_the_same_text_as_a_fresh_encoding() -> None:
    """Views advanced event by event, interleaved over shipments, some re-folded (late
    news): each encoding equals the plain one and reads back as the view."""
    rng = random.Random(3)
    journeys = [journey_events(seed, f"V-{seed}") for seed in range(20, 26)]
    encoder = ViewEncoder(size=3)  # smaller than the shipments: some are forgotten
    views: dict[str, ShipmentView] = {}
    steps = [(events[0].shipment_id, e) for events in journeys for e in events]
    rng.shuffle(steps)
    steps.sort(key=lambda step: step[1].occurred_at)
    for shipment_id, event in steps:
        old = views.get(shipment_id)
        if old is None or rng.random() < 0.1:
            done = [
                e for sid, e in steps if sid == shipment_id and e.occurred_at <= event.occurred_at
            ]
            view = fold(shipment_id, done, RULES)
        else:
            view = advance(old, [event], RULES)
        views[shipment_id] = view
        text = encoder.encode(view)
        assert text == to_json(view)
        assert from_json(text) == view
