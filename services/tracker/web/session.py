"""Who is looking: the credential a person signed in with, kept in a cookie, and the CSRF
token of the forms that change something (sign-in, sign-out).

The credential (an API key, or an OIDC token where OIDC is configured) is checked by the
one authenticator of the API (``corridor.auth``): the page sees exactly the principal the
API would. Its cookie is HttpOnly (no script reads it) and SameSite=Strict (no other site
sends it), Secure outside the local run. CSRF: a random token in its own cookie and in a
hidden field of every changing form; a POST whose two copies differ is refused (the
double-submit pattern, on top of SameSite=Strict).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import Request, Response

from corridor.auth import Authenticator, client_address
from corridor.principals import Principal
from corridor.problems import Problem

KEY_COOKIE = "corridor_key"
CSRF_COOKIE = "corridor_csrf"
CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 8192
MAX_CREDENTIAL = 4096
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Visitor:
    """The person looking at the page: signed in (``principal``) or not, and the token
    their forms must carry."""

    principal: Principal | None
    credential: str | None
    csrf: str
    new_csrf: bool
    stale_key: bool  # a cookie held a key that no longer authenticates

    @property
    def signed_in(self) -> bool:
        return self.principal is not None


def authorization(credential: str) -> str:
    return f"Bearer {credential}"


async def visitor_of(request: Request, authenticator: Authenticator) -> Visitor:
    """The visitor of ``request``. A cookie whose key no longer authenticates (expired,
    rotated out) makes a visitor who is not signed in, and the cookie is cleared."""
    csrf = request.cookies.get(CSRF_COOKIE, "")
    new_csrf = len(csrf) < 32
    if new_csrf:
        csrf = secrets.token_urlsafe(32)
    credential = request.cookies.get(KEY_COOKIE)
    principal = None
    stale = False
    if credential:
        try:
            principal = await authenticator.authenticate(
                authorization(credential), client_address(request)
            )
        except Problem:
            credential, stale = None, True
    return Visitor(principal, credential if principal else None, csrf, new_csrf, stale)


def keep_cookies(response: Response, visitor: Visitor, secure: bool) -> None:
    """Set the CSRF cookie if it is new; clear a stale key."""
    if visitor.new_csrf:
        response.set_cookie(
            CSRF_COOKIE, visitor.csrf, httponly=True, samesite="strict", secure=secure, path="/"
        )
    if visitor.stale_key:
        forget(response, secure)


def remember(response: Response, credential: str, secure: bool) -> None:
    response.set_cookie(
        KEY_COOKIE,
        credential,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


def forget(response: Response, secure: bool) -> None:
    response.delete_cookie(KEY_COOKIE, path="/", httponly=True, samesite="strict", secure=secure)


async def changing_form(request: Request) -> dict[str, str]:
    """The fields of a POSTed form (``application/x-www-form-urlencoded``), after the CSRF
    check; ``Problem`` 403 when the token is missing or wrong, 413/415 on a body that is
    not a small form."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/x-www-form-urlencoded":
        raise Problem(415, "send the form as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Problem(413, f"a form of at most {MAX_FORM_BYTES} bytes")
    fields = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
    sent, kept = fields.get(CSRF_FIELD, ""), request.cookies.get(CSRF_COOKIE, "")
    if not sent or not kept or not hmac.compare_digest(sent.encode(), kept.encode()):
        raise Problem(403, "the form's CSRF token is missing or does not match; reload the page")
    return fields


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
