"""Trust in the deployment files, without tools: the Kafka access table of docs/security.md
against the KafkaUsers of k8s/base, the development principal registries, and the compose
simulator's keys."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from corridor.principals import parse_registry
from corridor.topology import load_topology
from scripts.deploycheck import compose, kafka_access, principals
from scripts.deploycheck.settings import service_environment

ROOT = Path(__file__).resolve().parents[2]
KAFKA = ROOT / "k8s" / "base" / "kafka"


def base_users() -> tuple[dict[str, Any], ...]:
    return tuple(
        o
        for path in (KAFKA / "users.yaml", KAFKA / "roles.yaml")
        for o in yaml.safe_load_all(path.read_text())
        if o
    )


def test_the_security_table_gives_each_role_its_topics() -> None:
    table = {(g.role, g.user): g for g in kafka_access.grants()}

    operator = table["operator", "operator-<name>"]
    assert set(operator.topics) == {
        "cargo.events.v1",
        "cargo.shipments.v1",
        "cargo.charges.v1",
        "cargo.events.dlq.v1",
    }
    assert all(ops == ("Read",) for ops in operator.topics.values())
    for role in ("customs", "partner"):
        assert table[role, f"{role}-<name>"].topics == {"cargo.shipments.v1": ("Read",)}
    assert table["party", None].topics == {}
    assert table["carrier", None].topics == {}


def test_the_kafka_users_of_k8s_match_the_security_table() -> None:
    assert kafka_access.users_match_table(base_users()) == []


def test_a_table_that_drifted_from_the_manifests_is_caught(tmp_path: Path) -> None:
    doc = kafka_access.SECURITY_DOC.read_text()
    row = "| `partner` | `partner-<name>` | — | Read | — | — | `partner-<name>-*` |"
    assert row in doc
    drifted = tmp_path / "security.md"
    drifted.write_text(doc.replace(row, row.replace("| Read | — |", "| Read | Read |", 1)))

    problems = kafka_access.users_match_table(base_users(), drifted)

    assert problems == [
        "KafkaUser/partner-example: ACL missing for security.md (partner): "
        f"('topic', 'cargo.charges.v1', 'literal', '{op}')"
        for op in ("Describe", "Read")
    ]


def test_a_table_without_every_topic_is_refused(tmp_path: Path) -> None:
    doc = kafka_access.SECURITY_DOC.read_text().replace("`cargo.events.dlq.v1` |", "`x` |", 1)
    (tmp_path / "security.md").write_text(doc)

    with pytest.raises(kafka_access.TableError, match="topic columns"):
        kafka_access.grants(tmp_path / "security.md")


def test_the_development_registries_are_fresh_and_accept_no_demo_key() -> None:
    assert principals.dev_registries() == []
    registry = parse_registry(
        yaml.safe_load(principals.DEV_REGISTRIES[0].read_text()), load_topology()
    )
    now = datetime.now(UTC)
    assert registry.demo_keys_accepted() == []
    assert registry.authenticate("demo-ktz", now) is None
    found = registry.authenticate("dev-ktz", now)
    assert found is not None
    assert found.id == "ktz"


def test_the_compose_simulator_posts_with_the_development_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.ingest.simulator import __main__ as simulator_main
    from services.ingest.simulator import run

    spec = yaml.safe_load(compose.COMPOSE_FILE.read_text())
    command = spec["services"]["simulator"]["command"]
    assert command[:2] == ["python", "-c"]
    calls: list[list[str]] = []

    def main(argv: list[str]) -> int:
        calls.append(argv)
        return 0

    monkeypatch.setattr(simulator_main, "main", main)
    monkeypatch.setattr(run, "carrier_key", run.carrier_key)  # restored after the test
    monkeypatch.setattr(sys, "argv", ["-c", *command[3:]])

    with pytest.raises(SystemExit) as exit_:
        exec(command[2], {})

    assert exit_.value.code == 0
    assert calls == [command[3:]]
    key = run.carrier_headers("ktz")["authorization"].removeprefix("Bearer ")
    registry = parse_registry(
        yaml.safe_load(principals.DEV_REGISTRIES[0].read_text()), load_topology()
    )
    principal = registry.authenticate(key, datetime.now(UTC))
    assert principal is not None
    assert principal.id == "ktz"


@pytest.mark.parametrize(
    ("value", "accepted"), [("10.0.0.0/8", True), ("10.1.2.3, fd00::/8", True), ("*", False)]
)
def test_trusted_proxies_are_addresses_never_everyone(value: str, accepted: bool) -> None:
    problems, _ = service_environment("tracker", {"FORWARDED_ALLOW_IPS": value}, "tracker")

    assert (problems == []) is accepted
