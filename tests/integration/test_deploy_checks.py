"""The deployment files pass their offline checks, and the checks catch what they must.

The checks need docker compose, kubectl (or kustomize), promtool and hadolint, which
scripts/install_deploy_tools.sh installs (hadolint also comes with the dev extra). Without
them these tests skip, unless CORRIDOR_REQUIRE_DEPLOY_TOOLS=1 (CI), where a missing tool fails
them.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.deploycheck import compose, dockerfile, k8s, k8s_rules, k8s_trust, prometheus, tools
from scripts.deploycheck.k8s import Object

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("CORRIDOR_REQUIRE_DEPLOY_TOOLS") == "1"
SKIPPED = 3


def run_checker(group: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.deploycheck", group],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("group", ["compose", "k8s", "prometheus", "grafana"])
def test_deploy_files_pass_their_offline_checks(group: str) -> None:
    result = run_checker(group)
    if result.returncode == SKIPPED and not REQUIRED:
        pytest.skip(f"a tool is missing (scripts/install_deploy_tools.sh):\n{result.stdout}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout


def rendered(overlay: str) -> tuple[Object, ...]:
    require(tools.kustomize)
    return k8s.render(overlay)


def require(tool: Callable[[], list[str]]) -> None:
    """Skip when the tool is missing, unless tools are required (CI)."""
    try:
        tool()
    except tools.MissingToolError as exc:
        if REQUIRED:
            raise
        pytest.skip(f"{exc} is not installed")


def changed(
    objects: tuple[Object, ...], kind: str, name: str, change: Callable[[Object], object]
) -> tuple[Object, ...]:
    """A copy of the objects where one of them was changed."""
    copied = copy.deepcopy(objects)
    target = k8s_rules.named(copied, kind, name)
    assert target is not None, f"{kind}/{name} is not rendered"
    change(target)
    return copied


def container(deployment: Object) -> Object:
    found: Object = deployment["spec"]["template"]["spec"]["containers"][0]
    return found


def test_a_consumer_scaled_beyond_its_partitions_is_caught() -> None:
    objects = rendered("prod")
    assert k8s_rules.autoscaling(objects) == []

    wider = changed(
        objects, "ScaledObject", "corridor-tracker", lambda o: o["spec"].update(maxReplicaCount=13)
    )

    assert k8s_rules.autoscaling(wider) == [
        "ScaledObject/corridor-tracker: maxReplicaCount 13 is beyond the 12 partitions "
        "of cargo.events.v1"
    ]


def test_a_deployment_without_its_readiness_probe_is_caught() -> None:
    objects = changed(
        rendered("dev"),
        "Deployment",
        "corridor-tariff",
        lambda o: container(o).pop("readinessProbe"),
    )

    assert k8s_rules.workloads(objects) == [
        "Deployment/corridor-tariff container tariff: readiness probe is not GET /readyz"
    ]


def test_a_service_allowed_a_topic_it_does_not_use_is_caught() -> None:
    extra = {"resource": {"type": "topic", "name": "cargo.charges.v1"}, "operations": ["Read"]}
    objects = changed(
        rendered("prod"),
        "KafkaUser",
        "corridor-ingest",
        lambda o: o["spec"]["authorization"]["acls"].append(extra),
    )

    problems = k8s_rules.users(objects)

    assert problems == [
        "KafkaUser/corridor-ingest: ACL beyond its needs: "
        "('topic', 'cargo.charges.v1', 'literal', 'Read')",
        "KafkaUser/corridor-ingest: ACL beyond security.md (service): "
        "('topic', 'cargo.charges.v1', 'literal', 'Read')",
    ]


def test_a_partner_allowed_to_write_is_caught() -> None:
    objects = changed(
        rendered("prod"),
        "KafkaUser",
        "partner-example",
        lambda o: o["spec"]["authorization"]["acls"][0]["operations"].append("Write"),
    )

    problems = k8s_rules.users(objects)

    assert problems == [
        "KafkaUser/partner-example: ACL beyond security.md (partner): "
        "('topic', 'cargo.shipments.v1', 'literal', 'Write')"
    ]


def test_a_customs_user_reading_the_charges_is_caught() -> None:
    charges = {
        "resource": {"type": "topic", "name": "cargo.charges.v1", "patternType": "literal"},
        "operations": ["Read", "Describe"],
    }
    objects = changed(
        rendered("dev"),
        "KafkaUser",
        "customs-example",
        lambda o: o["spec"]["authorization"]["acls"].append(charges),
    )

    assert k8s_rules.users(objects) == [
        f"KafkaUser/customs-example: ACL beyond security.md (customs): "
        f"('topic', 'cargo.charges.v1', 'literal', '{op}')"
        for op in ("Describe", "Read")
    ]


def test_a_kafka_user_for_a_role_without_kafka_access_is_caught() -> None:
    objects = changed(
        rendered("prod"),
        "KafkaUser",
        "partner-example",
        lambda o: o["metadata"].update(
            name="party-xian", labels={**o["metadata"]["labels"], "corridor.io/role": "party"}
        ),
    )

    problems = k8s_rules.users(objects)

    assert problems[0].startswith("KafkaUser/party-xian (role party): the user of 0 rows")
    assert "security.md: no KafkaUser for the row partner (partner-<name>)" in problems
    assert "KafkaUser/party-xian: role party gets no Kafka access" in problems


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_service_port_is_reachable_and_all_else_is_denied(overlay: str) -> None:
    objects = rendered(overlay)
    policies = k8s_rules.of_kind(objects, "NetworkPolicy")

    assert any(k8s_trust._is_default_deny(p) for p in policies)
    assert k8s_trust.network_policies(objects, overlay == "prod") == []
    ports = {
        s["metadata"]["name"]: s["spec"]["ports"][0]["port"]
        for s in k8s_rules.of_kind(objects, "Service")
    }
    expected = {
        "corridor-ingest": 8001,
        "corridor-tracker": 8002,
        "corridor-tariff": 8003,
        "corridor-redis": 6379,
    }
    assert expected.items() <= ports.items()
    if overlay == "dev":
        assert ports["corridor-postgres"] == 5432


def test_missing_default_deny_and_an_unreachable_service_are_caught() -> None:
    objects = tuple(
        o
        for o in rendered("dev")
        if not (
            o["kind"] == "NetworkPolicy"
            and o["metadata"]["name"] in ("default-deny-ingress", "corridor-tracker")
        )
    )

    assert k8s_trust.network_policies(objects, production=False) == [
        "no default-deny ingress NetworkPolicy (podSelector {}, no rules)",
        "Service/corridor-tracker: port 8002 is reached by no policy",
    ]


def test_a_store_opened_beyond_the_services_is_caught() -> None:
    everyone: Object = {"namespaceSelector": {}}
    objects = changed(
        rendered("dev"),
        "NetworkPolicy",
        "corridor-postgres",
        lambda o: o["spec"]["ingress"][0]["from"].append(everyone),
    )

    assert k8s_trust.network_policies(objects, production=False) == [
        "NetworkPolicy/corridor-postgres: {'namespaceSelector': {}} is not the corridor's services"
    ]


def test_a_kafka_listener_open_to_all_is_caught() -> None:
    objects = changed(
        rendered("prod"),
        "Kafka",
        "corridor",
        lambda o: o["spec"]["kafka"]["listeners"][0].pop("networkPolicyPeers"),
    )

    assert k8s_trust.network_policies(objects, production=True) == [
        "Kafka/corridor listener tls: no networkPolicyPeers (anyone could connect)"
    ]


def test_a_local_environment_or_an_in_process_rate_limit_is_caught() -> None:
    def local(config_map: Object) -> None:
        config_map["data"]["TRACKER_ENVIRONMENT"] = "local"
        config_map["data"]["TRACKER_RATE_LIMIT_STORAGE"] = "memory://"

    objects = rendered("dev")
    tracker_config = next(
        o["metadata"]["name"]
        for o in k8s_rules.of_kind(objects, "ConfigMap")
        if o["metadata"]["name"].startswith("corridor-tracker-")
    )
    objects = changed(objects, "ConfigMap", tracker_config, local)

    assert k8s_trust.trust(objects, production=False) == [
        "Deployment/corridor-tracker: TRACKER_ENVIRONMENT must be production (the default)",
        "Deployment/corridor-tracker: TRACKER_RATE_LIMIT_STORAGE must be a shared Redis",
        "the services count rate limits in different stores: "
        "['memory://', 'redis://corridor-redis:6379']",
    ]


def test_production_reads_its_registry_from_a_secret_and_dev_from_a_config_map() -> None:
    assert k8s_trust.trust(rendered("prod"), production=True) == []
    assert k8s_trust.trust(rendered("dev"), production=False) == []

    def from_config_map(deployment: Object) -> None:
        volume = deployment["spec"]["template"]["spec"]["volumes"][1]
        assert volume["name"] == "principals"
        volume.pop("secret")
        volume["configMap"] = {"name": "corridor-principals"}

    objects = changed(rendered("prod"), "Deployment", "corridor-ingest", from_config_map)

    assert k8s_trust.trust(objects, production=True) == [
        "Deployment/corridor-ingest: production reads INGEST_PRINCIPALS_FILE from a Secret"
    ]


def test_a_dev_registry_with_demo_keys_is_caught() -> None:
    demo = (ROOT / "libs" / "corridor" / "principals.yaml").read_text()
    objects = rendered("dev")
    registry = next(
        o["metadata"]["name"]
        for o in k8s_rules.of_kind(objects, "ConfigMap")
        if o["metadata"]["name"].startswith("corridor-principals-")
    )
    objects = changed(
        objects, "ConfigMap", registry, lambda o: o["data"].update({"principals.yaml": demo})
    )

    problems = k8s_trust.trust(objects, production=False)

    assert len(problems) == len(k8s_rules.SERVICES)  # one per service
    assert all(p.endswith("principals.yaml: production mode refuses demo keys") for p in problems)


def test_a_production_topic_with_two_replicas_is_caught() -> None:
    objects = changed(
        rendered("prod"),
        "KafkaTopic",
        "cargo.shipments.v1",
        lambda o: o["spec"].update(replicas=2),
    )

    assert k8s_rules.topics(objects, production=True) == [
        "KafkaTopic/cargo.shipments.v1: production needs replicas 3 and min.insync.replicas 2"
    ]


def test_a_misspelt_setting_is_caught() -> None:
    misspelt = {"name": "TRACKER_DATABSE_URL", "value": "postgresql+asyncpg://db/tracker"}
    objects = changed(
        rendered("dev"),
        "Deployment",
        "corridor-tracker",
        lambda o: container(o)["env"].append(misspelt),
    )

    assert k8s_rules.service_settings(objects, production=False) == [
        "Deployment/corridor-tracker: TRACKER_DATABSE_URL is not a setting of TrackerSettings"
    ]


def test_unknown_fields_are_caught_by_the_kubernetes_and_crd_schemas() -> None:
    objects = changed(
        rendered("dev"),
        "KafkaTopic",
        "cargo.events.v1",
        lambda o: o["spec"].update(partition=3),
    )
    objects = changed(
        objects, "Deployment", "corridor-ingest", lambda o: o["spec"].update(replica=2)
    )

    problems = k8s.validate(objects)

    assert len(problems) == 2
    assert "Deployment/corridor-ingest: spec: Additional properties" in problems[0]
    assert "KafkaTopic/cargo.events.v1: spec: Additional properties" in problems[1]


def test_a_secret_value_under_k8s_is_caught(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {url: postgres://x}\n"
    )

    assert k8s.committed_secrets(tmp_path) == ["secret.yaml: a Secret with a value"]
    assert k8s.committed_secrets() == []


def test_an_unknown_compose_key_is_caught(tmp_path: Path) -> None:
    require(tools.compose)
    path = tmp_path / "docker-compose.yml"
    path.write_text("services:\n  kafka:\n    image: apache/kafka:4.1.0\n    helthcheck: {}\n")

    problems = compose.compose_config(path)

    assert len(problems) == 1
    assert "helthcheck" in problems[0]


def test_invalid_promql_in_a_dashboard_is_caught(tmp_path: Path) -> None:
    require(tools.promtool)
    board = {
        "title": "Broken",
        "panels": [
            {"title": "fine", "targets": [{"refId": "A", "expr": "sum(up)"}]},
            {"title": "unclosed", "targets": [{"refId": "A", "expr": "sum(rate(up[$window])"}]},
        ],
    }
    (tmp_path / "broken.json").write_text(json.dumps(board))

    problems = prometheus.dashboard_promql(tmp_path)

    assert len(problems) == 1
    assert problems[0].startswith("invalid PromQL in broken.json: unclosed [A]")


def test_hadolint_catches_a_latest_image_and_a_pip_cache(tmp_path: Path) -> None:
    require(tools.hadolint)
    assert dockerfile.hadolint() == []
    path = tmp_path / "Dockerfile"
    path.write_text(
        "FROM python:latest\nWORKDIR /app\nCOPY . .\nRUN pip install .\nUSER 10001:10001\n"
    )

    problems = "\n".join(dockerfile.hadolint(path))

    assert "DL3007" in problems  # the latest tag
    assert "DL3042" in problems  # pip install without --no-cache-dir
