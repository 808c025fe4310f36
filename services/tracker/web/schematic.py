"""The corridor's schematic, laid out from the reference data (``corridor.yaml``), never drawn
by hand: a new node or segment in the data moves the picture with it.

Columns: every segment is oriented away from the corridor's first node (the one nearer to
it by reference hours), and a node's column is the longest chain of segments that leads to
it, so the corridor reads from China on the left to the Black Sea and Türkiye on the right.
Rows: inside a column, a node sits near the mean row of its neighbours in earlier columns,
one row apart from the next. Pure: no I/O.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from corridor.topology import Segment, Topology

COLUMN_WIDTH = 96.0
ROW_HEIGHT = 86.0
MARGIN_X = 56.0
MARGIN_TOP = 46.0
MARGIN_BOTTOM = 40.0


@dataclass(frozen=True)
class NodePlace:
    code: str
    name: str
    country: str
    kinds: tuple[str, ...]
    dwell_hours: float
    x: float
    y: float

    @property
    def shape(self) -> str:
        """port: a square; border or gauge change: a diamond; a hub: a circle."""
        if "port" in self.kinds:
            return "port"
        if "border" in self.kinds or "gauge_change" in self.kinds:
            return "border"
        return "hub"


@dataclass(frozen=True)
class SegmentPlace:
    key: str  # "A-B" as the reference data names it
    origin: str
    destination: str
    mode: str
    x1: float
    y1: float
    x2: float
    y2: float
    badge_x: float = 0.0
    badge_y: float = 0.0

    @property
    def mid(self) -> tuple[float, float]:
        """Where its count goes (``badge``), as a point."""
        return (self.badge_x, self.badge_y)


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    nodes: dict[str, NodePlace]
    segments: dict[str, SegmentPlace]

    def segment_between(self, a: str, b: str) -> SegmentPlace | None:
        return self.segments.get(f"{a}-{b}") or self.segments.get(f"{b}-{a}")


def segment_key(segment: Segment) -> str:
    return f"{segment.origin}-{segment.destination}"


def _distances(topology: Topology, root: str) -> dict[str, float]:
    """Reference hours from ``root`` along the segments (Dijkstra)."""
    adjacent: dict[str, list[tuple[str, float]]] = {code: [] for code in topology.nodes}
    for seg in topology.segments:
        adjacent[seg.origin].append((seg.destination, seg.hours))
        adjacent[seg.destination].append((seg.origin, seg.hours))
    best = {root: 0.0}
    queue = [(0.0, root)]
    while queue:
        hours, code = heapq.heappop(queue)
        if hours > best.get(code, float("inf")):
            continue
        for other, step in adjacent[code]:
            if hours + step < best.get(other, float("inf")):
                best[other] = hours + step
                heapq.heappush(queue, (hours + step, other))
    return best


def _columns(topology: Topology, distance: dict[str, float]) -> dict[str, int]:
    """Longest chain of oriented segments to each node (the graph is a DAG once oriented)."""
    preceding: dict[str, list[str]] = {code: [] for code in topology.nodes}
    for seg in topology.segments:
        a, b = seg.origin, seg.destination
        if (distance[a], a) > (distance[b], b):
            a, b = b, a
        preceding[b].append(a)
    column: dict[str, int] = {}
    for code in sorted(topology.nodes, key=lambda c: (distance[c], c)):
        column[code] = 1 + max((column[p] for p in preceding[code]), default=-1)
    return column


def _rows(topology: Topology, column: dict[str, int], order: Sequence[str]) -> dict[str, float]:
    """Row of each node, column by column: near the mean row of its neighbours already
    placed (ties in the order of the reference data), one row apart, the column centred on
    those means."""
    position = {code: i for i, code in enumerate(order)}
    neighbours: dict[str, set[str]] = {code: set() for code in topology.nodes}
    for seg in topology.segments:
        neighbours[seg.origin].add(seg.destination)
        neighbours[seg.destination].add(seg.origin)
    rows: dict[str, float] = {}
    for col in range(max(column.values()) + 1):
        members = [code for code in order if column[code] == col]

        def weight(code: str) -> tuple[float, int]:
            placed = [rows[n] for n in neighbours[code] if n in rows]
            return (sum(placed) / len(placed) if placed else 0.0, position[code])

        members.sort(key=weight)
        targets = [weight(code)[0] for code in members]
        placed: list[float] = []
        for target in targets:
            placed.append(target if not placed else max(target, placed[-1] + 1))
        shift = (sum(targets) - sum(placed)) / len(placed)
        for code, row in zip(members, placed, strict=True):
            rows[code] = row + shift
    return rows


@cache
def layout_of(topology: Topology) -> Layout:
    """The schematic of ``topology`` (computed once per topology)."""
    order = list(topology.nodes)
    distance = _distances(topology, order[0])
    column = _columns(topology, distance)
    rows = _rows(topology, column, order)
    low, high = min(rows.values()), max(rows.values())
    width = 2 * MARGIN_X + COLUMN_WIDTH * max(column.values())
    height = MARGIN_TOP + MARGIN_BOTTOM + ROW_HEIGHT * (high - low)
    nodes = {
        code: NodePlace(
            code=code,
            name=node.name,
            country=node.country,
            kinds=tuple(sorted(node.kinds)),
            dwell_hours=node.dwell_hours,
            x=MARGIN_X + COLUMN_WIDTH * column[code],
            y=MARGIN_TOP + ROW_HEIGHT * (rows[code] - low),
        )
        for code, node in topology.nodes.items()
    }
    segments = {}
    # A node with its code above it and its name and flags below; then each count placed.
    taken = [(n.x, n.y - 22, n.y + 40) for n in nodes.values()]
    for seg in topology.segments:
        a, b = nodes[seg.origin], nodes[seg.destination]
        key = segment_key(seg)
        x, y = _badge((a.x, a.y), (b.x, b.y), taken)
        taken.append((x, y, y))
        segments[key] = SegmentPlace(
            key, seg.origin, seg.destination, seg.mode, a.x, a.y, b.x, b.y, x, y
        )
    return Layout(width, height, nodes, segments)


BADGE_CLEARANCE = 26.0
BADGE_POSITIONS = (0.5, 0.38, 0.62, 0.28, 0.72)


def _badge(
    a: tuple[float, float],
    b: tuple[float, float],
    taken: list[tuple[float, float, float]],
) -> tuple[float, float]:
    """Where a segment's count goes: the point along it nearest its middle that keeps clear
    of every node (and its label) and every count placed before."""
    best, best_room = a, -1.0
    for t in BADGE_POSITIONS:
        point = (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
        room = min(
            math.hypot(point[0] - x, point[1] - min(max(point[1], top), bottom))
            for x, top, bottom in taken
        )
        if room >= BADGE_CLEARANCE:
            return point
        if room > best_room:
            best, best_room = point, room
    return best


def route_keys(topology: Topology, origin: str, destination: str) -> list[str]:
    """The segments (keys) of the route between two nodes, in order; empty when none."""
    if origin not in topology.nodes or destination not in topology.nodes:
        return []
    route = topology.route(origin, destination) or []
    layout = layout_of(topology)
    keys = []
    for seg in route:
        place = layout.segment_between(seg.origin, seg.destination)
        if place is not None:
            keys.append(place.key)
    return keys
