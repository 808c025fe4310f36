"""`python -m services.ingest`: serve the ingest service."""

from corridor.web import serve
from services.ingest.app import tune_garbage_collector
from services.ingest.settings import IngestSettings


def main() -> None:
    settings = IngestSettings()
    tune_garbage_collector()  # a process-wide setting: here, not in the app factory
    serve(
        "ingest", "services.ingest.app:create_app", settings.host, settings.port, settings.log_level
    )


if __name__ == "__main__":
    main()
