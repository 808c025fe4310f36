"""The subscriptions API. Every call needs a principal (``corridor.auth``); a principal
sees and manages its own subscriptions, an operator everybody's. Another principal's
subscription answers ``404`` exactly as an unknown one (docs/security.md)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from corridor.auth import PrincipalDep, denials_of
from corridor.contract.enums import EVENT_TYPE
from corridor.principals import Principal, Role
from corridor.problems import Problem, field_error
from services.webhooks import store
from services.webhooks.db import SubscriptionRow
from services.webhooks.domain import Filter
from services.webhooks.guard import AddressPolicy, CallbackRefused, check_callback
from services.webhooks.schemas import (
    FilterIn,
    SecretIn,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionsOut,
)

router = APIRouter(prefix="/v1/subscriptions", tags=["webhooks"])
PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
NOT_VISIBLE = "not_visible"


@dataclass
class Subscriptions:
    """What the routes need (set on ``app.state`` by the composition root)."""

    sessions: async_sessionmaker[AsyncSession]
    policy: AddressPolicy
    nodes: frozenset[str]
    clock: Any
    secret_overlap: timedelta
    max_per_principal: int


def _subscriptions(request: Request) -> Subscriptions:
    return cast(Subscriptions, request.app.state.subscriptions)


SubscriptionsDep = Annotated[Subscriptions, Depends(_subscriptions)]


def out(row: SubscriptionRow) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.id,
        principal=row.principal,
        callback_url=row.callback_url,
        filter=Filter.from_doc(row.filter).doc(),
        created_at=row.created_at,
        secret_rotated_at=row.secret_rotated_at,
        previous_secret_until=row.previous_secret_until,
    )


def check_filter(f: FilterIn, nodes: frozenset[str]) -> Filter:
    errors = [
        field_error(f"filter.event_types.{i}", f"unknown event type {v!r}", "unknown_value")
        for i, v in enumerate(f.event_types or ())
        if v not in EVENT_TYPE.names
    ]
    errors += [
        field_error(f"filter.locations.{i}", f"{v!r} is not a corridor node", "unknown_node")
        for i, v in enumerate(f.locations or ())
        if v not in nodes
    ]
    if errors:
        raise Problem(422, "; ".join(e["message"] for e in errors[:5]), errors=errors)
    return Filter.from_doc(f.model_dump())


async def check_url(url: str, policy: AddressPolicy) -> None:
    try:
        await check_callback(url, policy)
    except CallbackRefused as exc:
        raise Problem(
            422,
            f"callback_url: {exc}",
            slug="callback-refused",
            title="Callback address refused",
            errors=[field_error("callback_url", str(exc), "callback_refused")],
        ) from exc


async def owned(
    request: Request, session: AsyncSession, principal: Principal, subscription_id: str
) -> SubscriptionRow:
    row = await session.get(SubscriptionRow, subscription_id)
    if row is not None and (principal.role is Role.OPERATOR or row.principal == principal.id):
        return row
    if row is not None:
        denials_of(request).deny(principal.role.value, NOT_VISIBLE, principal=principal.id)
    raise Problem(404, f"no subscription {subscription_id!r} is known")


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionOut,
    responses={422: {"description": "bad filter, or callback refused", **PROBLEM}},
    summary="Subscribe a callback to shipment states",
)
async def create(
    body: SubscriptionIn, principal: PrincipalDep, subs: SubscriptionsDep, response: Response
) -> SubscriptionOut:
    """Deliveries of every state of the shipments the caller may read that the filter
    takes (all given fields must hold; within a field, any value)."""
    f = check_filter(body.filter, subs.nodes)
    await check_url(body.callback_url, subs.policy)
    now: datetime = subs.clock()
    async with subs.sessions() as session, session.begin():
        if await store.count_subscriptions(session, principal.id) >= subs.max_per_principal:
            raise Problem(
                422,
                f"at most {subs.max_per_principal} subscriptions per principal",
                slug="too-many-subscriptions",
                errors=[field_error("callback_url", "subscription limit reached", "limit")],
            )
        row = SubscriptionRow(
            id=str(uuid.uuid4()),
            principal=principal.id,
            callback_url=body.callback_url,
            secret=body.secret,
            filter=f.doc(),
            created_at=now,
        )
        session.add(row)
    response.headers["Location"] = f"/v1/subscriptions/{row.id}"
    return out(row)


@router.get("", response_model=SubscriptionsOut, summary="List subscriptions")
async def list_all(principal: PrincipalDep, subs: SubscriptionsDep) -> SubscriptionsOut:
    """The caller's own subscriptions; an operator's: everybody's."""
    mine = None if principal.role is Role.OPERATOR else principal.id
    async with subs.sessions() as session:
        rows = await store.subscriptions(session, mine)
    return SubscriptionsOut(items=[out(r) for r in rows])


@router.get(
    "/{subscription_id}",
    response_model=SubscriptionOut,
    responses={404: PROBLEM},
    summary="Read a subscription",
)
async def read(
    subscription_id: str, request: Request, principal: PrincipalDep, subs: SubscriptionsDep
) -> SubscriptionOut:
    async with subs.sessions() as session:
        return out(await owned(request, session, principal, subscription_id))


@router.delete(
    "/{subscription_id}", status_code=204, responses={404: PROBLEM}, summary="Unsubscribe"
)
async def remove(
    subscription_id: str, request: Request, principal: PrincipalDep, subs: SubscriptionsDep
) -> Response:
    """Deliveries not yet made are dropped with it."""
    async with subs.sessions() as session, session.begin():
        await owned(request, session, principal, subscription_id)
        await store.delete_subscription(session, subscription_id)
    return Response(status_code=204)


@router.post(
    "/{subscription_id}/secret",
    response_model=SubscriptionOut,
    responses={404: PROBLEM},
    summary="Rotate the signing secret",
)
async def rotate(
    subscription_id: str,
    body: SecretIn,
    request: Request,
    principal: PrincipalDep,
    subs: SubscriptionsDep,
) -> SubscriptionOut:
    """The new secret signs from now on; the previous one keeps signing beside it (two
    signatures in ``Notification-Signature``) until the overlap ends, so the receiver can
    switch without losing a delivery."""
    now: datetime = subs.clock()
    overlap = (
        subs.secret_overlap
        if body.overlap_seconds is None
        else timedelta(seconds=body.overlap_seconds)
    )
    async with subs.sessions() as session, session.begin():
        row = await owned(request, session, principal, subscription_id)
        row.previous_secret = row.secret if overlap > timedelta(0) else None
        row.previous_secret_until = now + overlap if overlap > timedelta(0) else None
        row.secret = body.secret
        row.secret_rotated_at = now
    return out(row)
