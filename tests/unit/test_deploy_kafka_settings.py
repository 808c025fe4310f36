"""The Kafka settings the k8s overlays give the services become working client options.

The prod overlay sets SASL_SSL with SCRAM-SHA-512 (the KafkaUser's password from its Secret,
the cluster CA mounted as a file); dev sets SASL_PLAINTEXT; compose and `corridor run` leave
the PLAINTEXT default. Each must reach aiokafka as the options it expects.
"""

from __future__ import annotations

import ssl

import certifi
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from corridor.kafka import client_options
from services.tracker.settings import TrackerSettings

PASSWORD = "generated-by-the-user-operator"


@pytest.fixture
def prod_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": "corridor-kafka-bootstrap:9093",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "corridor-tracker",
        "KAFKA_SASL_PASSWORD": PASSWORD,
        # Any PEM bundle stands for the cluster CA that k8s mounts.
        "KAFKA_SSL_CAFILE": certifi.where(),
        "KAFKA_ENABLE_IDEMPOTENCE": "true",
        "KAFKA_CREATE_TOPICS": "false",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("prod_env")
def test_sasl_ssl_scram_from_the_environment_becomes_client_options() -> None:
    settings = TrackerSettings().kafka
    options = client_options(settings)

    assert options["bootstrap_servers"] == "corridor-kafka-bootstrap:9093"
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "corridor-tracker"
    assert options["sasl_plain_password"] == PASSWORD
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0
    assert settings.enable_idempotence
    assert not settings.create_topics


@pytest.mark.usefixtures("prod_env")
def test_the_password_never_shows_in_the_settings_repr() -> None:
    settings = TrackerSettings()
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings.model_dump())


@pytest.mark.usefixtures("prod_env")
async def test_aiokafka_clients_accept_the_sasl_ssl_options() -> None:
    options = client_options(TrackerSettings().kafka)
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **options)
    consumer = AIOKafkaConsumer("cargo.events.v1", group_id="corridor-tracker", **options)
    # Built, never started: nothing connects.
    assert producer.client._security_protocol == "SASL_SSL"
    assert consumer._client._sasl_mechanism == "SCRAM-SHA-512"


def test_sasl_over_plaintext_has_no_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "corridor-tariff")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", PASSWORD)

    options = client_options(TrackerSettings().kafka)

    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_plain_username"] == "corridor-tariff"
    assert "ssl_context" not in options


def test_plaintext_is_the_default_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SSL_CAFILE"):
        monkeypatch.delenv(name, raising=False)

    options = client_options(TrackerSettings().kafka)

    assert options["security_protocol"] == "PLAINTEXT"
    assert "sasl_mechanism" not in options
    assert "ssl_context" not in options


def test_an_unknown_security_protocol_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAIN")
    with pytest.raises(ValueError, match="security_protocol"):
        TrackerSettings()
