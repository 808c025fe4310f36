"""Settings of ingest (env prefix ``INGEST_``; Kafka under ``KAFKA_``)."""

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from corridor.principals import DEMO_PRINCIPALS_FILE
from corridor.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore", populate_by_name=True)

    port: int = 8001
    # The principal registry shared by every service (docs/security.md).
    # ``INGEST_CARRIERS_FILE`` is its older, still documented name.
    principals_file: Path = Field(
        default=DEMO_PRINCIPALS_FILE,
        validation_alias=AliasChoices("INGEST_PRINCIPALS_FILE", "INGEST_CARRIERS_FILE"),
    )
    # The bookings ingest accepted and the ledger of event ids (docs/ingest-api.md).
    # SQLite for a bare start; PostgreSQL (``postgresql+asyncpg://...``) in production.
    database_url: str = "sqlite+aiosqlite:///./.corridor-data/ingest.db"
    # How long a booking looked up stays cached in this process before it is read again
    # (so that another replica's amendment is seen); an unknown booking is cached shorter.
    booking_cache_seconds: float = Field(default=2.0, ge=0)
    booking_miss_cache_seconds: float = Field(default=0.5, ge=0)
    booking_cache_size: int = Field(default=50_000, ge=1)
    # Per-carrier rate limit, in events (a batch of n events costs n), counted in
    # ``RATE_LIMIT_STORAGE`` so that it holds across replicas: ``burst`` events per window
    # of ``burst / per_second`` seconds.
    rate_limit_per_second: float = Field(default=500.0, gt=0)
    rate_limit_burst: float = Field(default=1000.0, ge=1)
    # Largest request body accepted, counted as it streams in (chunked bodies too).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # How far in the future ``occurred_at`` may be.
    max_future_seconds: float = Field(default=86_400.0, ge=0)
    # ``Retry-After`` of a 503 when the broker did not acknowledge in time.
    retry_after_seconds: int = Field(default=2, ge=1)
    # How long a finished EPCIS capture job stays readable (docs/standards.md).
    capture_job_retention_days: float = Field(default=30.0, gt=0)
