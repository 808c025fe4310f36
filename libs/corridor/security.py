"""Composition of the trust machinery every service shares: the principal registry, the
trust rules, the authenticator (API keys, OIDC tokens, failure limits, denial metrics)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry

from corridor.auth import Authenticator, Denials, FailureLimiter, rate_limit_storage
from corridor.oidc import OidcConfig, OidcVerifier
from corridor.parties import TrustRules
from corridor.principals import PrincipalRegistry, load_registry
from corridor.settings import ServiceSettings
from corridor.topology import Topology


@dataclass(frozen=True)
class Security:
    principals: PrincipalRegistry
    rules: TrustRules
    authenticator: Authenticator


def trust_rules(
    settings: ServiceSettings, topology: Topology, principals: PrincipalRegistry
) -> TrustRules:
    return TrustRules(
        topology,
        principals,
        booking_tolerance=timedelta(seconds=settings.booking_tolerance_seconds),
        max_age=timedelta(seconds=settings.max_event_age_seconds),
        hold_window=timedelta(seconds=settings.hold_window_seconds),
    )


def build_security(
    settings: ServiceSettings,
    topology: Topology,
    metrics: CollectorRegistry,
    service: str,
    clock: Callable[[], datetime],
) -> Security:
    """Raises (and so stops the start) on a broken registry, or demo keys in production."""
    principals = load_registry(settings.principals_file, topology, settings.environment)
    tokens = None
    if settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url:
        tokens = OidcVerifier(
            OidcConfig(
                issuer=settings.oidc_issuer,
                audience=settings.oidc_audience,
                jwks_url=settings.oidc_jwks_url,
                principal_claim=settings.oidc_principal_claim,
                roles_claim=settings.oidc_roles_claim,
                role_prefix=settings.oidc_role_prefix,
                countries_claim=settings.oidc_countries_claim,
            ),
            principals,
        )
    failures = FailureLimiter(
        rate_limit_storage(settings.rate_limit_storage), settings.auth_failure_limit
    )
    authenticator = Authenticator(
        principals, failures, Denials(metrics, service), tokens=tokens, clock=clock
    )
    return Security(principals, trust_rules(settings, topology, principals), authenticator)
