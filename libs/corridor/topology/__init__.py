"""The corridor's reference data (nodes, operators, segments) and path finding."""

from corridor.topology.loading import load_topology, parse_topology
from corridor.topology.model import (
    Node,
    Operator,
    Segment,
    Topology,
    TopologyError,
)

__all__ = [
    "Node",
    "Operator",
    "Segment",
    "Topology",
    "TopologyError",
    "load_topology",
    "parse_topology",
]
