"""The Kafka and placement rules of deploycheck pass on both overlays and catch each fault:
an unsupported Kafka version, an unpinned metadata version, the obsolete annotations, no
broker-side lag, Kafka brokers that may share a node or a zone, services spread by host only.
"""

from __future__ import annotations

import pytest

from scripts.deploycheck import k8s_kafka
from scripts.deploycheck.k8s import Object
from tests.integration.test_deploy_checks import changed, rendered

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_both_overlays_pass_the_kafka_and_placement_rules(overlay: str) -> None:
    objects = rendered(overlay)
    production = overlay == "prod"

    assert k8s_kafka.kafka_version(objects, production) == []
    assert k8s_kafka.kafka_placement(objects, production) == []
    assert k8s_kafka.service_placement(objects, production) == []


def kafka_spec(kafka: Object) -> Object:
    spec: Object = kafka["spec"]["kafka"]
    return spec


def test_a_kafka_version_the_operator_refuses_and_an_unpinned_metadata_version_are_caught() -> None:
    def old(kafka: Object) -> None:
        kafka_spec(kafka)["version"] = "4.1.0"
        kafka_spec(kafka).pop("metadataVersion")
        kafka["metadata"]["annotations"] = {"strimzi.io/kraft": "enabled"}

    objects = changed(rendered("dev"), "Kafka", "corridor", old)

    assert k8s_kafka.kafka_version(objects, False) == [
        "Kafka/corridor: strimzi.io/kraft is ignored since Strimzi 0.48: remove it",
        "Kafka/corridor: Kafka 4.1.0 is not supported by Strimzi 1.1 (4.2.0, 4.2.1, 4.3.0)",
        "Kafka/corridor: metadataVersion must be pinned (like 4.2-IV1), is ''",
    ]


def test_a_metadata_version_ahead_of_the_brokers_is_caught() -> None:
    objects = changed(
        rendered("dev"),
        "Kafka",
        "corridor",
        lambda k: kafka_spec(k).update(metadataVersion="4.3-IV0"),
    )

    assert k8s_kafka.kafka_version(objects, False) == [
        "Kafka/corridor: metadataVersion 4.3-IV0 is newer than Kafka 4.2.1"
    ]


def test_lag_without_the_kafka_exporter_or_broker_metrics_is_caught() -> None:
    def blind(kafka: Object) -> None:
        kafka["spec"].pop("kafkaExporter")
        kafka_spec(kafka).pop("metricsConfig")

    objects = changed(rendered("prod"), "Kafka", "corridor", blind)

    assert k8s_kafka.kafka_version(objects, True) == [
        "Kafka/corridor: no metricsConfig of type jmxPrometheusExporter for the brokers",
        "Kafka/corridor: no kafkaExporter (consumer lag must come from the broker side)",
    ]


def test_an_exporter_that_misses_a_consumer_group_is_caught() -> None:
    objects = changed(
        rendered("prod"),
        "Kafka",
        "corridor",
        lambda k: k["spec"]["kafkaExporter"].update(groupRegex="corridor-tracker"),
    )

    assert k8s_kafka.kafka_version(objects, True) == [
        "Kafka/corridor: the Kafka Exporter does not watch group corridor-tariff"
    ]


def test_production_kafka_that_may_share_a_node_or_a_zone_is_caught() -> None:
    objects = changed(
        rendered("prod"),
        "Kafka",
        "corridor",
        lambda k: (kafka_spec(k).pop("rack"), k["spec"].pop("cruiseControl")),
    )
    objects = changed(objects, "KafkaNodePool", "dual-role", lambda p: p["spec"].pop("template"))

    assert k8s_kafka.kafka_placement(objects, True) == [
        "Kafka/corridor: docs/deploy.md uses Cruise Control, which is not configured",
        "Kafka/corridor: production needs rack awareness "
        "(rack.topologyKey topology.kubernetes.io/zone)",
        "KafkaNodePool/dual-role: production needs required pod anti-affinity on "
        "kubernetes.io/hostname",
        "KafkaNodePool/dual-role: production needs a topology spread over "
        "topology.kubernetes.io/zone",
    ]


def test_a_service_spread_by_host_only_and_as_a_preference_is_caught() -> None:
    def host_only(deployment: Object) -> None:
        spec = deployment["spec"]["template"]["spec"]
        spec["topologySpreadConstraints"] = spec["topologySpreadConstraints"][1:]
        spec["topologySpreadConstraints"][0]["whenUnsatisfiable"] = "ScheduleAnyway"

    objects = changed(rendered("prod"), "Deployment", "corridor-tracker", host_only)

    assert k8s_kafka.service_placement(objects, True) == [
        "Deployment/corridor-tracker: no topology spread over topology.kubernetes.io/zone",
        "Deployment/corridor-tracker: production requires the spread over kubernetes.io/hostname",
    ]
