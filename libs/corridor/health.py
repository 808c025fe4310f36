"""``/healthz`` (the process is alive) and ``/readyz`` (its dependencies answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from corridor.problems import PROBLEM_JSON

ReadinessCheck = Callable[[], Awaitable[bool]]


def health_router(checks: Callable[[], Mapping[str, ReadinessCheck]]) -> APIRouter:
    """``checks`` is called per request, so the composition root can fill it in later."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        named = dict(checks())
        results = await asyncio.gather(*(_run(check) for check in named.values()))
        status = dict(zip(named, results, strict=True))
        if named and all(results):
            return JSONResponse({"status": "ready", "checks": status})
        body = {
            "type": "/problems/not-ready",
            "title": "Not ready",
            "status": 503,
            "detail": "not ready: " + ", ".join(k for k, ok in status.items() if not ok),
            "checks": status,
        }
        return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)

    return router


async def _run(check: ReadinessCheck) -> bool:
    try:
        async with asyncio.timeout(3):
            return await check()
    except Exception:
        return False
