"""Who may read what: the read side of the trust rules (``corridor.parties`` is the write
side), shared by the tracker and the tariff. Pure: no I/O.

Each shipment has **access scopes**: ``p:<principal>`` for its booker, leg carriers and
named parties, ``r:<origin>:<destination>`` for the routes its booking names. Each
principal has the scopes it reads through: itself, and the routes that cross a node it
operates (carriers) or one of its countries (customs, partners' grants). Operators read
everything. A few rows a shipment, whatever the length of its route.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from corridor.parties import BookingFacts, TrustRules, _route
from corridor.principals import Principal, Role
from corridor.topology import Topology


def _route_scope(origin: str, destination: str) -> str:
    return f"r:{origin}:{destination}"


def access_scopes(rules: TrustRules, booking: BookingFacts | None) -> frozenset[str]:
    """The scopes through which a shipment can be read (operators read everything):
    ``p:<principal>`` for its booker, leg carriers and named parties, and ``r:<origin>:
    <destination>`` for each route the booking names (its own, its legs'). A few rows a
    shipment, whatever the length of its route: the nodes and countries a route crosses
    are matched on the reader's side (``principal_scopes``)."""
    if booking is None:
        return frozenset()
    scopes = {f"p:{booking.booker}", _route_scope(booking.origin, booking.destination)}
    scopes |= {f"p:{leg.carrier}" for leg in booking.legs}
    scopes |= {
        _route_scope(g.origin, g.destination) for g in booking.legs if g.origin and g.destination
    }
    scopes |= {f"p:{pid}" for pid in booking.parties.values() if pid}
    return frozenset(scopes)


def principal_scopes(rules: TrustRules, principal: Principal) -> frozenset[str] | None:
    """The scopes a principal reads through; ``None``: everything (operators). A carrier
    reads the routes that cross a node it operates, customs (and a partner's grant) the
    routes that cross their countries."""
    if principal.role is Role.OPERATOR:
        return None
    return _principal_scopes(rules.topology, principal)


@lru_cache(maxsize=1024)
def _principal_scopes(topology: Topology, principal: Principal) -> frozenset[str]:
    scopes = {f"p:{principal.id}"}
    nodes: set[str] = set()
    if principal.role is Role.CARRIER:
        nodes |= principal.nodes
    if principal.role in (Role.CUSTOMS, Role.PARTNER):
        nodes |= {code for code, n in topology.nodes.items() if n.country in principal.countries}
    if principal.role is Role.PARTNER:
        scopes |= {f"p:{pid}" for pid in principal.on_behalf_of}
    if nodes:
        for origin in topology.nodes:
            for destination in topology.nodes:
                if origin != destination and nodes & _route(topology, origin, destination, ()):
                    scopes.add(_route_scope(origin, destination))
    return frozenset(scopes)


def may_read(rules: TrustRules, principal: Principal, scopes: Iterable[str]) -> bool:
    mine = principal_scopes(rules, principal)
    return mine is None or not mine.isdisjoint(scopes)


def sees_cargo_details(principal: Principal, booking: BookingFacts | None) -> bool:
    """Property level: whether a principal that may read a shipment also sees its cargo
    description, HS code and named parties. Every role but ``carrier`` does (operators,
    customs, the named parties and their partners); a carrier only when it booked the
    shipment or is named on a leg, not when it merely operates a node on the route."""
    if principal.role is not Role.CARRIER:
        return True
    if booking is None:
        return False
    return principal.id == booking.booker or any(g.carrier == principal.id for g in booking.legs)


def revenue_shares_visible(principal: Principal) -> frozenset[str] | None:
    """The topology operators whose revenue share the principal may read; ``None``: all."""
    if principal.role is Role.OPERATOR:
        return None
    if principal.role is Role.CARRIER and principal.operator is not None:
        return frozenset({principal.operator})
    return frozenset()
