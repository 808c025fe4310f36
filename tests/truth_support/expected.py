"""What the services must answer, recomputed from the generator's truth, the topology and
the published tariff card only (never from tracker or tariff code); and the services'
answers as comparable rows."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from corridor.journeys import Truth
from corridor.journeys.truth import TEU
from corridor.topology import Topology
from corridor.v1 import shipments_pb2

CENTS = Decimal("0.01")
Body = dict[str, Any]


def moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def from_proto(stamp: Timestamp, present: bool = True) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present else None


def expected_sections(truth: Truth) -> list[tuple[Any, ...]]:
    return [(s.country, s.entered_at, s.exited_at, s.transit_seconds) for s in truth.sections]


def expected_dwells(truth: Truth) -> list[tuple[Any, ...]]:
    return [(d.node, d.kind, d.arrived_at, d.departed_at, d.seconds) for d in truth.dwells]


def shown_sections(body: Body) -> list[tuple[Any, ...]]:
    """The sections of ``GET /v1/shipments/{id}`` as rows."""
    return [
        (s["country"], moment(s["entered_at"]), moment(s["exited_at"]), s["transit_seconds"])
        for s in body.get("sections", ())
    ]


def shown_dwells(body: Body) -> list[tuple[Any, ...]]:
    """The dwells of ``GET /v1/shipments/{id}`` as rows."""
    rows = []
    for d in body.get("dwells", ()):
        arrived, departed = moment(d["arrived_at"]), moment(d["departed_at"])
        rows.append((d["node"], d["kind"], arrived, departed, d["dwell_seconds"]))
    return rows


def published_sections(state: shipments_pb2.ShipmentState) -> list[tuple[Any, ...]]:
    """A published state's sections as ``expected_sections`` gives them."""
    return [
        (
            s.country,
            from_proto(s.entered_at),
            from_proto(s.exited_at, s.HasField("exited_at")),
            s.transit_seconds,
        )
        for s in state.sections
    ]


def published_dwells(state: shipments_pb2.ShipmentState) -> list[tuple[Any, ...]]:
    """A published state's dwells (node, arrived, departed, seconds)."""
    return [
        (
            d.node,
            from_proto(d.arrived_at),
            from_proto(d.departed_at, d.HasField("departed_at")),
            d.dwell_seconds,
        )
        for d in state.dwells
    ]


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile with linear interpolation between closest ranks (docs/tracker.md)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def expected_corridor(
    truths: list[Truth], as_of: datetime, window: timedelta, topology: Topology
) -> dict[str, Any]:
    """``GET /v1/corridor`` recomputed from the truth (all shipments of a fresh database)."""
    by_status = dict.fromkeys(("BOOKED", "IN_TRANSIT", "HELD", "DELIVERED"), 0)
    by_node: dict[str, int] = {}
    closed: dict[str, list[tuple[int, float, float]]] = {}
    for truth in truths:
        by_status[truth.status] += 1
        if not truth.delivered:
            by_node[truth.current_location] = by_node.get(truth.current_location, 0) + 1
        for s in truth.sections:
            if s.exited_at is not None and s.exited_at >= as_of - window:
                row = (s.transit_seconds, truth.gross_weight_kg, TEU[truth.container_type])
                closed.setdefault(s.country, []).append(row)
    sections = {}
    for country, rows in closed.items():
        transits = [float(r[0]) for r in rows]
        hours = topology.section_targets.get(country)
        target = None if hours is None else int(hours * 3600)
        sections[country] = {
            "shipments": len(rows),
            "median_transit_seconds": percentile(transits, 0.5),
            "p90_transit_seconds": percentile(transits, 0.9),
            "target_seconds": target,
            "met_target": None if target is None else sum(t <= target for t in transits),
            "tonnes": round(sum(r[1] for r in rows) / 1000, 3),
            "teu": sum(r[2] for r in rows),
        }
    return {
        "shipments_by_status": by_status,
        "shipments_by_node": dict(sorted(by_node.items())),
        "sections": sections,
    }


def expected_through(
    truths: list[Truth], as_of: datetime, window: timedelta, topology: Topology
) -> dict[tuple[str, str], Body]:
    """Through transit (first movement to delivery) per (origin country, destination) of
    the journeys delivered in the window, against the published bands (a journey meets a
    band when it took at most its upper end)."""
    grouped: dict[tuple[str, str], list[float]] = {}
    for truth in truths:
        if truth.delivered_at is not None and truth.delivered_at >= as_of - window:
            first = truth.sections[0]
            seconds = (truth.delivered_at - first.entered_at).total_seconds()
            grouped.setdefault((first.country, truth.destination), []).append(seconds)
    return {
        key: {
            "shipments": len(seconds),
            "median_transit_seconds": percentile(seconds, 0.5),
            "p90_transit_seconds": percentile(seconds, 0.9),
            "met": {
                name: sum(s <= high * 86_400 for s in seconds)
                for name, (_, high) in topology.through_targets.items()
            },
        }
        for key, seconds in grouped.items()
    }


def storage_terms(
    card: Mapping[str, Any], code: str, topology: Topology
) -> tuple[int, Mapping[str, str]] | None:
    """(free days, per-day rate of the unit) at a node under a published card; ``None``
    where storage is not charged (hubs). A node that is both port and border is a port."""
    storage = card["surcharges"].get("storage")
    if storage is None:
        return None
    node = topology.node(code)
    kind = "port" if node.is_port else "border" if node.is_border else None
    override = storage["nodes"].get(code) or {}
    if kind is None and not override:
        return None
    free = storage["free_days"][kind] if kind is not None else 0
    if override.get("free_days") is not None:
        free = override["free_days"]
    per_day = override.get("per_day") or storage["per_day"]
    return free, per_day


def expected_storage(
    truth: Truth, card: Mapping[str, Any], topology: Topology
) -> list[tuple[str, str, int, Decimal]]:
    """(node, operator, chargeable days, amount) per node, in the order of the journey."""

    def free_days(dwell: Any) -> int | None:
        terms = storage_terms(card, dwell.node, topology)
        return None if terms is None else terms[0]

    unit = truth.container_type
    quantity = Decimal(str(truth.gross_weight_kg)) / 1000 if unit == "WAGON" else Decimal(1)
    result = []
    for code, days in truth.chargeable_days(free_days).items():
        terms = storage_terms(card, code, topology)
        assert terms is not None
        amount = (Decimal(terms[1][unit]) * quantity * days).quantize(CENTS, ROUND_HALF_UP)
        result.append((code, topology.node(code).operator, days, amount))
    return result
