"""GLNs of corridor nodes (for EPCIS locations): optional, valid, unique, flagged when
assumed."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from corridor.identifiers import gln_error, gs1_check_digit
from corridor.topology import TopologyError, load_topology, parse_topology
from corridor.topology.model import DATA_FILE

RAW: dict[str, Any] = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def with_node(code: str, **changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(RAW)
    node = next(n for n in raw["nodes"] if n["code"] == code)
    node.update(changes)
    return {**raw, "nodes": [{k: v for k, v in n.items() if v is not None} for n in raw["nodes"]]}


def test_every_gln_is_valid_and_flagged_as_assumed() -> None:
    topology = load_topology()
    assert topology.glns["4870000000029"] == "KZAAU"
    for node in topology.nodes.values():
        if node.gln is not None:
            assert gln_error(node.gln) is None
            assert node.gln_assumed, f"{node.code}: no GLN of a corridor node is published"
    assert topology.nodes["CNURM"].gln is None  # optional


def test_the_gs1_check_digit() -> None:
    assert gs1_check_digit("629104150021") == 3  # GTIN-13 6291041500213
    assert gln_error("4870000000029") is None
    assert gln_error("4870000000028") == "check digit should be 9, not 8 (GS1)"
    assert gln_error("48700") == "must be 13 digits (GS1 GLN)"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"gln": "4870000000028"}, "check digit"),
        ({"gln": "4870000000012"}, "also given to"),
        ({"gln": None, "gln_assumed": True}, "gln_assumed without gln"),
        ({"gln_assumed": "true"}, "must be true or false"),
    ],
)
def test_a_bad_gln_stops_the_start(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(TopologyError, match=message):
        parse_topology(with_node("KZAAU", **changes))
