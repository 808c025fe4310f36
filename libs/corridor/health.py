"""``/healthz`` (the process is alive: restart it if not) and ``/readyz`` (it can serve:
take it out of the load balancer if not).

Readiness checks are async and may ask a dependency (broker, database). Liveness checks
are synchronous and look only at the process itself (e.g. the consumer loop's watchdog):
a slow database must never get a healthy pod restarted.
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
) -> APIRouter:
    """``checks`` and ``liveness`` are called per request, so the composition root can fill
    them in later."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        status = {name: _alive(check) for name, check in liveness().items()}
        if all(status.values()):
            return JSONResponse({"status": "ok", "checks": status})
        return _problem("not-alive", "Not alive", status)

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        named = dict(checks())
        results = await asyncio.gather(*(_run(check) for check in named.values()))
        status = dict(zip(named, results, strict=True))
        if named and all(results):
            return JSONResponse({"status": "ready", "checks": status})
        return _problem("not-ready", "Not ready", status)

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
