"""`python -m services.tracker`: serve the tracker service."""

from corridor.web import serve
from services.tracker.app import tune_garbage_collector
from services.tracker.settings import TrackerSettings


def main() -> None:
    settings = TrackerSettings()
    tune_garbage_collector()  # a process-wide setting: here, not in the app factory
    serve(
        "tracker",
        "services.tracker.app:create_app",
        settings.host,
        settings.port,
        settings.log_level,
    )


if __name__ == "__main__":
    main()
