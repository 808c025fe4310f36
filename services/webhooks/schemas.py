"""HTTP schemas of the subscriptions API. Unknown fields are refused (a typo in a filter
must not widen it silently); the secret is write-only (never shown)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from corridor.contract import limits

ShipmentId = Annotated[str, StringConstraints(min_length=1, max_length=limits.SHIPMENT_ID)]
EventType = Annotated[str, StringConstraints(min_length=1, max_length=32)]
NodeCode = Annotated[str, StringConstraints(min_length=1, max_length=limits.NODE_CODE)]
Status = Literal["BOOKED", "IN_TRANSIT", "HELD", "DELIVERED"]
Secret = Annotated[str, StringConstraints(min_length=16, max_length=256)]
MAX_FILTER_VALUES = 100


class FilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shipment_ids: list[ShipmentId] | None = Field(default=None, max_length=MAX_FILTER_VALUES)
    event_types: list[EventType] | None = Field(
        default=None,
        max_length=MAX_FILTER_VALUES,
        description="Type of the shipment's last event (BOOKED, DEPARTED, ...).",
    )
    locations: list[NodeCode] | None = Field(
        default=None,
        max_length=MAX_FILTER_VALUES,
        description="UN/LOCODEs: the shipment's current location or its last event's.",
    )
    states: list[Status] | None = Field(default=None, max_length=MAX_FILTER_VALUES)


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_url: str = Field(min_length=1, max_length=2048)
    secret: Secret = Field(description="Signs every delivery (HMAC-SHA256); write-only.")
    filter: FilterIn = Field(default_factory=FilterIn)


class SecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: Secret
    overlap_seconds: float | None = Field(
        default=None,
        ge=0,
        le=7 * 86_400,
        description="How long the previous secret still signs (default: the service's).",
    )


class SubscriptionOut(BaseModel):
    id: str
    principal: str
    callback_url: str
    filter: dict[str, list[str]]
    created_at: datetime
    secret_rotated_at: datetime | None = None
    previous_secret_until: datetime | None = Field(
        default=None, description="Until then deliveries are signed with both secrets."
    )


class SubscriptionsOut(BaseModel):
    items: list[SubscriptionOut]
