"""The carrier registry: API keys (stored as SHA-256 hashes) to carriers and their rights.

The carrier of an event always comes from its key, never from the request body.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from corridor.topology import Topology

CARRIER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# The demo carriers of the local run; their keys are ``demo-<id>``.
DEMO_CARRIER_IDS = ("ktz", "ady", "gr", "asco", "port-aktau", "port-baku", "port-poti", "mcm")


class CarrierRegistryError(ValueError):
    """The registry file is unusable; ingest must not start on it."""


@dataclass(frozen=True)
class Carrier:
    id: str
    name: str
    nodes: frozenset[str]
    may_book: bool

    def operates(self, node: str) -> bool:
        return node in self.nodes


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def demo_key(carrier_id: str) -> str:
    return f"demo-{carrier_id}"


class CarrierRegistry:
    """Finds the carrier of an API key. Successful look-ups are memoised by key (there are
    as many as there are keys), so the hot path is one dictionary access."""

    def __init__(self, carriers: Mapping[str, Carrier], key_hashes: Mapping[str, str]) -> None:
        self.carriers = dict(carriers)
        self._by_hash = dict(key_hashes)  # sha256 hex -> carrier id
        self._by_key: dict[str, Carrier] = {}

    def authenticate(self, key: str) -> Carrier | None:
        carrier = self._by_key.get(key)
        if carrier is not None:
            return carrier
        carrier_id = self._by_hash.get(key_hash(key))
        if carrier_id is None:
            return None
        carrier = self.carriers[carrier_id]
        self._by_key[key] = carrier
        return carrier

    def demo_keys_accepted(self) -> list[str]:
        """Ids of carriers one of whose keys is a demo key (``demo-<some carrier id>``)."""
        demo = {key_hash(demo_key(cid)) for cid in {*DEMO_CARRIER_IDS, *self.carriers}}
        return sorted({cid for digest, cid in self._by_hash.items() if digest in demo})


def _resolve_nodes(selectors: Iterable[Any], topology: Topology, carrier_id: str) -> set[str]:
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
            raise CarrierRegistryError(f"carrier {carrier_id}: {text} matches no corridor node")
        nodes |= matched
    return nodes


def parse_registry(raw: Mapping[str, Any], topology: Topology) -> CarrierRegistry:
    carriers: dict[str, Carrier] = {}
    hashes: dict[str, str] = {}
    try:
        entries = list(raw["carriers"])
        for entry in entries:
            cid = str(entry["id"])
            if not CARRIER_ID.match(cid):
                raise CarrierRegistryError(f"carrier {cid!r}: id must be [a-z0-9-], 1-32 chars")
            if cid in carriers:
                raise CarrierRegistryError(f"carrier {cid}: duplicate id")
            digests = [str(d).lower() for d in entry["api_key_sha256"]]
            if not digests:
                raise CarrierRegistryError(f"carrier {cid}: no api_key_sha256")
            for digest in digests:
                if not SHA256_HEX.match(digest):
                    raise CarrierRegistryError(f"carrier {cid}: {digest!r} is not a SHA-256 hex")
                if digest in hashes:
                    raise CarrierRegistryError(
                        f"carrier {cid}: key hash already used by {hashes[digest]}"
                    )
                hashes[digest] = cid
            nodes = _resolve_nodes(entry["nodes"], topology, cid)
            carriers[cid] = Carrier(
                cid, str(entry.get("name", cid)), frozenset(nodes), bool(entry.get("may_book"))
            )
    except (KeyError, TypeError) as exc:
        raise CarrierRegistryError(f"malformed carrier registry: {exc!r}") from exc
    if not carriers:
        raise CarrierRegistryError("the carrier registry lists no carrier")
    return CarrierRegistry(carriers, hashes)


def load_registry(path: Path, topology: Topology, environment: str) -> CarrierRegistry:
    """Load the registry; in production, refuse one that accepts a demo key."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CarrierRegistryError(f"cannot read carrier registry {path}: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise CarrierRegistryError(f"{path}: expected a mapping with a 'carriers' list")
    registry = parse_registry(raw, topology)
    if environment == "production":
        demo = registry.demo_keys_accepted()
        if demo:
            raise CarrierRegistryError(
                f"refusing to start in production: {path} accepts the demo keys of "
                f"{', '.join(demo)}; set INGEST_CARRIERS_FILE to the production registry"
            )
    return registry
