"""Tariff's HTTP API: quotes, the cards in force, and the charges of a shipment.

Quotes and the cards are the corridor's public price list: anyone may ask. The charges of
a shipment are shipment data: they need a principal (``401`` without one), and a shipment
the caller may not read answers ``404`` exactly as an unknown one (docs/security.md).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query, Request

from corridor.auth import PrincipalDep, denials_of
from corridor.problems import Problem, field_error
from services.tariff.documents import card_doc, quote_doc
from services.tariff.handlers import NotVisible, Tariff
from services.tariff.ports import StorageUnavailable
from services.tariff.rates import PricingError, QuoteRequest
from services.tariff.schemas import QuoteIn, QuoteOut, ShipmentChargesOut, TariffsOut
from services.tariff.trust import NOT_VISIBLE

router = APIRouter(prefix="/v1", tags=["tariff"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
# How long a client is asked to wait when the database does not answer.
RETRY_AFTER_SECONDS = 1


def get_tariff(request: Request) -> Tariff:
    return cast(Tariff, request.app.state.tariff)


TariffDep = Annotated[Tariff, Depends(get_tariff)]


@router.post(
    "/quotes",
    response_model=QuoteOut,
    responses={422: {"description": "unknown node, no route, no card or rate", **PROBLEM}},
    summary="Quote the unified through-rate",
)
async def create_quote(body: QuoteIn, tariff: TariffDep) -> dict[str, Any]:
    """Legs, surcharges, discount, total and each operator's part, priced with the card
    in force on ``shipping_date``. Amounts are decimal strings."""
    request = QuoteRequest(
        origin=body.origin,
        destination=body.destination,
        container_type=body.container_type,
        gross_weight_kg=body.gross_weight_kg,
        shipping_date=body.shipping_date or tariff.today(),
    )
    try:
        return quote_doc(tariff.quote(request))
    except PricingError as exc:
        raise Problem(
            422,
            f"{exc.field}: {exc.message}",
            slug=exc.code.replace("_", "-"),
            title="Cannot quote",
            errors=[field_error(exc.field, exc.message, exc.code)],
        ) from exc


@router.get("/tariffs", response_model=TariffsOut, summary="Rate cards in force and upcoming")
async def list_tariffs(
    tariff: TariffDep,
    on: Annotated[date | None, Query(description="the date to look from; default today")] = None,
) -> dict[str, Any]:
    day = on or tariff.today()
    return {
        "on": day.isoformat(),
        "cards": [
            card_doc(listed.card, listed.status, tariff.topology)
            for listed in tariff.book.listing(day)
        ],
    }


@router.get(
    "/shipments/{shipment_id}/charges",
    response_model=ShipmentChargesOut,
    responses={
        401: {"description": "no, unknown or expired credential", **PROBLEM},
        404: {"description": "no booking or charge for this shipment that you may read", **PROBLEM},
        503: {"description": "the database did not answer: retry later", **PROBLEM},
    },
    summary="The booked quote and every revision of the charge of a shipment",
)
async def shipment_charges(
    shipment_id: str, tariff: TariffDep, principal: PrincipalDep, request: Request
) -> dict[str, Any]:
    """The quote of the booking that counts and every revision of the charge, in order (the
    last stands). Each operator's share of the revenue (``apportionment``) is shown to
    operators, and to a carrier only its own operator's share."""
    try:
        found = await tariff.shipment_charges(shipment_id, principal)
    except NotVisible:
        denials_of(request).deny(principal.role, NOT_VISIBLE, principal=principal.id)
        found = None
    except StorageUnavailable as exc:
        raise Problem(
            503,
            "the tariff's database did not answer: retry later",
            errors=[field_error("shipment_id", "charges unavailable now", "unavailable")],
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from exc
    if found is None:
        raise Problem(
            404,
            f"no booking or charge for shipment {shipment_id}",
            errors=[field_error("shipment_id", "unknown shipment", "unknown_shipment")],
        )
    return found
