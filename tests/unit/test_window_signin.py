"""Signing in to the single window, over the tracker's real app (no lifespan: signing in
touches neither the broker nor the database): a key or, where OIDC is configured, a token;
the cookie's flags; CSRF; a credential that stops working; where it sends the person."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.tracker.app import create_app
from services.tracker.settings import TrackerSettings
from tests.unit.test_auth import ISSUER, _token, signing_key

__all__ = ["signing_key"]  # the fixture, shared with the authentication tests

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def client(
    signing_key: tuple[rsa.RSAPrivateKey, str], tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = TrackerSettings(
        environment="local",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}",
        oidc_issuer=ISSUER,
        oidc_audience="corridor",
        oidc_jwks_url=signing_key[1],
        window_secure_cookies=True,
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="https://window.test") as c:
        yield c


async def sign_in(client: httpx.AsyncClient, credential: str, target: str = "/") -> httpx.Response:
    form = await client.get("/window/signin")
    match = CSRF.search(form.text)
    assert match is not None
    return await client.post(
        "/window/signin",
        data={"credential": credential, "csrf_token": match.group(1), "next": target},
    )


async def test_a_key_signs_in_into_an_httponly_strict_secure_cookie(
    client: httpx.AsyncClient,
) -> None:
    response = await sign_in(client, "demo-customs-ge", "/window/search")
    assert response.status_code == 303
    assert response.headers["location"] == "/window/search"
    cookie = next(c for c in response.headers.get_list("set-cookie") if "corridor_key=" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" in cookie
    page = await client.get("/window/signin")
    assert "customs-ge, customs" in page.text


async def test_an_oidc_token_signs_in_as_the_principal_its_claims_name(
    client: httpx.AsyncClient, signing_key: tuple[rsa.RSAPrivateKey, str]
) -> None:
    token = _token(signing_key[0], realm_access={"roles": ["corridor-customs"]})
    assert (await sign_in(client, token)).status_code == 303
    assert "u-1, customs" in (await client.get("/window/signin")).text


async def test_an_expired_token_in_the_cookie_signs_the_person_out(
    client: httpx.AsyncClient, signing_key: tuple[rsa.RSAPrivateKey, str]
) -> None:
    expired = _token(signing_key[0], corridor_principal="ktz", exp=int(time.time()) - 60)
    client.cookies.set("corridor_key", expired, domain="window.test")
    page = await client.get("/window/signin")
    assert "Signed in as" not in page.text
    assert any(
        c.startswith('corridor_key=""') for c in page.headers.get_list("set-cookie")
    )  # cleared


async def test_an_unknown_key_is_refused_with_a_clear_message(client: httpx.AsyncClient) -> None:
    response = await sign_in(client, "demo-nobody")
    assert response.status_code == 401
    assert "not known, or has expired" in response.text
    assert "corridor_key" not in client.cookies


async def test_a_form_without_its_csrf_token_changes_nothing(client: httpx.AsyncClient) -> None:
    await client.get("/window/signin")
    missing = await client.post("/window/signin", data={"credential": "demo-ktz"})
    assert missing.status_code == 403
    forged = await client.post(
        "/window/signin", data={"credential": "demo-ktz", "csrf_token": "forged-token"}
    )
    assert forged.status_code == 403
    assert (await client.post("/window/signout")).status_code == 415
    assert "corridor_key" not in client.cookies


async def test_signing_in_never_sends_the_person_to_another_site(
    client: httpx.AsyncClient,
) -> None:
    response = await sign_in(client, "demo-ktz", "//evil.example/")
    assert response.headers["location"] == "/"


async def test_pages_forbid_framing_inline_script_and_caching(client: httpx.AsyncClient) -> None:
    page = await client.get("/window/signin")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
