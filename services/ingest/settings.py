from pydantic_settings import SettingsConfigDict

from corridor.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    port: int = 8001
