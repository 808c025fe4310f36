"""HTTP schemas of tariff. Money is a decimal string in the card's currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from corridor.equipment import MAX_ANY_GROSS_MASS_KG

Money = str


class QuoteIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "origin": "CNAKL",
                    "destination": "GEPTI",
                    "container_type": "40HC",
                    "gross_weight_kg": 24000,
                    "shipping_date": "2026-12-01",
                }
            ]
        },
    )

    origin: str = Field(min_length=1, max_length=16, description="UN/LOCODE of a corridor node")
    destination: str = Field(min_length=1, max_length=16)
    container_type: Literal["20GP", "40GP", "40HC", "45HC", "WAGON"]
    gross_weight_kg: Decimal = Field(
        gt=0,
        le=MAX_ANY_GROSS_MASS_KG,
        description="number or decimal string; at most the maximum gross mass of the type "
        "(ISO 668 for containers)",
    )
    shipping_date: date | None = Field(default=None, description="defaults to today (UTC)")


class LegOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    operator: str
    mode: Literal["RAIL", "VESSEL", "HANDLING"]
    amount: Money
    basis: Literal["per_km", "per_segment", "per_crossing", "per_call"]


class SurchargeOut(BaseModel):
    kind: str
    node: str | None
    operator: str
    days: int
    amount: Money


class DiscountOut(BaseModel):
    kind: Literal["percent", "through_rate"]
    rate: str = Field(description="the percentage, or this shipment's preferential through-rate")
    amount: Money


class ShareOut(BaseModel):
    operator: str
    amount: Money


class QuoteOut(BaseModel):
    origin: str
    destination: str
    container_type: str
    gross_weight_kg: str
    shipping_date: date
    card_version: str
    example: bool = Field(description="true when priced with an illustrative example card")
    currency: str
    legs: list[LegOut]
    subtotal: Money
    surcharges: list[SurchargeOut]
    discount: DiscountOut | None
    total: Money
    apportionment: list[ShareOut]


class ChargeOut(BaseModel):
    charge_id: str
    shipment_id: str
    card_version: str
    example: bool
    currency: str
    origin: str
    destination: str
    container_type: str
    gross_weight_kg: str
    booked_at: str
    delivered_at: str
    computed_at: str
    legs: list[LegOut]
    subtotal: Money
    surcharges: list[SurchargeOut]
    discount: DiscountOut | None
    quoted_total: Money
    total: Money
    apportionment: list[ShareOut]
    revision: int = Field(description="1 for the first charge; later facts add revisions")
    difference: Money = Field(description="total minus the previous revision's total")


class ShipmentChargesOut(BaseModel):
    shipment_id: str
    booked_quote: QuoteOut | None = Field(description="the quote recorded at BOOKED")
    charges: list[ChargeOut] = Field(
        description="every revision of the charge once DELIVERED, in order (the last counts)"
    )


class CardOut(BaseModel):
    version: str
    status: Literal["in_force", "upcoming"]
    example: bool
    description: str
    source: str
    valid_from: date
    valid_to: date | None = Field(description="exclusive; null when open-ended")
    currency: str
    rail: list[dict[str, Any]]
    ferry: list[dict[str, Any]]
    handling: list[dict[str, Any]]
    surcharges: dict[str, Any]
    discounts: list[dict[str, Any]]


class TariffsOut(BaseModel):
    on: date
    cards: list[CardOut]
