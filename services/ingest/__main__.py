"""`python -m services.ingest`: serve the ingest service."""

from corridor.web import serve
from services.ingest.settings import IngestSettings


def main() -> None:
    settings = IngestSettings()
    serve(
        "ingest", "services.ingest.app:create_app", settings.host, settings.port, settings.log_level
    )


if __name__ == "__main__":
    main()
