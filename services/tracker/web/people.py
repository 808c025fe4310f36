"""Signing in and out. Both are forms that change something: each carries the CSRF token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from corridor.auth import client_address
from corridor.problems import Problem
from services.tracker.web.render import HEADERS, page, visitor, window_of
from services.tracker.web.session import (
    MAX_CREDENTIAL,
    authorization,
    changing_form,
    forget,
    local_path,
    remember,
)

router = APIRouter(prefix="/window", include_in_schema=False)


@router.get("/signin")
async def sign_in_form(request: Request, next: str = "/") -> Response:
    who = await visitor(request)
    return page(request, "signin.html", who, next=local_path(next), error=None)


@router.post("/signin")
async def sign_in(request: Request) -> Response:
    who = await visitor(request)
    window = window_of(request)
    try:
        fields = await changing_form(request)
    except Problem as problem:
        return page(request, "signin.html", who, problem.status, next="/", error=problem.detail)
    target = local_path(fields.get("next"))
    credential = fields.get("credential", "").strip()
    if credential.lower().startswith("bearer "):
        credential = credential[7:].strip()
    if not credential or len(credential) > MAX_CREDENTIAL:
        error = "Enter your key (demo-<id> in the local run) or your token."
        return page(request, "signin.html", who, 422, next=target, error=error)
    try:
        await window.authenticator.authenticate(authorization(credential), client_address(request))
    except Problem as problem:
        error = (
            "Too many failed attempts from this address; try again later."
            if problem.status == 429
            else "This key or token is not known, or has expired."
        )
        return page(request, "signin.html", who, problem.status, next=target, error=error)
    response = RedirectResponse(target, status_code=303, headers=HEADERS)
    remember(response, credential, window.config.secure_cookies)
    return response


@router.post("/signout")
async def sign_out(request: Request) -> Response:
    who = await visitor(request)
    try:
        await changing_form(request)
    except Problem as problem:
        return page(request, "error.html", who, problem.status, message=problem.detail)
    response = RedirectResponse("/", status_code=303, headers=HEADERS)
    forget(response, window_of(request).config.secure_cookies)
    return response
