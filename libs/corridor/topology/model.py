"""The corridor's reference data (nodes, operators, segments): validation and routes.

Pure, no I/O: reading and parsing ``corridor.yaml`` is in ``corridor.topology.loading``.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from corridor.identifiers import gln_error

DATA_FILE = Path(__file__).with_name("corridor.yaml")
LOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
NODE_KINDS = frozenset({"border", "port", "hub", "gauge_change"})
MODES = frozenset({"RAIL", "VESSEL", "TRUCK"})


class TopologyError(ValueError):
    """The reference data is inconsistent; the service must not start on it."""


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    country: str


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    country: str
    kinds: frozenset[str]
    operator: str
    provisional: bool = False
    # Reference dwell (hours from arrival to departure): published where a figure exists,
    # else a plausible default with ``dwell_assumed``; 0 where none is modelled (hubs).
    # The tracker's ETA uses it until enough actual dwells give a median.
    dwell_hours: float = 0.0
    dwell_assumed: bool = False
    # GS1 Global Location Number of the node, for EPCIS locations (SGLN or GS1 Digital
    # Link); ``gln_assumed`` where none is published (docs/standards.md).
    gln: str | None = None
    gln_assumed: bool = False

    @property
    def is_border(self) -> bool:
        return "border" in self.kinds

    @property
    def is_port(self) -> bool:
        return "port" in self.kinds


@dataclass(frozen=True)
class Segment:
    """A leg between two adjacent nodes; usable in both directions."""

    origin: str
    destination: str
    mode: str
    operator: str
    km: float
    hours: float
    # Which figures are assumed (not published nor derived from published ones).
    km_assumed: bool = False
    hours_assumed: bool = False

    @property
    def assumption(self) -> bool:
        """Any of its figures is assumed."""
        return self.km_assumed or self.hours_assumed

    def reversed(self) -> Segment:
        return replace(self, origin=self.destination, destination=self.origin)


class Topology:
    def __init__(
        self,
        version: str,
        nodes: Iterable[Node],
        operators: Iterable[Operator],
        segments: Iterable[Segment],
        section_targets: Mapping[str, float] | None = None,
        through_targets: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        self.version = version
        # Target transit hours per country section, where one is published.
        self.section_targets: dict[str, float] = dict(section_targets or {})
        # Published bands of through transit (days, low and high), by name.
        self.through_targets: dict[str, tuple[float, float]] = dict(through_targets or {})
        for name, (low, high) in self.through_targets.items():
            if not 0 < low <= high:
                raise TopologyError(f"through target {name}: needs 0 < low <= high")
        self.nodes: dict[str, Node] = {}
        self.operators: dict[str, Operator] = {}
        self.segments: list[Segment] = list(segments)
        for node in nodes:
            if node.code in self.nodes:
                raise TopologyError(f"node {node.code}: duplicate code")
            self.nodes[node.code] = node
        for op in operators:
            if op.id in self.operators:
                raise TopologyError(f"operator {op.id}: duplicate id")
            self.operators[op.id] = op
        self._adjacent: dict[str, list[Segment]] = {code: [] for code in self.nodes}
        self._validate()
        # Node code by GLN (EPCIS locations).
        self.glns: dict[str, str] = {n.gln: n.code for n in self.nodes.values() if n.gln}
        for seg in self.segments:
            self._adjacent[seg.origin].append(seg)
            self._adjacent[seg.destination].append(seg.reversed())

    def _validate(self) -> None:
        for node in self.nodes.values():
            if not LOCODE.match(node.code):
                raise TopologyError(f"node {node.code}: not a UN/LOCODE-shaped code")
            if node.code[:2] != node.country:
                raise TopologyError(f"node {node.code}: code does not start with {node.country}")
            if not node.kinds or not node.kinds <= NODE_KINDS:
                raise TopologyError(f"node {node.code}: kinds must be among {sorted(NODE_KINDS)}")
            if node.operator not in self.operators:
                raise TopologyError(f"node {node.code}: unknown operator {node.operator}")
            if not 0 <= node.dwell_hours < 24 * 30:
                raise TopologyError(f"node {node.code}: dwell_hours must be in [0, 720)")
            if node.dwell_assumed and node.dwell_hours == 0:
                raise TopologyError(f"node {node.code}: dwell_assumed without dwell_hours")
            self._validate_gln(node)
        seen: set[frozenset[str]] = set()
        for seg in self.segments:
            name = f"segment {seg.origin}-{seg.destination}"
            for end in (seg.origin, seg.destination):
                if end not in self.nodes:
                    raise TopologyError(f"{name}: dangling, no node {end}")
            if seg.origin == seg.destination:
                raise TopologyError(f"{name}: starts and ends at the same node")
            if seg.operator not in self.operators:
                raise TopologyError(f"{name}: unknown operator {seg.operator}")
            if seg.mode not in MODES:
                raise TopologyError(f"{name}: mode must be one of {sorted(MODES)}")
            if seg.km <= 0 or seg.hours <= 0:
                raise TopologyError(f"{name}: km and hours must be positive")
            pair = frozenset((seg.origin, seg.destination))
            if pair in seen:
                raise TopologyError(f"{name}: duplicate segment")
            seen.add(pair)
        self._check_connected()

    def _validate_gln(self, node: Node) -> None:
        if node.gln is None:
            if node.gln_assumed:
                raise TopologyError(f"node {node.code}: gln_assumed without gln")
            return
        error = gln_error(node.gln)
        if error is not None:
            raise TopologyError(f"node {node.code}: gln {error}")
        others = [n.code for n in self.nodes.values() if n.gln == node.gln and n is not node]
        if others:
            raise TopologyError(f"node {node.code}: gln {node.gln} also given to {others[0]}")

    def _check_connected(self) -> None:
        if not self.nodes:
            raise TopologyError("no nodes")
        graph: dict[str, set[str]] = {code: set() for code in self.nodes}
        for seg in self.segments:
            graph[seg.origin].add(seg.destination)
            graph[seg.destination].add(seg.origin)
        start = next(iter(graph))
        reached, stack = {start}, [start]
        while stack:
            for nxt in graph[stack.pop()] - reached:
                reached.add(nxt)
                stack.append(nxt)
        unreached = sorted(set(graph) - reached)
        if unreached:
            raise TopologyError(f"graph not connected: cannot reach {', '.join(unreached)}")

    def node(self, code: str) -> Node:
        try:
            return self.nodes[code]
        except KeyError:
            raise KeyError(f"unknown corridor node {code}") from None

    def segment(self, origin: str, destination: str) -> Segment | None:
        for seg in self._adjacent.get(origin, ()):
            if seg.destination == destination:
                return seg
        return None

    def route(self, origin: str, destination: str) -> list[Segment] | None:
        """The fastest route by reference hours (Dijkstra); ``None`` when there is none,
        ``[]`` when origin equals destination. Ties break on node codes (deterministic)."""
        if origin not in self.nodes or destination not in self.nodes:
            return None
        best: dict[str, float] = {origin: 0.0}
        came: dict[str, Segment] = {}
        queue: list[tuple[float, str]] = [(0.0, origin)]
        while queue:
            hours, code = heapq.heappop(queue)
            if code == destination:
                break
            if hours > best.get(code, float("inf")):
                continue
            for seg in self._adjacent[code]:
                cost = hours + seg.hours
                if cost < best.get(seg.destination, float("inf")):
                    best[seg.destination] = cost
                    came[seg.destination] = seg
                    heapq.heappush(queue, (cost, seg.destination))
        if destination not in best:
            return None
        path: list[Segment] = []
        code = destination
        while code != origin:
            seg = came[code]
            path.append(seg)
            code = seg.origin
        return path[::-1]

    def reference_hours(self, origin: str, destination: str) -> float | None:
        """Reference time from arrival at ``origin`` to arrival at ``destination``: the
        route's segment hours plus the dwell of every node in between; ``None`` when there
        is no route. (Dwell does not choose the route.) The ETA before any medians."""
        route = self.route(origin, destination)
        if route is None:
            return None
        moving = sum(seg.hours for seg in route)
        dwell = sum(self.nodes[seg.destination].dwell_hours for seg in route[:-1])
        return moving + dwell
