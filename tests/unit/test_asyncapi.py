"""docs/asyncapi.yaml is valid AsyncAPI 3.0 and says what the tree does, so it cannot drift.

Validated against the official AsyncAPI 3.0.0 JSON Schema (vendored from the npm package
``@asyncapi/specs``, tests/vendor/asyncapi/README.md), then compared with the topics the code
declares, the headers the publisher and the dead letters write, the producers' CloudEvents
source and type, the protobuf messages, the KafkaTopic manifests and the access table of
docs/security.md (which the deploy checks compare with the KafkaUsers).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from aiokafka import ConsumerRecord
from google.protobuf import descriptor_pool

import corridor.v1.charges_pb2
import corridor.v1.events_pb2
import corridor.v1.shipments_pb2  # noqa: F401  (registers the messages in the default pool)
from corridor.kafka import (
    CE_TYPE_CARGO_EVENT,
    CE_TYPE_CHARGE,
    CE_TYPE_SHIPMENT_STATE,
    CHARGES_TOPIC,
    CONTENT_TYPE,
    EVENTS_DLQ_TOPIC,
    EVENTS_TOPIC,
    SHIPMENTS_TOPIC,
    TOPICS,
    DeadLetter,
    cloudevent_headers,
    dead_letter_record,
)
from scripts.deploycheck.kafka_access import grants
from services.ingest import records as ingest_records
from services.tariff import outbox as tariff_outbox
from services.tariff.settings import TariffSettings
from services.tracker import publication as tracker_publication
from services.tracker.settings import TrackerSettings

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"
SCHEMA = ROOT / "tests" / "vendor" / "asyncapi" / "asyncapi-3.0.0.schema.json"
K8S_TOPICS = ROOT / "k8s" / "base" / "kafka" / "topics.yaml"
K8S_PROD_TOPICS = ROOT / "k8s" / "overlays" / "prod" / "topics.yaml"
K8S_KAFKA = ROOT / "k8s" / "base" / "kafka" / "cluster.yaml"
K8S_PROD_KAFKA = ROOT / "k8s" / "overlays" / "prod" / "kafka.yaml"
PROTOBUF_FORMAT = "application/vnd.google.protobuf;version=3"

# Who writes each main topic, as the code does it: (CloudEvents type, the producer's source).
PRODUCERS = {
    EVENTS_TOPIC: (CE_TYPE_CARGO_EVENT, ingest_records.SOURCE),
    SHIPMENTS_TOPIC: (CE_TYPE_SHIPMENT_STATE, tracker_publication.SOURCE),
    CHARGES_TOPIC: (CE_TYPE_CHARGE, tariff_outbox.SOURCE),
}
Doc = dict[str, Any]


def document() -> Doc:
    loaded: Doc = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def validator() -> Any:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def resolve(doc: Doc, node: Doc) -> Doc:
    """Follow local ``$ref``s (``#/a/b``) to the object they name."""
    while "$ref" in node:
        ref = str(node["$ref"])
        assert ref.startswith("#/"), f"not a local reference: {ref}"
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def channels_by_topic(doc: Doc) -> dict[str, Doc]:
    return {str(c["address"]): c for c in doc["channels"].values()}


def message_of(doc: Doc, topic: str) -> Doc:
    messages = list(channels_by_topic(doc)[topic]["messages"].values())
    assert len(messages) == 1, f"{topic}: one message per topic"
    return resolve(doc, messages[0])


def manifests(path: Path, kind: str = "KafkaTopic") -> dict[str, Doc]:
    return {
        o["metadata"]["name"]: o
        for o in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if o and o.get("kind") == kind
    }


def test_the_document_is_valid_asyncapi_3() -> None:
    doc = document()
    check = validator()

    errors = [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(doc)]

    assert doc["asyncapi"] == "3.0.0"
    assert errors == []


def test_the_schema_catches_an_invalid_document() -> None:
    """The validation is not vacuous: the vendored schema refuses what AsyncAPI 3 refuses."""
    doc = copy.deepcopy(document())
    doc["operations"]["publishCharge"]["action"] = "publish"  # AsyncAPI 2 wording
    doc["channels"]["charges"]["bindings"]["kafka"]["partitions"] = 0

    errors = list(validator().iter_errors(doc))

    assert {e.absolute_path[0] for e in errors} == {"operations", "channels"}


def test_every_declared_topic_is_described_and_no_other() -> None:
    topics = channels_by_topic(document())

    assert sorted(topics) == sorted(t.name for t in TOPICS)


def test_retention_and_compaction_are_those_of_the_code_and_the_manifests() -> None:
    base, prod = manifests(K8S_TOPICS), manifests(K8S_PROD_TOPICS)
    for spec in TOPICS:
        kafka = channels_by_topic(document())[spec.name]["bindings"]["kafka"]
        config = kafka["topicConfiguration"]
        manifest = base[spec.name]["spec"]["config"]
        policy = spec.configs.get("cleanup.policy", "delete")

        assert config["cleanup.policy"] == [policy], spec.name
        assert manifest.get("cleanup.policy", "delete") == policy, spec.name
        assert config.get("retention.ms") == manifest.get("retention.ms"), spec.name
        production = {**base[spec.name]["spec"], **prod[spec.name]["spec"]}
        assert (kafka["partitions"], kafka["replicas"]) == (
            production["partitions"],
            production["replicas"],
        ), spec.name


def test_every_topic_is_keyed_by_shipment_id() -> None:
    doc = document()
    for spec in TOPICS:
        key = message_of(doc, spec.name)["bindings"]["kafka"]["key"]
        assert key["type"] == "string"
        assert "shipment_id" in key["description"], spec.name


def test_the_headers_are_those_the_publisher_writes() -> None:
    doc = document()
    for topic, (ce_type, source) in PRODUCERS.items():
        written = dict(
            cloudevent_headers("an-id", ce_type, source, datetime(2026, 12, 1, tzinfo=UTC))
        )
        headers = message_of(doc, topic)["headers"]
        described = headers["properties"]

        assert set(described) == set(written), topic
        assert set(headers["required"]) == set(written), topic
        for name, value in written.items():
            if "const" in described[name]:
                assert described[name]["const"] == value.decode(), f"{topic} {name}"
        assert described["ce_type"]["const"] == ce_type
        assert described["ce_source"]["const"] == source
        assert described["content-type"]["const"] == CONTENT_TYPE


def test_the_tracker_and_the_tariff_publish_to_the_topics_described() -> None:
    assert TrackerSettings().shipments_topic == SHIPMENTS_TOPIC
    assert TariffSettings().charges_topic == CHARGES_TOPIC


def test_the_dead_letter_headers_are_those_the_dead_letters_carry() -> None:
    original = cloudevent_headers(
        "ktz/e-1", CE_TYPE_CARGO_EVENT, ingest_records.SOURCE, datetime(2026, 12, 1, tzinfo=UTC)
    )
    source = ConsumerRecord(
        topic=EVENTS_TOPIC, partition=2, offset=41, timestamp=0, timestamp_type=0,
        key=b"S-1", value=b"\xff", checksum=None, serialized_key_size=3,
        serialized_value_size=1, headers=original,
    )  # fmt: skip
    letter = dead_letter_record(DeadLetter(source, "undecodable"), "corridor-tracker")
    message = message_of(document(), EVENTS_DLQ_TOPIC)
    headers = message["headers"]

    assert letter.topic == EVENTS_DLQ_TOPIC
    assert set(headers["properties"]) == {name for name, _ in letter.headers}
    added = {name for name, _ in letter.headers} - {name for name, _ in original}
    assert set(headers["required"]) == added
    assert headers["properties"]["dlq_source_topic"]["const"] == EVENTS_TOPIC


@pytest.mark.parametrize("topic", [t.name for t in TOPICS])
def test_the_payload_is_the_protobuf_message_of_the_proto_file_referred_to(topic: str) -> None:
    payload = message_of(document(), topic)["payload"]
    name = payload["x-protobuf-message"]
    proto = (DOCUMENT.parent / payload["schema"]["$ref"]).resolve()
    message = descriptor_pool.Default().FindMessageTypeByName(name)

    assert payload["schemaFormat"] == PROTOBUF_FORMAT
    assert proto.is_file(), proto
    assert proto.relative_to(ROOT / "proto").as_posix() == message.file.name
    expected = PRODUCERS.get(topic, (CE_TYPE_CARGO_EVENT,))[0]  # dead letters: CargoEvents
    assert name == expected


def test_who_may_read_each_topic_is_the_access_table_of_security_md() -> None:
    table = grants()
    for topic, channel in channels_by_topic(document()).items():
        access = channel["x-corridor-access"]
        roles = {g.role for g in table if g.role != "service" and "Read" in g.topics.get(topic, ())}
        readers = {
            g.user for g in table if g.role == "service" and "Read" in g.topics.get(topic, ())
        }
        writers = {g.user for g in table if "Write" in g.topics.get(topic, ())}

        assert set(access["roles"]) == roles, topic
        assert set(access["readers"]) == readers, topic
        assert set(access["writers"]) == writers, topic
        assert {g.group for g in table if g.role in roles} == {"<prefix>"}, topic


def test_the_production_server_is_the_tls_listener_of_the_kafka_cluster() -> None:
    server = document()["servers"]["production"]
    base = manifests(K8S_KAFKA, "Kafka")["corridor"]["spec"]["kafka"]
    prod = manifests(K8S_PROD_KAFKA, "Kafka")["corridor"]["spec"]["kafka"]
    listener = next(entry for entry in prod["listeners"] if entry["tls"])

    assert server["host"] == f"corridor-kafka-bootstrap.corridor.svc:{listener['port']}"
    assert listener["authentication"]["type"] == "scram-sha-512"
    assert server["protocol"] == "kafka-secure"
    assert server["protocolVersion"] == prod.get("version", base["version"])
    scheme = resolve(document(), server["security"][0])
    assert scheme["type"] == "scramSha512"
