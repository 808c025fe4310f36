"""Authentication of HTTP callers, shared by every service.

A caller sends ``Authorization: Bearer <credential>``: an API key from the principal
registry, or (where OpenID Connect is configured) a JWT of the configured issuer
(``corridor.oidc``). Failed authentications are counted per client address in a store
shared by all replicas (Redis in production, memory in the local run, through the
``limits`` library); past the limit the address gets ``429`` with ``Retry-After`` until
the window has passed. Every denial is logged and counted by role and reason (no ids in
the labels).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Protocol, cast

from fastapi import Depends, Request
from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from prometheus_client import CollectorRegistry, Counter

from corridor.principals import Principal, PrincipalRegistry
from corridor.problems import Problem, field_error

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
UNAUTHENTICATED = "unauthenticated"
TOO_MANY_FAILURES = "too_many_failures"


def rate_limit_storage(uri: str) -> Storage:
    """A ``limits`` storage: ``memory://`` (one process) or ``redis://host:port`` (shared
    by every replica)."""
    if uri.startswith("redis"):
        return cast(Storage, storage_from_string(f"async+{uri}", implementation="redispy"))
    return cast(Storage, storage_from_string(f"async+{uri}"))


class Denials:
    """Counts and logs every refused request: by role and reason, never by id."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.counter = Counter(
            f"corridor_{service}_denied_requests_total",
            "Requests refused: by the caller's role (anonymous when unauthenticated) and the "
            "reason (unauthenticated, too_many_failures, not_visible, not_a_party, ...).",
            ["role", "reason"],
            registry=registry,
        )

    def deny(self, role: str, reason: str, **context: object) -> None:
        self.counter.labels(role, reason).inc()
        log.warning("request denied", extra={"role": role, "reason": reason, **context})


class TokenVerifier(Protocol):
    """Turns a bearer token that is not an API key (a JWT) into a principal."""

    async def verify(self, token: str) -> Principal | None: ...


class FailureLimiter:
    """Failed authentications per client address, over a moving window.

    The shared store is touched only when an authentication fails; an address found over
    the limit is also remembered here until its window passes, so that it is refused
    (``429``) without a round trip, whatever key it then sends.
    """

    def __init__(
        self, storage: Storage, limit: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.item: RateLimitItem = parse(limit)
        self.limiter = MovingWindowRateLimiter(storage)
        self.clock = clock
        self._blocked: dict[str, float] = {}  # address -> until (epoch seconds)

    def blocked_for(self, address: str) -> float | None:
        """Seconds until ``address`` may try again, or ``None``."""
        if not self._blocked:
            return None
        until = self._blocked.get(address)
        if until is None:
            return None
        left = until - self.clock()
        if left <= 0:
            del self._blocked[address]
            return None
        return left

    async def failed(self, address: str) -> float | None:
        """Count a failure; the seconds to wait if the address is now over the limit."""
        if await self.limiter.hit(self.item, "auth-failures", address):
            return None
        stats = await self.limiter.get_window_stats(self.item, "auth-failures", address)
        until = max(stats.reset_time, self.clock() + 1)
        if len(self._blocked) > 100_000:
            self._blocked.clear()
        self._blocked[address] = until
        return until - self.clock()


def retry_after(seconds: float) -> str:
    """``Retry-After`` in whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


class Authenticator:
    def __init__(
        self,
        registry: PrincipalRegistry,
        failures: FailureLimiter,
        denials: Denials,
        *,
        tokens: TokenVerifier | None = None,
        clock: Callable[[], datetime],
    ) -> None:
        self.registry = registry
        self.failures = failures
        self.denials = denials
        self.tokens = tokens
        self.clock = clock

    def known(self, authorization: str) -> Principal | None:
        """The principal of an API key, synchronously (the ingest hot path), else None."""
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.registry.authenticate(credential.strip(), self.clock())

    async def authenticate(self, authorization: str, address: str) -> Principal:
        """The caller's principal; raises ``Problem`` 401 (or 429 after many failures)."""
        wait = self.failures.blocked_for(address)
        if wait is not None:
            self.denials.deny(ANONYMOUS, TOO_MANY_FAILURES, client=address)
            raise too_many_failures(wait)
        principal = self.known(authorization)
        if principal is None and self.tokens is not None:
            scheme, _, credential = authorization.partition(" ")
            if scheme.lower() == "bearer" and credential.count(".") == 2:
                principal = await self.tokens.verify(credential.strip())
        if principal is not None:
            return principal
        wait = await self.failures.failed(address)
        if wait is not None:
            self.denials.deny(ANONYMOUS, TOO_MANY_FAILURES, client=address)
            raise too_many_failures(wait)
        self.denials.deny(ANONYMOUS, UNAUTHENTICATED, client=address)
        raise unauthenticated()


def unauthenticated() -> Problem:
    return Problem(
        401,
        "send 'Authorization: Bearer <api key or token>'",
        errors=[field_error("Authorization", "no, unknown or expired credential", "unauthorized")],
        headers={"WWW-Authenticate": "Bearer"},
    )


def too_many_failures(wait: float) -> Problem:
    return Problem(
        429,
        "too many failed authentications from this address; try again later",
        slug="too-many-failed-authentications",
        headers={"Retry-After": retry_after(wait)},
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


async def _principal(request: Request) -> Principal:
    auth = cast(Authenticator, request.app.state.authenticator)
    header = request.headers.get("authorization", "")
    principal = await auth.authenticate(header, client_address(request))
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(_principal)]


def denials_of(request: Request) -> Denials:
    return cast(Authenticator, request.app.state.authenticator).denials
