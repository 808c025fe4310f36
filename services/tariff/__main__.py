"""`python -m services.tariff`: serve the tariff service (refusing to start on an invalid
rate card, with the file and the field at fault)."""

import sys

from corridor.topology import load_topology
from corridor.web import serve
from services.tariff.rates import CardError, load_card_book
from services.tariff.settings import TariffSettings


def main() -> None:
    settings = TariffSettings()
    try:
        load_card_book(settings.cards_dir, load_topology())
    except CardError as exc:
        print(f"tariff: refusing to start: {exc}", file=sys.stderr)
        sys.exit(2)
    serve(
        "tariff", "services.tariff.app:create_app", settings.host, settings.port, settings.log_level
    )


if __name__ == "__main__":
    main()
