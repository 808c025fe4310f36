"""OpenID Connect: verify a JWT of the configured issuer and map its claims to a principal.

Signature (from the issuer's JWKS), issuer, audience and expiry are checked by PyJWT. The
principal is the registry entry named by ``principal_claim`` when there is one (so a
carrier signing in through Keycloak keeps the nodes and grants of its registry entry);
otherwise it is built from the token: id from ``sub``, role from the first value of
``roles_claim`` (a dotted path, Keycloak's ``realm_access.roles``) that names a role after
``role_prefix`` (``corridor-customs``), countries from ``countries_claim``. A token whose
claims give no role is refused. docs/security.md has a Keycloak example.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from corridor.principals import Principal, PrincipalRegistry, Role

log = logging.getLogger(__name__)
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str
    principal_claim: str = "corridor_principal"
    roles_claim: str = "realm_access.roles"
    role_prefix: str = "corridor-"
    countries_claim: str = "corridor_countries"
    leeway_seconds: float = 30.0


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class OidcVerifier:
    def __init__(self, config: OidcConfig, registry: PrincipalRegistry) -> None:
        self.config = config
        self.registry = registry
        # Caches the issuer's keys; fetched again when a token names an unknown key id.
        self.jwks = jwt.PyJWKClient(config.jwks_url, cache_keys=True, lifespan=300, timeout=5)

    async def verify(self, token: str) -> Principal | None:
        try:
            # The first use (and a key rotation) fetches the JWKS: keep it off the loop.
            key = await asyncio.to_thread(self.jwks.get_signing_key_from_jwt, token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except (jwt.PyJWTError, OSError) as exc:
            log.info("token refused", extra={"error": type(exc).__name__})
            return None
        return self.principal_of(claims)

    def principal_of(self, claims: Mapping[str, Any]) -> Principal | None:
        named = _claim(claims, self.config.principal_claim)
        if isinstance(named, str):
            known = self.registry.get(named)
            if known is not None:
                return known
        roles = _claim(claims, self.config.roles_claim)
        role = None
        for value in roles if isinstance(roles, list) else []:
            name = str(value).removeprefix(self.config.role_prefix)
            if str(value).startswith(self.config.role_prefix) and name in Role.__members__.values():
                role = Role(name)
                break
        if role is None:
            return None
        countries = _claim(claims, self.config.countries_claim)
        return Principal(
            id=str(claims["sub"]),
            name=str(claims.get("name") or claims.get("preferred_username") or claims["sub"]),
            role=role,
            countries=frozenset(str(c) for c in countries)
            if isinstance(countries, list)
            else frozenset(),
        )
