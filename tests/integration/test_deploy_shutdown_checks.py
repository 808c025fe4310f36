"""The graceful-shutdown rules of deploycheck: both overlays and compose pass; a pod
without its preStop pause, a grace period under the budget, and a timeout raised in a
ConfigMap without the grace period are each caught."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scripts.deploycheck import compose, shutdown
from scripts.deploycheck.k8s import Object
from scripts.deploycheck.k8s_rules import SERVICES
from tests.integration.test_deploy_checks import changed, rendered

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_both_overlays_and_compose_give_the_services_their_stop_budget(overlay: str) -> None:
    assert shutdown.pod_grace(rendered(overlay), overlay == "prod") == []
    assert shutdown.compose_grace() == []


def pod(deployment: Object) -> Object:
    spec: Object = deployment["spec"]["template"]["spec"]
    return spec


def test_the_old_30_seconds_without_a_pre_stop_pause_are_caught() -> None:
    def old(deployment: Object) -> None:
        pod(deployment)["terminationGracePeriodSeconds"] = 30
        pod(deployment)["containers"][0].pop("lifecycle")

    objects = changed(rendered("prod"), "Deployment", "corridor-tracker", old)

    assert shutdown.pod_grace(objects, True) == [
        "Deployment/corridor-tracker: no preStop sleep of 5 s or more",
        "Deployment/corridor-tracker: terminationGracePeriodSeconds 30 is under 40 "
        "(preStop 0 s + stop budget 35 s + margin)",
    ]


def test_a_publish_timeout_raised_without_the_grace_period_is_caught() -> None:
    objects = changed(
        rendered("prod"),
        "ConfigMap",
        next(
            o["metadata"]["name"]
            for o in rendered("prod")
            if o["kind"] == "ConfigMap" and "KAFKA_PUBLISH_TIMEOUT_SECONDS" in o.get("data", {})
        ),
        lambda c: c["data"].update(KAFKA_PUBLISH_TIMEOUT_SECONDS="30"),
    )

    problems = shutdown.pod_grace(objects, True)

    assert len(problems) == len(SERVICES)  # the ConfigMap is every service's
    assert problems[0].endswith(
        "terminationGracePeriodSeconds 45 is under 70 (preStop 5 s + stop budget 60 s + margin)"
    )


def test_a_compose_service_stopped_before_its_budget_is_caught(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spec = yaml.safe_load(compose.COMPOSE_FILE.read_text())
    spec["services"]["tariff"]["stop_grace_period"] = "30s"
    del spec["services"]["ingest"]["stop_grace_period"]  # compose's default: 10 s
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(spec))  # the anchors come out expanded
    monkeypatch.setattr(shutdown, "COMPOSE_FILE", path)

    assert shutdown.compose_grace() == [
        "ingest: stop_grace_period 10 s is under 40 s",
        "tariff: stop_grace_period 30 s is under 40 s",
    ]


def test_compose_durations_are_read_as_compose_reads_them() -> None:
    assert shutdown._seconds("45s") == 45
    assert shutdown._seconds("1m30s") == 90
    assert shutdown._seconds("soon") is None
