import itertools
from typing import Any

import pytest

from corridor.topology import TopologyError, load_topology, parse_topology


def small(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "version": "t",
        "operators": [{"id": "KTZ", "name": "KTZ", "country": "KZ"}],
        "nodes": [
            {
                "code": "KZAAU",
                "name": "Aktau",
                "country": "KZ",
                "kinds": ["port"],
                "operator": "KTZ",
            },
            {
                "code": "KZALA",
                "name": "Almaty",
                "country": "KZ",
                "kinds": ["hub"],
                "operator": "KTZ",
            },
        ],
        "segments": [
            {
                "from": "KZALA",
                "to": "KZAAU",
                "mode": "RAIL",
                "operator": "KTZ",
                "km": 3269,
                "hours": 72,
            }
        ],
    }
    raw.update(changes)
    return raw


def test_shipped_reference_data_loads_and_covers_the_corridor() -> None:
    topology = load_topology()
    for code in ("CNHRS", "KZAAU", "KZKUR", "AZBAK", "GEPTI", "GEBUS", "TRKSY", "ROCND"):
        assert code in topology.nodes
    assert topology.node("KZDSK").provisional
    assert topology.node("KZDSK").is_border
    assert topology.node("KZAAU").is_port


def test_route_from_china_to_poti_crosses_the_caspian_by_ferry() -> None:
    route = load_topology().route("CNHRS", "GEPTI")
    assert route is not None
    assert route[0].origin == "CNHRS"
    assert route[-1].destination == "GEPTI"
    assert any(seg.mode == "VESSEL" for seg in route)
    for before, after in itertools.pairwise(route):
        assert before.destination == after.origin


def test_route_runs_both_ways_and_to_itself() -> None:
    topology = load_topology()
    forward = topology.route("KZAAU", "AZBAK")
    backward = topology.route("AZBAK", "KZAAU")
    assert forward is not None
    assert backward is not None
    assert [s.origin for s in backward] == ["AZBAK"]
    assert topology.route("KZAAU", "KZAAU") == []


def test_route_to_an_unknown_node_is_none() -> None:
    assert load_topology().route("KZAAU", "XXXXX") is None


def test_a_dangling_segment_is_rejected() -> None:
    raw = small(
        segments=[
            {"from": "KZALA", "to": "KZXXX", "mode": "RAIL", "operator": "KTZ", "km": 1, "hours": 1}
        ]
    )
    with pytest.raises(TopologyError, match="dangling"):
        parse_topology(raw)


def test_a_badly_formed_code_is_rejected() -> None:
    raw = small()
    raw["nodes"][0]["code"] = "KZ-AU"
    raw["segments"][0]["to"] = "KZ-AU"
    with pytest.raises(TopologyError, match="UN/LOCODE"):
        parse_topology(raw)


def test_a_disconnected_graph_is_rejected() -> None:
    raw = small()
    raw["nodes"].append(
        {"code": "GEPTI", "name": "Poti", "country": "GE", "kinds": ["port"], "operator": "KTZ"}
    )
    with pytest.raises(TopologyError, match=r"not connected.*GEPTI"):
        parse_topology(raw)


def test_an_unknown_operator_is_rejected() -> None:
    raw = small()
    raw["segments"][0]["operator"] = "NOBODY"
    with pytest.raises(TopologyError, match="unknown operator"):
        parse_topology(raw)


def test_missing_fields_are_a_clear_error() -> None:
    with pytest.raises(TopologyError, match="malformed"):
        parse_topology({"nodes": []})
