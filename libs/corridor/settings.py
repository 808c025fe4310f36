"""Typed settings: one class per service, all inheriting ``ServiceSettings``.

Each service reads its own env prefix (``INGEST_``, ``TRACKER_``, ``TARIFF_``); the
Kafka connection is shared by all of them under ``KAFKA_`` so one variable
(``KAFKA_BOOTSTRAP_SERVERS``) points the whole system at a real cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from corridor.principals import DEMO_PRINCIPALS_FILE

Environment = Literal["local", "production"]


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    # Real Kafka supports the idempotent producer; the embedded Tansu broker does not
    # (InitProducerId fails), so it is off by default and on in docker-compose / k8s.
    enable_idempotence: bool = False
    topic_partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    min_insync_replicas: int | None = Field(default=None, ge=1)
    create_topics: bool = True
    # How long a producer waits for the broker's acknowledgement before giving up.
    publish_timeout_seconds: float = Field(default=5.0, gt=0)
    request_timeout_ms: int = Field(default=10_000, ge=1000)


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set their own ``env_prefix``."""

    model_config = SettingsConfigDict(extra="ignore")

    # Safe by default: production refuses demo keys. Only ``corridor run`` (the local run)
    # and the tests set ``local``.
    environment: Environment = "production"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    # A stable name for this instance in logs and CloudEvents ``ce_source``.
    instance: str = "local"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)

    # Trust (docs/security.md). The principal registry: who may call, in which role, with
    # which keys; the shipped file holds the demo principals of the local run.
    principals_file: Path = DEMO_PRINCIPALS_FILE
    # Where rate limits are counted: ``memory://`` (this process) or ``redis://host:port``
    # (shared by every replica: production).
    rate_limit_storage: str = "memory://"
    # Failed authentications allowed per client address (``limits`` notation).
    auth_failure_limit: str = "20/minute"
    # An event may be dated at most this long before its shipment's booking...
    booking_tolerance_seconds: float = Field(default=3 * 86_400.0, ge=0)
    # ...and at most this long before it was received.
    max_event_age_seconds: float = Field(default=30 * 86_400.0, gt=0)
    # How long an event waits for a booking that makes its carrier a party.
    hold_window_seconds: float = Field(default=7 * 86_400.0, gt=0)
    # OpenID Connect: JWTs of this issuer are accepted beside API keys when all three are set.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_principal_claim: str = "corridor_principal"
    oidc_roles_claim: str = "realm_access.roles"
    oidc_role_prefix: str = "corridor-"
    oidc_countries_claim: str = "corridor_countries"
