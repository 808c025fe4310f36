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


def three_nodes(dwell_at_almaty: float = 0.0) -> dict[str, Any]:
    """Aktau - Almaty - Altynkol, plus a slower direct Aktau - Altynkol line."""
    raw = small()
    raw["nodes"][1].update(dwell_hours=dwell_at_almaty, dwell_assumed=dwell_at_almaty > 0)
    raw["nodes"].append(
        {
            "code": "KZAKL",
            "name": "Altynkol",
            "country": "KZ",
            "kinds": ["border"],
            "operator": "KTZ",
            "dwell_hours": 0.9167,
        }
    )
    raw["segments"] += [
        {"from": "KZAKL", "to": "KZALA", "mode": "RAIL", "operator": "KTZ", "km": 340, "hours": 10},
        {
            "from": "KZAKL",
            "to": "KZAAU",
            "mode": "RAIL",
            "operator": "KTZ",
            "km": 3128,
            "hours": 90,
        },
    ]
    return raw


def test_dwell_and_per_figure_flags_are_read() -> None:
    raw = small()
    raw["nodes"][0].update(dwell_hours=120, dwell_assumed=True)
    raw["segments"][0].update(km_assumed=True)
    topology = parse_topology(raw)
    aktau, almaty = topology.node("KZAAU"), topology.node("KZALA")
    assert (aktau.dwell_hours, aktau.dwell_assumed) == (120, True)
    assert (almaty.dwell_hours, almaty.dwell_assumed) == (0, False)
    [segment] = topology.segments
    assert (segment.km_assumed, segment.hours_assumed, segment.assumption) == (True, False, True)
    assert segment.reversed().km_assumed
    assert not parse_topology(small()).segments[0].assumption


@pytest.mark.parametrize("hours", [-1, 720, float("nan"), float("inf")])
def test_a_dwell_outside_zero_to_thirty_days_is_rejected(hours: float) -> None:
    raw = small()
    raw["nodes"][0]["dwell_hours"] = hours
    with pytest.raises(TopologyError, match=r"KZAAU: dwell_hours must be in \[0, 720\)"):
        parse_topology(raw)


def test_an_assumed_dwell_needs_a_dwell() -> None:
    raw = small()
    raw["nodes"][0]["dwell_assumed"] = True
    with pytest.raises(TopologyError, match="KZAAU: dwell_assumed without dwell_hours"):
        parse_topology(raw)


@pytest.mark.parametrize("value", ["false", "no", 0, 1, None])
def test_a_flag_must_be_a_yaml_boolean(value: object) -> None:
    raw = small()
    raw["segments"][0]["hours_assumed"] = value
    with pytest.raises(TopologyError, match="KZALA-KZAAU: hours_assumed must be true or false"):
        parse_topology(raw)
    raw = small()
    raw["nodes"][0]["dwell_assumed"] = value
    with pytest.raises(TopologyError, match="KZAAU: dwell_assumed must be true or false"):
        parse_topology(raw)


def test_the_old_single_assumption_flag_is_rejected() -> None:
    raw = small()
    raw["segments"][0]["assumption"] = True
    with pytest.raises(TopologyError, match="km_assumed and hours_assumed"):
        parse_topology(raw)


def test_reference_hours_add_the_dwell_between_but_not_at_either_end() -> None:
    topology = parse_topology(three_nodes(dwell_at_almaty=5))
    assert topology.reference_hours("KZAKL", "KZAAU") == 10 + 5 + 72
    assert topology.reference_hours("KZAAU", "KZAKL") == 72 + 5 + 10
    assert topology.reference_hours("KZALA", "KZAAU") == 72
    assert topology.reference_hours("KZAAU", "KZAAU") == 0
    assert topology.reference_hours("KZAAU", "XXXXX") is None


def test_dwell_does_not_choose_the_route() -> None:
    # Via Almaty: 82 h of segments + 20 h of dwell = 102 h, slower than the direct 90 h, but
    # the route is the fastest by segment hours alone.
    topology = parse_topology(three_nodes(dwell_at_almaty=20))
    route = topology.route("KZAKL", "KZAAU")
    assert route is not None
    assert [seg.destination for seg in route] == ["KZALA", "KZAAU"]
    assert topology.reference_hours("KZAKL", "KZAAU") == 102


