"""The live board of the schematic: how many shipments are at each node and on each segment,
how many of them are held, delayed or silent, and how long the cargo at a border or port
has waited against the node's reference dwell.

``board_of`` is pure; ``BoardSource`` reads the shipments not yet delivered through the
tracker's one read query (``queries.list_shipments``) and keeps the board for a few seconds,
so that every viewer polling the page costs one read per interval, not one each. The board
names no shipment: like ``GET /v1/corridor`` it is public.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from corridor.topology import Topology
from services.tracker.api.reads import Reads
from services.tracker.db import queries
from services.tracker.domain import Status, TrackedShipment
from services.tracker.web.schematic import layout_of

# Ratio of the cargo's median current dwell to the node's reference: within it, over it,
# more than twice over it.
OVER, FAR_OVER = 1.0, 2.0
PAGE = 500


@dataclass
class Tally:
    shipments: int = 0
    held: int = 0
    delayed: int = 0
    silent: int = 0
    waits: list[float] = field(default_factory=list)  # hours at the node so far

    def count(self, shipment: TrackedShipment, waited: float | None) -> None:
        self.shipments += 1
        self.held += shipment.view.status is Status.HELD
        self.delayed += shipment.delayed
        self.silent += shipment.silent
        if waited is not None:
            self.waits.append(waited)


@dataclass(frozen=True)
class NodeBoard:
    code: str
    shipments: int
    held: int
    delayed: int
    silent: int
    reference_hours: float
    dwell_hours: float | None  # median time the cargo there has waited so far
    dwell_level: str  # none, within, over, far_over

    @property
    def flagged(self) -> bool:
        return bool(self.held or self.delayed or self.silent)


@dataclass(frozen=True)
class SegmentBoard:
    key: str
    shipments: int
    delayed: int
    silent: int


@dataclass(frozen=True)
class Board:
    as_of: datetime
    nodes: dict[str, NodeBoard]
    segments: dict[str, SegmentBoard]
    counted: int
    complete: bool  # False when more shipments are in flight than the board reads

    def fingerprint(self) -> str:
        """Changes exactly when something the schematic shows changes."""
        parts = [
            f"{n.code}:{n.shipments}:{n.held}:{n.delayed}:{n.silent}:{n.dwell_level}"
            for n in self.nodes.values()
        ]
        parts += [f"{s.key}:{s.shipments}:{s.delayed}:{s.silent}" for s in self.segments.values()]
        return ";".join(parts)


def dwell_level(reference_hours: float, dwell_hours: float | None) -> str:
    if dwell_hours is None or reference_hours <= 0:
        return "none"
    ratio = dwell_hours / reference_hours
    if ratio <= OVER:
        return "within"
    return "over" if ratio <= FAR_OVER else "far_over"


def board_of(
    shipments: Iterable[TrackedShipment],
    topology: Topology,
    now: datetime,
    *,
    complete: bool = True,
) -> Board:
    """The board of the shipments not yet delivered: a shipment that departed from a node
    and has not arrived at the next is on the segment its route takes next; any other is at
    its current location."""
    layout = layout_of(topology)
    at = {code: Tally() for code in topology.nodes}
    on = {key: Tally() for key in layout.segments}
    counted = 0
    for shipment in shipments:
        view = shipment.view
        if view.status is Status.DELIVERED:
            continue
        counted += 1
        key = _segment_ahead(topology, view.departed_from, view.destination)
        if key is not None:
            on[key].count(shipment, None)
        elif view.current_location in at:
            node = topology.nodes[view.current_location]
            waited = None
            if (node.is_border or node.is_port) and view.here_since is not None:
                waited = max(0.0, (now - view.here_since).total_seconds() / 3600)
            at[view.current_location].count(shipment, waited)
    nodes = {}
    for code, tally in at.items():
        reference = topology.nodes[code].dwell_hours
        dwell = statistics.median(tally.waits) if tally.waits else None
        nodes[code] = NodeBoard(
            code,
            tally.shipments,
            tally.held,
            tally.delayed,
            tally.silent,
            reference,
            dwell,
            dwell_level(reference, dwell),
        )
    segments = {
        key: SegmentBoard(key, tally.shipments, tally.delayed, tally.silent)
        for key, tally in on.items()
    }
    return Board(now, nodes, segments, counted, complete)


@cache
def _segment_ahead(topology: Topology, departed_from: str, destination: str) -> str | None:
    """The segment a shipment that left ``departed_from`` for ``destination`` is on (its
    route's first segment), or ``None`` when it has no route from there."""
    if not departed_from or departed_from == destination:
        return None
    if departed_from not in topology.nodes or destination not in topology.nodes:
        return None
    route = topology.route(departed_from, destination) or []
    if not route:
        return None
    place = layout_of(topology).segment_between(route[0].origin, route[0].destination)
    return None if place is None else place.key


class BoardSource:
    """The board, read at most once per ``max_age`` seconds and at most ``limit`` shipments
    (the in-flight ones, by status); concurrent viewers share one read."""

    def __init__(self, reads: Reads, max_age: float, limit: int) -> None:
        self.reads = reads
        self.max_age = max_age
        self.limit = limit
        self._board: Board | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def board(self) -> Board:
        async with self._lock:
            if self._board is None or time.monotonic() - self._read_at >= self.max_age:
                self._board = await self._read()
                self._read_at = time.monotonic()
            return self._board

    async def _read(self) -> Board:
        found: list[TrackedShipment] = []
        complete = True
        async with self.reads.engine.connect() as conn:
            for status in (Status.BOOKED, Status.IN_TRANSIT, Status.HELD):
                after = None
                while True:
                    page = await queries.list_shipments(
                        conn, limit=PAGE, after=after, status=status
                    )
                    found.extend(page)
                    if len(found) >= self.limit:
                        complete = False
                        break
                    if len(page) < PAGE:
                        break
                    after = page[-1].shipment_id
                if not complete:
                    break
        return board_of(found, self.reads.topology, self.reads.clock(), complete=complete)
