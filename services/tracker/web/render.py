"""One way to answer with a page: the template, who is looking, the security headers."""

from __future__ import annotations

from typing import Any, cast

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import URL

from services.tracker.web import Window
from services.tracker.web.session import CSRF_FIELD, Visitor, keep_cookies, visitor_of

# No script, style or frame from elsewhere; forms post here only; nothing inline runs.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages can show what only the signed-in person may see: never kept by a cache.
    "Cache-Control": "no-store",
}


def window_of(request: Request) -> Window:
    return cast(Window, request.app.state.window)


async def visitor(request: Request) -> Visitor:
    return await visitor_of(request, window_of(request).authenticator)


def page(request: Request, name: str, who: Visitor, status: int = 200, **context: Any) -> Response:
    window = window_of(request)
    response = window.templates.TemplateResponse(
        request,
        name,
        {"visitor": who, "csrf_field": CSRF_FIELD, "here": request.url.path, **context},
        status_code=status,
        headers=HEADERS,
    )
    keep_cookies(response, who, window.config.secure_cookies)
    return response


def fragment(request: Request, name: str, **context: Any) -> str:
    return window_of(request).templates.get_template(name).render(context)


def to_sign_in(request: Request, who: Visitor) -> Response:
    """Not signed in: to the sign-in page, and back here afterwards."""
    target = URL("/window/signin").include_query_params(next=str(request.url.path))
    response = RedirectResponse(str(target), status_code=303, headers=HEADERS)
    keep_cookies(response, who, window_of(request).config.secure_cookies)
    return response
