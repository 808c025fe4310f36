"""The carrier registry: keys, rights of the demo carriers, refusal of demo keys in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from corridor.topology import load_topology
from services.ingest.app import create_app
from services.ingest.carriers import (
    DEMO_CARRIER_IDS,
    CarrierRegistryError,
    demo_key,
    key_hash,
    load_registry,
    parse_registry,
)
from services.ingest.settings import DEMO_CARRIERS_FILE, IngestSettings

TOPOLOGY = load_topology()


def nodes_of(country: str) -> set[str]:
    return {code for code, node in TOPOLOGY.nodes.items() if node.country == country}


def demo_registry() -> Any:
    return load_registry(DEMO_CARRIERS_FILE, TOPOLOGY, "local")


def entry(carrier_id: str, key: str, nodes: list[str], may_book: bool = False) -> dict[str, Any]:
    return {
        "id": carrier_id,
        "name": carrier_id.upper(),
        "api_key_sha256": [key_hash(key)],
        "nodes": nodes,
        "may_book": may_book,
    }


def test_every_demo_key_authenticates_its_carrier() -> None:
    registry = demo_registry()
    for carrier_id in DEMO_CARRIER_IDS:
        carrier = registry.authenticate(demo_key(carrier_id))
        assert carrier is not None
        assert carrier.id == carrier_id


@pytest.mark.parametrize("key", ["", "demo-", "demo-KTZ", "demo-ktz ", "ktz", "demo-nobody"])
def test_an_unknown_key_authenticates_nobody(key: str) -> None:
    assert demo_registry().authenticate(key) is None


def test_the_demo_file_stores_hashes_not_keys() -> None:
    text = DEMO_CARRIERS_FILE.read_text()
    assert key_hash("demo-ktz") in text
    assert "demo-ktz" not in text.replace("demo-<carrier id>", "").replace("Bearer demo-ktz", "")


def test_demo_carriers_report_where_they_operate() -> None:
    carriers = demo_registry().carriers
    assert carriers["ktz"].nodes == nodes_of("KZ") | {"CNAKL", "CNHRS", "CNURM"}
    assert carriers["port-aktau"].nodes == {"KZAAU"}
    assert carriers["asco"].nodes == {"KZAAU", "KZKUR", "AZBAK"}
    assert carriers["port-baku"].nodes == {"AZBAK"}
    assert carriers["ady"].nodes == nodes_of("AZ")
    assert carriers["gr"].nodes == nodes_of("GE") | {"TRKSY"}
    assert carriers["port-poti"].nodes == {"GEPTI", "ROCND"}
    assert carriers["mcm"].nodes == set(TOPOLOGY.nodes)


def test_only_the_joint_company_may_book() -> None:
    assert [c.id for c in demo_registry().carriers.values() if c.may_book] == ["mcm"]


def test_production_refuses_to_start_with_demo_keys() -> None:
    with pytest.raises(CarrierRegistryError, match="demo keys"):
        load_registry(DEMO_CARRIERS_FILE, TOPOLOGY, "production")
    with pytest.raises(CarrierRegistryError, match="demo keys"):
        create_app(IngestSettings(environment="production"))


def test_production_refuses_a_registry_that_accepts_any_demo_key(tmp_path: Path) -> None:
    path = tmp_path / "carriers.yaml"
    raw = {"carriers": [entry("acme-rail", "demo-ktz", ["KZ*"])]}
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(CarrierRegistryError, match="acme-rail"):
        load_registry(path, TOPOLOGY, "production")


def test_production_starts_with_its_own_keys(tmp_path: Path) -> None:
    path = tmp_path / "carriers.yaml"
    raw = {"carriers": [entry("ktz", "a-long-random-secret", ["KZ*"])]}
    path.write_text(yaml.safe_dump(raw))
    registry = load_registry(path, TOPOLOGY, "production")
    carrier = registry.authenticate("a-long-random-secret")
    assert carrier is not None
    assert carrier.id == "ktz"
    assert registry.authenticate("demo-ktz") is None


def test_a_key_can_be_rotated_with_two_hashes() -> None:
    raw = {"carriers": [entry("gr", "old", ["GE*"])]}
    raw["carriers"][0]["api_key_sha256"].append(key_hash("new"))
    registry = parse_registry(raw, TOPOLOGY)
    assert registry.authenticate("old") == registry.authenticate("new") is not None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"carriers": [entry("ktz", "k", ["DEHAM"])]}, "matches no corridor node"),
        ({"carriers": [entry("ktz", "k", ["XX*"])]}, "matches no corridor node"),
        ({"carriers": [entry("ktz", "k", ["KZ*"]), entry("ktz", "j", ["KZ*"])]}, "duplicate"),
        ({"carriers": [entry("ktz", "k", ["KZ*"]), entry("gr", "k", ["GE*"])]}, "already used"),
        ({"carriers": [entry("KTZ Rail", "k", ["KZ*"])]}, "id must be"),
        ({"carriers": [{**entry("ktz", "k", ["KZ*"]), "api_key_sha256": ["xyz"]}]}, "SHA-256"),
        ({"carriers": [{**entry("ktz", "k", ["KZ*"]), "api_key_sha256": []}]}, "no api_key"),
        ({"carriers": [{"id": "ktz"}]}, "malformed"),
        ({"carriers": []}, "no carrier"),
    ],
)
def test_a_broken_registry_is_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(CarrierRegistryError, match=message):
        parse_registry(raw, TOPOLOGY)


def test_an_unreadable_registry_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CarrierRegistryError, match="cannot read"):
        load_registry(tmp_path / "missing.yaml", TOPOLOGY, "local")
    not_a_mapping = tmp_path / "list.yaml"
    not_a_mapping.write_text("- just\n- a list\n")
    with pytest.raises(CarrierRegistryError, match="expected a mapping"):
        load_registry(not_a_mapping, TOPOLOGY, "local")
