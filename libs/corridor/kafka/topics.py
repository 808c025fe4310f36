"""Every topic of the system, declared once, and the connection options of every client."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from corridor.settings import KafkaSettings

log = logging.getLogger(__name__)

EVENTS_TOPIC = "cargo.events.v1"
SHIPMENTS_TOPIC = "cargo.shipments.v1"
CHARGES_TOPIC = "cargo.charges.v1"
EVENTS_DLQ_TOPIC = "cargo.events.dlq.v1"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    configs: Mapping[str, str] = field(default_factory=dict)


# Every topic of the system, declared once. Retention is a deployment choice; compaction
# of the state topic is part of its contract (the latest state per shipment_id).
TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(EVENTS_TOPIC),
    TopicSpec(SHIPMENTS_TOPIC, {"cleanup.policy": "compact"}),
    TopicSpec(CHARGES_TOPIC),
    TopicSpec(EVENTS_DLQ_TOPIC),
)


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """Connection options shared by producers, consumers and the admin client."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
        "request_timeout_ms": settings.request_timeout_ms,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=settings.ssl_cafile,
            certfile=settings.ssl_certfile,
            keyfile=settings.ssl_keyfile,
        )
    if settings.sasl_mechanism is not None:
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = (
            settings.sasl_password.get_secret_value() if settings.sasl_password else None
        )
    return options


async def ensure_topics(
    settings: KafkaSettings, specs: Iterable[TopicSpec] = TOPICS, client_id: str = "corridor"
) -> None:
    """Create the missing topics; existing ones are left as they are (idempotent)."""
    if not settings.create_topics:
        return
    admin = AIOKafkaAdminClient(client_id=f"{client_id}-admin", **client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = []
        for spec in specs:
            if spec.name in existing:
                continue
            configs = dict(spec.configs)
            if settings.min_insync_replicas is not None:
                configs["min.insync.replicas"] = str(settings.min_insync_replicas)
            missing.append(
                NewTopic(
                    spec.name,
                    settings.topic_partitions,
                    settings.replication_factor,
                    topic_configs=configs,
                )
            )
        if missing:
            response = await admin.create_topics(missing)
            for name, code, message in getattr(response, "topic_errors", ()):
                # 36: another instance created it first, which is fine.
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise KafkaError(f"cannot create topic {name}: {code} {message}")
            log.info("topics created", extra={"topics": [t.name for t in missing]})
    finally:
        await admin.close()
