from pydantic_settings import SettingsConfigDict

from corridor.settings import ServiceSettings


class TrackerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRACKER_", extra="ignore")

    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///./.corridor-data/tracker.db"
    consumer_group: str = "corridor-tracker"
