"""The rows derived from views: closed sections, segment runs, closed dwells, the events
set aside, the access scopes.

They are a function of each shipment's view, kept in step in the same transaction: the rows
that are new or differ are upserted, those that no longer exist deleted. The fold keeps
unchanged items as the same objects, so comparing an old view with its successor is mostly
identity checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table

from corridor.access import access_scopes
from corridor.bulk import Upsert, columns_of
from corridor.parties import TrustRules
from corridor.topology import Topology
from services.tracker.db.tables import (
    node_dwells,
    section_transits,
    segment_times,
    set_aside_events,
    shipment_access,
)
from services.tracker.domain import Dwell, Section, SegmentTime, SetAside, ShipmentView, dwell_kind
from services.tracker.domain.trust import facts_of

KEY = ("shipment_id", "seq")
KEYS: dict[Table, tuple[str, ...]] = {
    section_transits: KEY,
    segment_times: KEY,
    node_dwells: KEY,
    set_aside_events: ("carrier", "event_id"),
    shipment_access: ("shipment_id", "scope"),
}


@dataclass
class DerivedRows:
    sections: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    dwells: list[dict[str, Any]] = field(default_factory=list)
    set_aside: list[dict[str, Any]] = field(default_factory=list)
    access: list[dict[str, Any]] = field(default_factory=list)
    # Keys (in the order of ``KEYS[table]``) of rows that no longer exist.
    gone: dict[Table, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {table: [] for table in KEYS}
    )

    def extend(self, other: DerivedRows) -> None:
        self.sections += other.sections
        self.segments += other.segments
        self.dwells += other.dwells
        self.set_aside += other.set_aside
        self.access += other.access
        for table, keys in other.gone.items():
            self.gone[table] += keys

    def upserts(self) -> list[Upsert]:
        updated = [
            Upsert(table, columns_of(rows), KEYS[table], update=True)
            for table, rows in (
                (section_transits, self.sections),
                (segment_times, self.segments),
                (node_dwells, self.dwells),
                (set_aside_events, self.set_aside),
            )
        ]
        return [*updated, Upsert(shipment_access, columns_of(self.access), KEYS[shipment_access])]


NOTHING = DerivedRows()  # shared: never extended, only read


def _changed(
    old: Sequence[Any] | None, new: Sequence[Any], closed: Callable[[Any], bool], every: bool
) -> tuple[list[int], list[int]]:
    """Indexes of closed items that are new or differ (all of them when ``every``), and of
    closed items that are gone. Items the fold left alone are the same objects, so the
    common prefix is skipped by identity."""
    if old is not None and not every and old == new:
        return [], []  # the same items (compared as objects first, in C: fast)
    before = old or ()
    start = 0
    if not every:
        shortest = min(len(before), len(new))
        while start < shortest and before[start] is new[start]:
            start += 1
    changed = [
        i
        for i in range(start, len(new))
        if closed(new[i])
        and (every or i >= len(before) or not (before[i] == new[i] and closed(before[i])))
    ]
    gone = [
        i
        for i in range(start, len(before))
        if closed(before[i]) and (i >= len(new) or not closed(new[i]))
    ]
    return changed, gone


def _section_closed(s: Section) -> bool:
    return s.exited_at is not None


def _dwell_closed(d: Dwell) -> bool:
    return d.departed_at is not None


def _always(_: object) -> bool:
    return True


def derived_rows(
    changes: Sequence[tuple[ShipmentView | None, ShipmentView]], rules: TrustRules
) -> DerivedRows:
    """The rows to write for these changes (most often none at all)."""
    topology = rules.topology
    if len(changes) == 1:
        old, new = changes[0]
        if (
            old is not None
            and old.booking is new.booking
            and old.set_aside is new.set_aside
            and old.booker == new.booker
            and old.sections == new.sections
            and old.segments == new.segments
            and old.dwells == new.dwells
        ):
            return NOTHING  # nothing closed, nothing changed: the common case
    out = DerivedRows()
    for old, new in changes:
        _set_aside_rows(out, old, new)
        _access_rows(out, old, new, rules)
    for old, new in sorted(changes, key=lambda change: change[1].shipment_id):
        rebooked = old is not None and old.booking != new.booking  # weight and TEU changed
        for kind in _KINDS:
            items = kind.items(new)
            changed, gone = _changed(
                None if old is None else kind.items(old),
                items,
                kind.closed,
                rebooked and kind.weighed,
            )
            rows = kind.rows(out)
            for i in changed:
                rows.append(
                    {"shipment_id": new.shipment_id, "seq": i, **kind.row(new, items[i], topology)}
                )
            out.gone[kind.table] += [(new.shipment_id, i) for i in gone]
    return out


@dataclass(frozen=True)
class _Kind:
    """One list of a view kept as rows keyed ``(shipment_id, seq)``: which items are
    written (``closed``), and whether a new booking rewrites them all (``weighed``: they
    carry its weight and TEU)."""

    table: Table
    items: Callable[[ShipmentView], Sequence[Any]]
    closed: Callable[[Any], bool]
    weighed: bool
    rows: Callable[[DerivedRows], list[dict[str, Any]]]
    row: Callable[[ShipmentView, Any, Topology], dict[str, Any]]


def _section_row(view: ShipmentView, s: Section, _: Topology) -> dict[str, Any]:
    return {
        "country": s.country,
        "entered_at": s.entered_at,
        "exited_at": s.exited_at,
        "transit_seconds": s.transit_seconds,
        "kilograms": view.gross_weight_kg,
        "teu": view.teu,
    }


def _segment_row(_: ShipmentView, r: SegmentTime, __: Topology) -> dict[str, Any]:
    return {
        "origin": r.origin,
        "destination": r.destination,
        "departed_at": r.departed_at,
        "arrived_at": r.arrived_at,
        "seconds": r.seconds,
    }


def _dwell_row(_: ShipmentView, d: Dwell, topology: Topology) -> dict[str, Any]:
    return {
        "node": d.node,
        "kind": dwell_kind(d.node, topology),
        "arrived_at": d.arrived_at,
        "departed_at": d.departed_at,
        "seconds": d.dwell_seconds,
    }


_KINDS = (
    _Kind(
        section_transits,
        lambda v: v.sections,
        _section_closed,
        True,
        lambda o: o.sections,
        _section_row,
    ),
    _Kind(segment_times, lambda v: v.segments, _always, False, lambda o: o.segments, _segment_row),
    _Kind(node_dwells, lambda v: v.dwells, _dwell_closed, False, lambda o: o.dwells, _dwell_row),
)


def _set_aside_rows(out: DerivedRows, old: ShipmentView | None, new: ShipmentView) -> None:
    """Rows of events newly set aside (or whose outcome changed); keys no longer set aside."""
    before = () if old is None else old.set_aside
    if before == new.set_aside:
        return  # the common case: the same (mostly empty) tuple
    known = {item.key: item for item in before}
    now = {item.key for item in new.set_aside}
    for item in new.set_aside:
        if known.get(item.key) != item:
            out.set_aside.append(_set_aside_row(new.shipment_id, item))
    out.gone[set_aside_events] += [key for key in known if key not in now]


def _set_aside_row(shipment_id: str, item: SetAside) -> dict[str, Any]:
    return {
        "carrier": item.carrier,
        "event_id": item.event_id,
        "shipment_id": shipment_id,
        "event_type": item.event_type.value,
        "location": item.location,
        "occurred_at": item.occurred_at,
        "recorded_at": item.recorded_at,
        "outcome": item.outcome,
        "reason": item.reason,
        "message": item.message[:300],
    }


def _access_rows(
    out: DerivedRows, old: ShipmentView | None, new: ShipmentView, rules: TrustRules
) -> None:
    """Scopes added and removed: only when the booker or the booking changed (rare)."""
    if old is not None and old.booker == new.booker and old.booking == new.booking:
        return
    before = frozenset() if old is None else access_scopes(rules, facts_of(old))
    after = access_scopes(rules, facts_of(new))
    sid = new.shipment_id
    out.access += [{"shipment_id": sid, "scope": scope} for scope in sorted(after - before)]
    out.gone[shipment_access] += [(sid, scope) for scope in sorted(before - after)]
