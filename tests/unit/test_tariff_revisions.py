"""Revisions of a charge, pure: a new revision only when what is billed changes, with the
difference to the previous total; one CloudEvent id per revision; and how a batch's copies
of one event are told apart (retry, conflicting duplicate, fresh)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.tariff import intake
from services.tariff.events import ShipmentEvent
from services.tariff.outbox import revision_event_id
from services.tariff.revisions import next_revision, share_changes, substance

AT = datetime(2026, 12, 1, tzinfo=UTC)


def document(total: str = "100.00", **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "charge_id": "c-1",
        "shipment_id": "S-1",
        "currency": "USD",
        "booked_at": "2026-11-01T00:00:00Z",
        "delivered_at": "2026-11-20T00:00:00Z",
        "computed_at": "2026-11-20T01:00:00Z",
        "surcharges": [],
        "total": total,
        "apportionment": [{"operator": "KTZ", "amount": total}],
    }
    return {**doc, **changes}


def test_the_first_revision_is_1_and_its_difference_is_its_total() -> None:
    first = next_revision(None, document())
    assert first is not None
    assert (first["revision"], first["difference"]) == (1, "100.00")


def test_the_same_facts_recomputed_later_make_no_revision() -> None:
    first = next_revision(None, document())
    assert first is not None
    again = document(computed_at="2026-12-24T00:00:00Z", booked_at="2026-11-01T02:00:00Z")
    assert next_revision(first, again) is None


def test_storage_found_later_is_the_next_revision_with_the_difference() -> None:
    first = next_revision(None, document())
    assert first is not None
    storage = [{"kind": "storage", "node": "KZAAU", "operator": "PORT-AKTAU", "amount": "54.00"}]
    second = next_revision(first, document("154.00", surcharges=storage))
    assert second is not None
    assert (second["revision"], second["difference"], second["charge_id"]) == (2, "54.00", "c-1")
    third = next_revision(second, document("100.00"))  # e.g. a correction lowers it again
    assert third is not None
    assert (third["revision"], third["difference"]) == (3, "-54.00")


def test_a_charge_stored_before_revisions_counts_as_revision_1() -> None:
    second = next_revision(document(), document("90.00"))
    assert second is not None
    assert (second["revision"], second["difference"]) == (2, "-10.00")
    assert substance(document()) == substance({**document(), "revision": 1, "difference": "1"})


def test_a_later_delivery_time_alone_is_a_new_revision() -> None:
    first = next_revision(None, document())
    later = next_revision(first, document(delivered_at="2026-11-19T00:00:00Z"))
    assert later is not None
    assert (later["revision"], later["difference"]) == (2, "0.00")


def test_share_changes_are_per_operator() -> None:
    before = document("100.00")
    after = document(
        "154.00",
        apportionment=[
            {"operator": "KTZ", "amount": "100.00"},
            {"operator": "PORT-AKTAU", "amount": "54.00"},
        ],
    )
    assert share_changes(None, before) == {"KTZ": Decimal("100.00")}
    assert share_changes(before, after) == {"PORT-AKTAU": Decimal("54.00")}
    assert share_changes(after, before) == {"PORT-AKTAU": Decimal("-54.00")}


def test_each_revision_has_its_own_cloudevent_id_and_the_first_keeps_the_charge_id() -> None:
    assert revision_event_id("c-1", 1) == "c-1"
    assert revision_event_id("c-1", 2) == "c-1:2"


def event(event_id: str, digest: str, carrier: str = "ktz") -> ShipmentEvent:
    return ShipmentEvent(carrier, event_id, "S-1", "ARRIVED", True, "KZAAU", AT, digest=digest)


def test_copies_in_a_batch_are_judged_against_what_was_known_before_it() -> None:
    events = [event("a", "1"), event("a", "1"), event("a", "2"), event("b", "9"), event("b", "1")]
    batch = intake.copies(events)
    assert intake.seen_rows(batch) == [
        {"carrier": "ktz", "event_id": "a", "digest": "1"},
        {"carrier": "ktz", "event_id": "b", "digest": "9"},
    ]
    # "a" is new: its first copy is fresh, the same again a retry, other content refused.
    # "b" was stored with digest "1": the copy with "9" is refused, the one with "1" a retry.
    fresh, rejections = intake.sort_out(batch, {("ktz", "a")}, {("ktz", "b"): "1"})
    assert [index for index, _ in fresh] == [0]
    assert [r.index for r in rejections] == [2, 3]
    assert all(r.reason.startswith("conflicting duplicate: ktz reused") for r in rejections)
