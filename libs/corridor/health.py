"""``/healthz`` (the process is alive: restart it if not) and ``/readyz`` (it can serve
what it serves: take it out of the load balancer if not).

Readiness checks are async and may ask a dependency (broker, database). Liveness checks
are synchronous and look only at the process itself (e.g. the consumer loop's watchdog):
a slow database must never get a healthy pod restarted.

``degraded`` checks are reported by ``/readyz`` but never fail it: a dependency the pod can
do without for what it serves. The broker is one for every service: ingest answers a
carrier 503 with ``Retry-After`` itself when Kafka does not acknowledge (counted in its
metrics, which the alerts watch), instead of leaving the Service so that the carrier gets
an error from the load balancer that nothing counts; the tracker and the tariff keep
serving reads from their databases while their consumers wait for the broker. The answer
is then 200 with ``"status": "degraded"`` and the failing checks named.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from corridor.problems import PROBLEM_JSON

ReadinessCheck = Callable[[], Awaitable[bool]]
LivenessCheck = Callable[[], bool]


def health_router(
    checks: Callable[[], Mapping[str, ReadinessCheck]],
    liveness: Callable[[], Mapping[str, LivenessCheck]] = dict,
    degraded: Callable[[], Mapping[str, ReadinessCheck]] = dict,
) -> APIRouter:
    """``checks``, ``liveness`` and ``degraded`` are called per request, so the composition
    root can fill them in later."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        status = {name: _alive(check) for name, check in liveness().items()}
        if all(status.values()):
            return JSONResponse({"status": "ok", "checks": status})
        return _problem("not-alive", "Not alive", status)

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        required, optional = dict(checks()), dict(degraded())
        named = {**required, **optional}
        results = await asyncio.gather(*(_run(check) for check in named.values()))
        status = dict(zip(named, results, strict=True))
        if not required or not all(status[name] for name in required):
            return _problem("not-ready", "Not ready", status)
        failing = [name for name in optional if not status[name]]
        if failing:
            return JSONResponse({"status": "degraded", "checks": status, "degraded": failing})
        return JSONResponse({"status": "ready", "checks": status})

    return router


def _problem(kind: str, title: str, status: Mapping[str, bool]) -> JSONResponse:
    body = {
        "type": f"/problems/{kind}",
        "title": title,
        "status": 503,
        "detail": f"{title.lower()}: " + ", ".join(k for k, ok in status.items() if not ok),
        "checks": dict(status),
    }
    return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)


def _alive(check: LivenessCheck) -> bool:
    try:
        return check()
    except Exception:
        return False


async def _run(check: ReadinessCheck) -> bool:
    try:
        async with asyncio.timeout(3):
            return await check()
    except Exception:
        return False
