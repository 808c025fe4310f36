"""`python -m services.tariff`: serve the tariff service."""

from corridor.web import serve
from services.tariff.settings import TariffSettings


def main() -> None:
    settings = TariffSettings()
    serve(
        "tariff", "services.tariff.app:create_app", settings.host, settings.port, settings.log_level
    )


if __name__ == "__main__":
    main()
