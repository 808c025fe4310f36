from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from corridor.kafka import CHARGES_TOPIC, EVENTS_TOPIC
from corridor.settings import ServiceSettings

SHIPPED_CARDS = Path(__file__).with_name("cards")


class TariffSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TARIFF_", extra="ignore")

    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///./.corridor-data/tariff.db"
    consumer_group: str = "corridor-tariff"
    # Rate cards: every *.yaml file of this directory, validated at start-up.
    cards_dir: Path = SHIPPED_CARDS
    # Topics are configurable so tests can use unique ones.
    events_topic: str = EVENTS_TOPIC
    charges_topic: str = CHARGES_TOPIC
    # The consumer loop's watchdog (docs/reliability.md): records waiting this long without
    # progress turn /readyz red, and this long /healthz red (Kubernetes restarts the pod).
    consumer_ready_grace_seconds: float = Field(default=30.0, gt=0)
    consumer_live_grace_seconds: float = Field(default=120.0, gt=0)
    # Records per consumed batch at most, applied in one database transaction. At 2,000, as
    # the tracker, the tariff applied faster (docs/performance.md, 2026-12-04) but its
    # resident memory after a million events was higher (159 and 170 against 156 MiB);
    # 500 until a memory run at 2,000 shows it flat.
    batch_size: int = Field(default=500, ge=1, le=5000)
    # How often unpublished charges are retried (they are also tried after every batch).
    outbox_interval_seconds: float = Field(default=2.0, gt=0)
