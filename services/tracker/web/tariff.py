"""The charges of a shipment, read from the tariff service's HTTP API
(``GET /v1/shipments/{id}/charges``) with the signed-in person's own credential, so that
the tariff's rules decide what they see (an operator's share of the revenue, for one)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Charges:
    """``found``: the tariff's answer (``ShipmentChargesOut`` as JSON); otherwise why there
    is none: ``none`` (no booking or charge the person may read), ``unavailable``."""

    state: str
    found: dict[str, Any] | None = None

    @property
    def revisions(self) -> list[dict[str, Any]]:
        return list((self.found or {}).get("charges") or [])

    @property
    def quote(self) -> dict[str, Any] | None:
        quote = (self.found or {}).get("booked_quote")
        return quote if isinstance(quote, dict) else None


async def shipment_charges(base_url: str, shipment_id: str, authorization: str) -> Charges:
    url = f"{base_url.rstrip('/')}/v1/shipments/{quote(shipment_id, safe='')}/charges"
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            response = await client.get(url, headers={"Authorization": authorization})
    except httpx.HTTPError as exc:
        log.warning("tariff unavailable", extra={"error": str(exc)})
        return Charges("unavailable")
    if response.status_code == 404:
        return Charges("none")
    if response.status_code != 200:
        log.warning("tariff answered", extra={"status": response.status_code})
        return Charges("unavailable")
    body = response.json()
    return Charges("found", body if isinstance(body, dict) else None)
