import random
from collections import Counter
from datetime import UTC, datetime

from corridor.journeys import plan_journey, scramble
from corridor.topology import load_topology

START = datetime(2026, 10, 1, tzinfo=UTC)


def test_a_journey_starts_booked_and_ends_delivered_in_time_order() -> None:
    topology = load_topology()
    for seed in range(30):
        posts = plan_journey(random.Random(seed), topology, START, f"SHP-{seed}")
        actual = [p for p in posts if p.body.get("classifier", "ACT") == "ACT"]
        assert actual[0].body["event_type"] == "BOOKED"
        assert actual[-1].body["event_type"] == "DELIVERED"
        times = [p.occurred_at for p in posts]
        assert times == sorted(times)
        assert len({p.event_id for p in posts}) == len(posts)


def test_a_journey_crosses_the_caspian_and_holds_are_released() -> None:
    topology = load_topology()
    for seed in range(30):
        posts = plan_journey(random.Random(seed), topology, START, f"SHP-{seed}")
        assert any(p.body.get("mode") == "VESSEL" for p in posts)
        types = Counter(p.body["event_type"] for p in posts)
        assert types["CUSTOMS_HOLD"] == types["CUSTOMS_RELEASED"]


def test_scramble_keeps_every_post_and_only_adds_duplicates() -> None:
    rng = random.Random(3)
    posts = plan_journey(rng, load_topology(), START, "SHP-X")
    scrambled = scramble(rng, posts, duplicate_rate=0.3, late_rate=0.3)
    assert {p.event_id for p in scrambled} == {p.event_id for p in posts}
    assert len(scrambled) >= len(posts)
    assert [p.event_id for p in scrambled] != [p.event_id for p in posts]
