"""Who may call the corridor: one registry of principals, their roles and their keys.

Every service loads the same file (``<SERVICE>_PRINCIPALS_FILE``; the shipped one holds the
demo principals of the local run). Keys are stored as SHA-256 hashes only. A principal may
hold several keys at once, each with an optional validity window (``not_before``,
``not_after``), so a key is rotated without downtime: add the new key, let both work during
the overlap, then the old one expires on its own.

Roles (docs/security.md):
- ``carrier``: posts events at the nodes it operates; reads the shipments it takes part in;
- ``party``: a shipper, consignee or forwarder; reads the shipments whose booking names it;
- ``customs``: reads the shipments whose booked route passes through its countries;
- ``operator``: the corridor's operators and the joint company: reads everything, sees the
  refused events, may amend any booking (and posts events where it has ``nodes``);
- ``partner``: reads what its grant allows (``countries`` and ``on_behalf_of``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from corridor.topology import Topology

DEMO_PRINCIPALS_FILE = Path(__file__).with_name("principals.yaml")
PRINCIPAL_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class Role(StrEnum):
    CARRIER = "carrier"
    PARTY = "party"
    CUSTOMS = "customs"
    OPERATOR = "operator"
    PARTNER = "partner"


class RegistryError(ValueError):
    """The registry file is unusable; the service must not start on it."""


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    role: Role
    # Corridor nodes where it reports events (carriers and operators only).
    nodes: frozenset[str] = frozenset()
    may_book: bool = False
    # The topology operator (``KTZ``, ``PORT-AKTAU``...) whose share of revenue it may read.
    operator: str | None = None
    # customs: its country (or countries); partner: the countries its grant covers.
    countries: frozenset[str] = frozenset()
    # partner: the principals whose shipments it may read on their behalf.
    on_behalf_of: frozenset[str] = frozenset()

    @property
    def may_post(self) -> bool:
        return self.role in (Role.CARRIER, Role.OPERATOR) and bool(self.nodes)

    def operates(self, node: str) -> bool:
        return node in self.nodes


@dataclass(frozen=True)
class ApiKey:
    sha256: str
    principal: str
    not_before: datetime | None = None
    not_after: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        if self.not_before is not None and now < self.not_before:
            return False
        return self.not_after is None or now < self.not_after


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def demo_key(principal_id: str) -> str:
    return f"demo-{principal_id}"


class PrincipalRegistry:
    """Finds the principal of an API key. The hash of each key seen is memoised (there are
    as many as there are keys), so the hot path is two dictionary accesses."""

    def __init__(self, principals: Mapping[str, Principal], keys: Iterable[ApiKey]) -> None:
        self.principals = dict(principals)
        self._keys: dict[str, ApiKey] = {}
        for key in keys:
            if key.sha256 in self._keys:
                raise RegistryError(f"principal {key.principal}: key hash used twice")
            if key.principal not in self.principals:
                raise RegistryError(f"key of unknown principal {key.principal}")
            self._keys[key.sha256] = key
        self._seen: dict[str, ApiKey | None] = {}

    def get(self, principal_id: str) -> Principal | None:
        return self.principals.get(principal_id)

    def authenticate(self, key: str, now: datetime) -> Principal | None:
        """The principal of ``key`` if the key is known and valid at ``now``."""
        if not key:
            return None
        try:
            found = self._seen[key]
        except KeyError:
            found = self._keys.get(key_hash(key))
            # Constant-time comparison of the digest found (the dict lookup is by hash).
            if found is not None and not hmac.compare_digest(found.sha256, key_hash(key)):
                found = None
            if found is not None or len(self._seen) < 10_000:
                self._seen[key] = found  # unknown keys too, boundedly (a flood of guesses)
        if found is None or not found.valid_at(now):
            return None
        return self.principals[found.principal]

    def demo_keys_accepted(self) -> list[str]:
        """Ids of principals one of whose keys is a demo key (``demo-<some id>``)."""
        demo = {key_hash(demo_key(pid)) for pid in self.principals}
        return sorted({k.principal for digest, k in self._keys.items() if digest in demo})

    def operators(self) -> frozenset[str]:
        return frozenset(p.id for p in self.principals.values() if p.role is Role.OPERATOR)


def _resolve_nodes(selectors: Iterable[Any], topology: Topology, owner: str) -> set[str]:
    nodes: set[str] = set()
    for selector in selectors:
        text = str(selector)
        if text == "*":
            matched = set(topology.nodes)
        elif text.endswith("*"):
            matched = {code for code in topology.nodes if code.startswith(text[:-1])}
        else:
            matched = {text} if text in topology.nodes else set()
        if not matched:
            raise RegistryError(f"principal {owner}: {text} matches no corridor node")
        nodes |= matched
    return nodes


def _moment(raw: Any, owner: str, name: str) -> datetime | None:
    if raw is None:
        return None
    moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    if moment.tzinfo is None:
        raise RegistryError(f"principal {owner}: {name} needs a UTC offset")
    return moment


def _keys(entry: Mapping[str, Any], pid: str) -> list[ApiKey]:
    raw = list(entry.get("keys", [])) + [{"sha256": d} for d in entry.get("api_key_sha256", [])]
    keys = []
    for item in raw:
        digest = str(item["sha256"]).lower()
        if not SHA256_HEX.match(digest):
            raise RegistryError(f"principal {pid}: {digest!r} is not a SHA-256 hex digest")
        keys.append(
            ApiKey(
                digest,
                pid,
                _moment(item.get("not_before"), pid, "not_before"),
                _moment(item.get("not_after"), pid, "not_after"),
            )
        )
    return keys


def _principal(entry: Mapping[str, Any], topology: Topology) -> Principal:
    pid = str(entry["id"])
    if not PRINCIPAL_ID.match(pid):
        raise RegistryError(f"principal {pid!r}: id must be [a-z0-9-], 1-32 characters")
    try:
        role = Role(str(entry.get("role", "carrier")))
    except ValueError:
        raise RegistryError(f"principal {pid}: unknown role {entry.get('role')!r}") from None
    nodes = _resolve_nodes(entry.get("nodes", []), topology, pid)
    if nodes and role not in (Role.CARRIER, Role.OPERATOR):
        raise RegistryError(f"principal {pid}: only carriers and operators report at nodes")
    operator = entry.get("operator")
    if operator is not None and operator not in topology.operators:
        raise RegistryError(f"principal {pid}: unknown topology operator {operator}")
    countries = frozenset(str(c) for c in entry.get("countries", []))
    if role is Role.CUSTOMS and not countries:
        raise RegistryError(f"principal {pid}: customs needs its countries")
    return Principal(
        id=pid,
        name=str(entry.get("name", pid)),
        role=role,
        nodes=frozenset(nodes),
        may_book=bool(entry.get("may_book", False)),
        operator=None if operator is None else str(operator),
        countries=countries,
        on_behalf_of=frozenset(str(p) for p in entry.get("on_behalf_of", [])),
    )


def parse_registry(raw: Mapping[str, Any], topology: Topology) -> PrincipalRegistry:
    principals: dict[str, Principal] = {}
    keys: list[ApiKey] = []
    try:
        # ``carriers`` is the older name of the list (INGEST_CARRIERS_FILE).
        for entry in list(raw.get("principals", [])) + list(raw.get("carriers", [])):
            principal = _principal(entry, topology)
            if principal.id in principals:
                raise RegistryError(f"principal {principal.id}: duplicate id")
            principals[principal.id] = principal
            found = _keys(entry, principal.id)
            if not found:
                raise RegistryError(f"principal {principal.id}: no key")
            keys += found
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, RegistryError):
            raise
        raise RegistryError(f"malformed principal registry: {exc!r}") from exc
    for principal in principals.values():
        unknown = sorted(principal.on_behalf_of - set(principals))
        if unknown:
            raise RegistryError(f"principal {principal.id}: on_behalf_of unknown {unknown}")
    if not principals:
        raise RegistryError("the principal registry lists no principal")
    return PrincipalRegistry(principals, keys)


def load_registry(path: Path, topology: Topology, environment: str) -> PrincipalRegistry:
    """Load the registry; in production, refuse one that accepts a demo key."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"cannot read principal registry {path}: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise RegistryError(f"{path}: expected a mapping with a 'principals' list")
    registry = parse_registry(raw, topology)
    if environment == "production":
        demo = registry.demo_keys_accepted()
        if demo:
            raise RegistryError(
                f"refusing to start in production: {path} accepts the demo keys of "
                f"{', '.join(demo)}; point the service's PRINCIPALS_FILE at the production "
                "registry"
            )
    return registry
