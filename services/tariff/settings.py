from pydantic_settings import SettingsConfigDict

from corridor.settings import ServiceSettings


class TariffSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TARIFF_", extra="ignore")

    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///./.corridor-data/tariff.db"
    consumer_group: str = "corridor-tariff"
