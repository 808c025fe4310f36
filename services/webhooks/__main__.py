"""`python -m services.webhooks`: serve the partner webhooks service."""

from corridor.web import serve
from services.webhooks.settings import WebhooksSettings


def main() -> None:
    settings = WebhooksSettings()
    serve(
        "webhooks",
        "services.webhooks.app:create_app",
        settings.host,
        settings.port,
        settings.log_level,
    )


if __name__ == "__main__":
    main()
