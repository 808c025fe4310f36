"""Loads ``corridor.yaml`` (or reference data given as a mapping) into a ``Topology``.

Parsing turns a malformed entry into a ``TopologyError``; ``Topology`` then validates
the whole. No I/O beyond reading the data file.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from corridor.topology.model import DATA_FILE, Node, Operator, Segment, Topology, TopologyError


def _parse(raw: Mapping[str, Any]) -> Topology:
    try:
        operators = [
            Operator(str(o["id"]), str(o["name"]), str(o["country"])) for o in raw["operators"]
        ]
        nodes = [
            Node(
                code=str(n["code"]),
                name=str(n["name"]),
                country=str(n["country"]),
                kinds=frozenset(n["kinds"]),
                operator=str(n["operator"]),
                provisional=_flag(n, "provisional"),
                dwell_hours=float(n.get("dwell_hours", 0.0)),
                dwell_assumed=_flag(n, "dwell_assumed"),
                gln=None if n.get("gln") is None else str(n["gln"]),
                gln_assumed=_flag(n, "gln_assumed"),
            )
            for n in raw["nodes"]
        ]
        segments = [
            Segment(
                origin=str(s["from"]),
                destination=str(s["to"]),
                mode=str(s["mode"]),
                operator=str(s["operator"]),
                km=float(s["km"]),
                hours=float(s["hours"]),
                km_assumed=_flag(s, "km_assumed"),
                hours_assumed=_flag(s, "hours_assumed"),
            )
            for s in map(_segment_entry, raw["segments"])
        ]
        targets = {str(k): float(v) for k, v in (raw.get("section_targets") or {}).items()}
        bands = {
            str(name): (float(low), float(high))
            for name, (low, high) in (raw.get("through_targets") or {}).items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise TopologyError(f"malformed reference data: {exc!r}") from exc
    return Topology(
        str(raw.get("version", "unversioned")), nodes, operators, segments, targets, bands
    )


def _flag(entry: Mapping[str, Any], key: str) -> bool:
    """A yes/no field: absent is false; anything but a YAML boolean is refused, so that a
    quoted ``"false"`` never reads as true."""
    value = entry.get(key, False)
    if isinstance(value, bool):
        return value
    where = entry.get("code") or f"segment {entry.get('from')}-{entry.get('to')}"
    raise TopologyError(f"{where}: {key} must be true or false, got {value!r}")


def _segment_entry(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """Refuse the old single ``assumption`` flag: it did not say which figure is assumed."""
    if "assumption" in entry:
        raise TopologyError(
            f"segment {entry.get('from')}-{entry.get('to')}: `assumption` is replaced by"
            " km_assumed and hours_assumed (one flag per figure)"
        )
    return entry


def load_topology(path: Path | None = None) -> Topology:
    """Load and validate a reference data file (the shipped one by default)."""
    if path is None:
        return _default()
    return _parse(yaml.safe_load(path.read_text(encoding="utf-8")))


@cache
def _default() -> Topology:
    return _parse(yaml.safe_load(DATA_FILE.read_text(encoding="utf-8")))


def parse_topology(raw: Mapping[str, Any]) -> Topology:
    """Validate reference data given as a mapping (tests build broken ones)."""
    return _parse(raw)
