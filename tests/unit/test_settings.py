import pytest

from services.ingest.settings import IngestSettings
from services.tracker.settings import TrackerSettings


def test_each_service_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_PORT", "9100")
    monkeypatch.setenv("TRACKER_DATABASE_URL", "postgresql+asyncpg://db/tracker")
    assert TrackerSettings().port == 9100
    assert TrackerSettings().database_url == "postgresql+asyncpg://db/tracker"
    assert IngestSettings().port == 8001


def test_kafka_bootstrap_is_shared_by_all_services(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("KAFKA_ENABLE_IDEMPOTENCE", "true")
    assert IngestSettings().kafka.bootstrap_servers == "kafka:9092"
    assert TrackerSettings().kafka.enable_idempotence is True