def test_every_border_and_port_node_has_a_reference_dwell() -> None:
    for node in load_topology().nodes.values():
        if node.is_border or node.is_port or "gauge_change" in node.kinds:
            assert node.dwell_hours > 0, node.code
        else:
            assert node.dwell_hours == 0, node.code


def test_published_dwells_are_not_flagged_and_the_others_are() -> None:
    topology = load_topology()
    published = {"KZDSK": 4.25, "KZAKL": 55 / 60, "KZKUR": 7}
    for code, hours in published.items():
        node = topology.node(code)
        assert node.dwell_hours == pytest.approx(hours, abs=0.001)
        assert not node.dwell_assumed, code
    for node in topology.nodes.values():
        if node.dwell_hours and node.code not in published:
            assert node.dwell_assumed, node.code


def test_processing_times_are_the_nodes_dwell_and_the_crossings_are_short() -> None:
    topology = load_topology()
    for a, b in (("CNAKL", "KZDSK"), ("CNHRS", "KZAKL"), ("AZBYK", "GEGAR")):
        crossing = topology.segment(a, b)
        assert crossing is not None
        assert crossing.hours <= 0.5
        assert crossing.hours_assumed
        assert crossing.km_assumed


def test_published_and_derived_figures_are_not_flagged() -> None:
    topology = load_topology()
    km_published = [
        ("KZDSK", "KZMOY"), ("KZAKL", "KZALA"), ("KZAKL", "KZAAU"), ("KZALA", "KZAAU"),
        ("KZAAU", "AZBAK"), ("AZBAK", "AZBYK"), ("GEGAR", "GETBS"), ("GETBS", "GEPTI"),
        ("GETBS", "GEAKH"), ("GEAKH", "GEKRT"), ("GEKRT", "TRKSY"),
    ]  # fmt: skip
    hours_published = [
        ("KZAKL", "KZAAU"), ("KZALA", "KZAAU"), ("KZAAU", "AZBAK"), ("KZKUR", "AZBAK"),
        ("GEPTI", "ROCND"), ("GEBUS", "ROCND"),
    ]  # fmt: skip
    for seg in topology.segments:
        pair = (seg.origin, seg.destination)
        assert seg.km_assumed == (pair not in km_published), pair
        assert seg.hours_assumed == (pair not in hours_published), pair


def test_the_direct_altynkol_aktau_line_is_as_published() -> None:
    direct = load_topology().segment("KZAKL", "KZAAU")
    assert direct is not None
    assert (direct.km, direct.hours, direct.mode, direct.operator) == (3128, 72, "RAIL", "KTZ")


def test_kartsakhi_is_the_georgian_border_node_of_the_kars_line() -> None:
    topology = load_topology()
    node = topology.node("GEKRT")
    assert (node.country, node.kinds, node.provisional) == ("GE", frozenset({"border"}), True)
    assert topology.segment("GEAKH", "TRKSY") is None
    in_georgia, in_turkiye = topology.segment("GEAKH", "GEKRT"), topology.segment("GEKRT", "TRKSY")
    assert in_georgia is not None
    assert in_turkiye is not None
    assert (in_georgia.km, in_georgia.operator) == (29, "GR")
    assert (in_turkiye.km, in_turkiye.operator) == (76, "TCDD")


def nodes_of(origin: str, destination: str) -> list[str]:
    route = load_topology().route(origin, destination)
    assert route is not None
    return [origin, *(seg.destination for seg in route)]


def test_routes_from_altynkol_take_the_direct_line_to_aktau() -> None:
    assert nodes_of("KZAKL", "KZAAU") == ["KZAKL", "KZAAU"]
    assert nodes_of("KZAKL", "AZBAK") == ["KZAKL", "KZAAU", "AZBAK"]  # not via Kuryk
    assert nodes_of("CNHRS", "GEPTI")[:4] == ["CNHRS", "KZAKL", "KZAAU", "AZBAK"]


def test_baku_to_kars_crosses_at_kartsakhi_in_the_first_freight_trains_40_hours() -> None:
    topology = load_topology()
    assert nodes_of("AZBAK", "TRKSY") == [
        "AZBAK", "AZBYK", "GEGAR", "GETBS", "GEAKH", "GEKRT", "TRKSY",
    ]  # fmt: skip
    assert topology.reference_hours("AZBAK", "TRKSY") == pytest.approx(40)
