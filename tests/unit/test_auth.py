"""Authentication shared by every service: keys, OIDC tokens, failure limits, denials."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client import CollectorRegistry

from corridor.auth import Authenticator, Denials, FailureLimiter, rate_limit_storage
from corridor.oidc import OidcConfig, OidcVerifier
from corridor.principals import DEMO_PRINCIPALS_FILE, Role, load_registry
from corridor.problems import Problem
from corridor.topology import load_topology

REGISTRY = load_registry(DEMO_PRINCIPALS_FILE, load_topology(), "local")
ISSUER = "https://keycloak.example/realms/corridor"


def _authenticator(limit: str = "3/minute", storage: str = "memory://") -> Authenticator:
    return Authenticator(
        REGISTRY,
        FailureLimiter(rate_limit_storage(storage), limit),
        Denials(CollectorRegistry(), "test"),
        clock=lambda: datetime.now(UTC),
    )


def _denied(auth: Authenticator, reason: str) -> float:
    return float(auth.denials.counter.labels("anonymous", reason)._value.get())


async def test_a_known_key_authenticates_and_an_unknown_one_is_401() -> None:
    auth = _authenticator()
    principal = await auth.authenticate("Bearer demo-customs-ge", "127.0.0.1")
    assert principal.id == "customs-ge"
    with pytest.raises(Problem) as refused:
        await auth.authenticate("Bearer not-a-key", "127.0.0.1")
    assert refused.value.status == 401
    assert refused.value.headers["WWW-Authenticate"] == "Bearer"
    with pytest.raises(Problem):
        await auth.authenticate("", "127.0.0.1")
    assert _denied(auth, "unauthenticated") == 2


async def test_failed_authentications_are_limited_per_address_with_retry_after() -> None:
    auth = _authenticator("3/minute")
    for _ in range(3):
        with pytest.raises(Problem) as refused:
            await auth.authenticate("Bearer guess", "10.0.0.1")
        assert refused.value.status == 401
    with pytest.raises(Problem) as limited:
        await auth.authenticate("Bearer guess", "10.0.0.1")
    assert limited.value.status == 429
    assert int(limited.value.headers["Retry-After"]) >= 1
    # Even a valid key is refused from a blocked address, but not from another one.
    with pytest.raises(Problem) as still:
        await auth.authenticate("Bearer demo-ktz", "10.0.0.1")
    assert still.value.status == 429
    assert (await auth.authenticate("Bearer demo-ktz", "10.0.0.2")).id == "ktz"
    assert _denied(auth, "too_many_failures") == 2


async def test_failure_limits_hold_across_replicas_through_redis() -> None:
    storage = "redis://127.0.0.1:6379"
    address = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    first, second = _authenticator("4/minute", storage), _authenticator("4/minute", storage)
    for replica in (first, second, first, second):
        with pytest.raises(Problem) as refused:
            await replica.authenticate("Bearer guess", address)
        assert refused.value.status == 401
    with pytest.raises(Problem) as limited:
        await first.authenticate("Bearer guess", address)  # the fifth, counted in Redis
    assert limited.value.status == 429


class _Jwks(BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def signing_key() -> Iterator[tuple[rsa.RSAPrivateKey, str]]:
    """An RSA key and the URL of a loopback JWKS endpoint that publishes it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    _Jwks.body = json.dumps({"keys": [public | {"kid": "k1", "use": "sig"}]}).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield key, f"http://127.0.0.1:{server.server_address[1]}/certs"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _token(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "corridor", "sub": "u-1", "iat": now, "exp": now + 300}
    return jwt.encode(body | claims, key, algorithm="RS256", headers={"kid": "k1"})


def _oidc_authenticator(jwks_url: str) -> Authenticator:
    auth = _authenticator()
    auth.tokens = OidcVerifier(OidcConfig(ISSUER, "corridor", jwks_url), REGISTRY)
    return auth


async def test_an_oidc_token_maps_its_claims_to_a_role(
    signing_key: tuple[rsa.RSAPrivateKey, str],
) -> None:
    key, url = signing_key
    auth = _oidc_authenticator(url)
    token = _token(
        key,
        realm_access={"roles": ["offline_access", "corridor-customs"]},
        corridor_countries=["GE"],
    )
    principal = await auth.authenticate(f"Bearer {token}", "127.0.0.1")
    assert (principal.id, principal.role, principal.countries) == (
        "u-1",
        Role.CUSTOMS,
        frozenset({"GE"}),
    )
    named = await auth.authenticate(f"Bearer {_token(key, corridor_principal='ktz')}", "127.0.0.1")
    assert named.id == "ktz"
    assert named.nodes


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 3600},  # expired
        {"aud": "someone-else"},
        {"iss": "https://evil.example/realms/corridor"},
        {"realm_access": {"roles": ["offline_access"]}},  # no corridor role
    ],
)
async def test_an_invalid_oidc_token_is_401(
    signing_key: tuple[rsa.RSAPrivateKey, str], claims: dict[str, Any]
) -> None:
    key, url = signing_key
    auth = _oidc_authenticator(url)
    with pytest.raises(Problem) as refused:
        await auth.authenticate(f"Bearer {_token(key, **claims)}", "127.0.0.1")
    assert refused.value.status == 401


async def test_a_token_signed_by_another_key_is_401(
    signing_key: tuple[rsa.RSAPrivateKey, str],
) -> None:
    _, url = signing_key
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = _token(other, realm_access={"roles": ["corridor-operator"]})
    with pytest.raises(Problem) as refused:
        await _oidc_authenticator(url).authenticate(f"Bearer {token}", "127.0.0.1")
    assert refused.value.status == 401
