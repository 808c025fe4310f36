"""The webhooks service's settings (``WEBHOOKS_`` prefix; Kafka under ``KAFKA_``)."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from corridor.kafka import EVENTS_TOPIC, SHIPMENTS_TOPIC
from corridor.settings import ServiceSettings


class WebhooksSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WEBHOOKS_", extra="ignore")

    port: int = 8004
    database_url: str = "sqlite+aiosqlite:///./.corridor-data/webhooks.db"
    consumer_group: str = "corridor-webhooks"
    # Topics are configurable so tests can use unique ones. States are what is delivered;
    # bookings (read from the events) say who may read each shipment (corridor.access).
    shipments_topic: str = SHIPMENTS_TOPIC
    events_topic: str = EVENTS_TOPIC
    consumer_ready_grace_seconds: float = Field(default=30.0, gt=0)
    consumer_live_grace_seconds: float = Field(default=120.0, gt=0)
    # How long a stop waits for the consumer and the sender to finish what they do; then
    # they are cancelled (safe: uncommitted records are consumed again, unfinished
    # deliveries sent again).
    shutdown_grace_seconds: float = Field(default=15.0, gt=0)

    # Callback addresses (docs/webhooks.md, "Callback addresses"). Loopback callbacks are
    # allowed in the local run only (``None``: when ``environment`` is ``local``); private,
    # link-local and other non-global addresses only inside these networks (CIDR).
    allow_loopback_callbacks: bool | None = None
    allowed_callback_networks: list[str] = Field(default_factory=list)
    # ``https`` callbacks only (``None``: in production).
    require_https: bool | None = None

    # The sender (docs/webhooks.md, "Delivery").
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    # A delivery is given up after this many failed attempts; the next state of the same
    # shipment then goes.
    max_attempts: int = Field(default=12, ge=1, le=100)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_cap_seconds: float = Field(default=600.0, gt=0)
    sender_interval_seconds: float = Field(default=1.0, gt=0)
    # Deliveries sent at once (each to a different subscription and shipment).
    sender_concurrency: int = Field(default=16, ge=1, le=256)
    # How long a claimed delivery is left to one sender before another may take it.
    lease_seconds: float = Field(default=60.0, gt=0)
    # How long the previous secret still signs after a rotation, unless the call says.
    secret_overlap_seconds: float = Field(default=86_400.0, ge=0)
    # Subscriptions one principal may hold.
    max_subscriptions_per_principal: int = Field(default=20, ge=1)

    @field_validator("allowed_callback_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError: not CIDR notation
        return value

    @property
    def loopback_allowed(self) -> bool:
        if self.allow_loopback_callbacks is None:
            return self.environment == "local"
        return self.allow_loopback_callbacks

    @property
    def https_required(self) -> bool:
        if self.require_https is None:
            return self.environment == "production"
        return self.require_https
