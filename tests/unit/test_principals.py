"""The principal registry: roles, hashed keys, rotation windows, production safety."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from corridor.principals import (
    DEMO_PRINCIPALS_FILE,
    RegistryError,
    Role,
    key_hash,
    load_registry,
    parse_registry,
)
from corridor.topology import load_topology

TOPOLOGY = load_topology()
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def _registry(*entries: dict[str, Any]) -> Any:
    return parse_registry({"principals": list(entries)}, TOPOLOGY)


def test_the_demo_registry_has_one_principal_of_each_role_or_more() -> None:
    registry = load_registry(DEMO_PRINCIPALS_FILE, TOPOLOGY, "local")
    roles = {p.role for p in registry.principals.values()}
    assert roles == set(Role)
    ktz = registry.authenticate("demo-ktz", NOW)
    assert ktz is not None
    assert ktz.role is Role.CARRIER
    assert ktz.operates("KZAKL")
    assert ktz.may_post
    assert not ktz.may_book
    mcm = registry.authenticate("demo-mcm", NOW)
    assert mcm is not None
    assert mcm.role is Role.OPERATOR
    assert mcm.may_book
    customs = registry.authenticate("demo-customs-kz", NOW)
    assert customs is not None
    assert customs.countries == {"KZ"}
    assert not customs.may_post


def test_production_refuses_a_registry_that_accepts_demo_keys() -> None:
    with pytest.raises(RegistryError, match="refusing to start in production"):
        load_registry(DEMO_PRINCIPALS_FILE, TOPOLOGY, "production")


def test_production_starts_on_a_registry_without_demo_keys(tmp_path: Path) -> None:
    path = tmp_path / "principals.yaml"
    path.write_text(
        f"principals:\n  - id: ktz\n    role: carrier\n    nodes: [KZAKL]\n"
        f"    keys: [{{sha256: {key_hash('a-real-secret')}}}]\n"
    )
    registry = load_registry(path, TOPOLOGY, "production")
    assert registry.authenticate("a-real-secret", NOW) is not None


def test_unknown_keys_and_blank_keys_are_refused() -> None:
    registry = load_registry(DEMO_PRINCIPALS_FILE, TOPOLOGY, "local")
    assert registry.authenticate("demo-nobody", NOW) is None
    assert registry.authenticate("", NOW) is None


def test_rotation_both_keys_work_during_the_overlap_and_the_old_one_expires() -> None:
    cutover = NOW + timedelta(days=7)
    registry = _registry(
        {
            "id": "ktz",
            "role": "carrier",
            "nodes": ["KZ*"],
            "keys": [
                {"sha256": key_hash("old-key"), "not_after": cutover.isoformat()},
                {"sha256": key_hash("new-key"), "not_before": NOW.isoformat()},
            ],
        }
    )
    before = NOW - timedelta(hours=1)
    assert registry.authenticate("old-key", before) is not None
    assert registry.authenticate("new-key", before) is None  # not valid yet
    for moment in (NOW, cutover - timedelta(seconds=1)):
        assert registry.authenticate("old-key", moment) is not None
        assert registry.authenticate("new-key", moment) is not None
    assert registry.authenticate("old-key", cutover) is None
    assert registry.authenticate("new-key", cutover + timedelta(days=365)) is not None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"id": "Bad Id", "keys": [{"sha256": "0" * 64}]}, "id must be"),
        ({"id": "x", "role": "king", "keys": [{"sha256": "0" * 64}]}, "unknown role"),
        ({"id": "x", "keys": [{"sha256": "zz"}]}, "not a SHA-256"),
        ({"id": "x", "role": "carrier", "nodes": ["XXNOPE"], "keys": [{"sha256": "0" * 64}]},
         "matches no corridor node"),
        ({"id": "x", "role": "party", "nodes": ["KZ*"], "keys": [{"sha256": "0" * 64}]},
         "only carriers and operators"),
        ({"id": "x", "role": "customs", "keys": [{"sha256": "0" * 64}]}, "needs its countries"),
        ({"id": "x", "role": "carrier"}, "no key"),
        ({"id": "x", "keys": [{"sha256": "0" * 64, "not_after": "2027-01-01T00:00:00"}]},
         "needs a UTC offset"),
        ({"id": "x", "role": "partner", "on_behalf_of": ["ghost"], "keys": [{"sha256": "0" * 64}]},
         "on_behalf_of unknown"),
    ],
)  # fmt: skip
def test_a_broken_registry_is_refused_with_the_reason(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        _registry(entry)


def test_one_key_cannot_belong_to_two_principals() -> None:
    digest = key_hash("shared")
    with pytest.raises(RegistryError, match="used twice"):
        _registry(
            {"id": "a", "role": "party", "keys": [{"sha256": digest}]},
            {"id": "b", "role": "party", "keys": [{"sha256": digest}]},
        )
