"""Settings of ingest (env prefix ``INGEST_``; Kafka under ``KAFKA_``)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from corridor.settings import ServiceSettings

DEMO_CARRIERS_FILE = Path(__file__).with_name("carriers.yaml")


class IngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    port: int = 8001
    # The carrier registry: who may post, with which key, at which nodes. The shipped file
    # holds the demo carriers; production must point this at its own file.
    carriers_file: Path = DEMO_CARRIERS_FILE
    # Per-carrier token bucket, in events per second (a batch of n events costs n).
    rate_limit_per_second: float = Field(default=500.0, gt=0)
    rate_limit_burst: float = Field(default=1000.0, ge=1)
    # Largest request body accepted, counted as it streams in (chunked bodies too).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # How far in the future ``occurred_at`` may be.
    max_future_seconds: float = Field(default=86_400.0, ge=0)
    # ``Retry-After`` of a 503 when the broker did not acknowledge in time.
    retry_after_seconds: int = Field(default=2, ge=1)
