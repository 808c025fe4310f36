"""Revisions of a charge: a fact that arrives after the charge was issued (a departure
reported after ``DELIVERED``, a booking amendment) and changes it makes the next revision.

Pure. A charge is recomputed from all the facts whenever one of its shipment's facts is
new; the result is a new revision only when its **substance** differs from the latest
revision's: what is billed and why (legs, surcharges, discount, totals, shares, card,
cargo, ``delivered_at``), not when it was computed (``computed_at``) nor the booking's time
(an amendment that changes nothing billed is no new bill). So the same facts recomputed,
or an event redelivered, never make a revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

# What a revision may differ in without being a new bill.
NOT_SUBSTANCE = frozenset({"computed_at", "booked_at", "revision", "difference"})


def substance(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in NOT_SUBSTANCE}


def revision_of(document: Mapping[str, Any]) -> int:
    """The revision of a stored charge document (1 for one stored before revisions)."""
    return int(document.get("revision", 1))


def next_revision(
    latest: Mapping[str, Any] | None, document: Mapping[str, Any]
) -> dict[str, Any] | None:
    """``document`` (a freshly computed ``charge_doc``) as the next revision after
    ``latest`` (the latest stored one, or ``None``), with ``revision`` and ``difference``
    (its total minus the previous revision's; the total itself for revision 1); ``None``
    when it bills the same as ``latest``."""
    if latest is None:
        return {**document, "revision": 1, "difference": document["total"]}
    if substance(latest) == substance(document):
        return None
    difference = Decimal(document["total"]) - Decimal(latest["total"])
    return {**document, "revision": revision_of(latest) + 1, "difference": str(difference)}


def share_changes(
    latest: Mapping[str, Any] | None, document: Mapping[str, Any]
) -> dict[str, Decimal]:
    """Per operator, how much its share of the revenue changed from ``latest`` to
    ``document`` (all of it for a first charge); operators whose share is unchanged are
    left out."""
    before = {} if latest is None else _shares(latest)
    after = _shares(document)
    changes = {op: after.get(op, Decimal(0)) - before.get(op, Decimal(0)) for op in before | after}
    return {op: change for op, change in changes.items() if change}


def _shares(document: Mapping[str, Any]) -> dict[str, Decimal]:
    return {s["operator"]: Decimal(s["amount"]) for s in document.get("apportionment", [])}
