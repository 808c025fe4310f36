"""What the standards' mappings share: their result, URIs and corridor nodes. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from corridor.identifiers import gln_error, gs1_check_digit
from corridor.topology import Topology
from services.ingest.domain import Violation

SGLN = re.compile(r"^urn:epc:id:sgln:([0-9]+)\.([0-9]*)\.(.*)$")
DIGITAL_LINK = re.compile(r"^https?://[^/]+(?:/[^/]+)*?/414/([^/?#]+)(?:[/?#].*)?$")


@dataclass(frozen=True, slots=True)
class Mapped:
    """A native event body (what ``POST /v1/events`` takes) and, per native field, the
    field of the standard it came from, so that every later error names the latter."""

    body: dict[str, Any]
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Unmapped:
    """An event that cannot become a native one: every reason, each naming its field."""

    event_id: str | None
    violations: list[Violation]


def source_field(native: str, fields: dict[str, str]) -> str:
    """The standard's name of a native field path (``location`` -> ``readPoint.id``)."""
    head, dot, rest = native.partition(".")
    name = fields.get(head)
    if name is None:
        return native
    return name + dot + rest


def text(raw: dict[str, Any], key: str) -> str | None:
    """A non-blank string member, stripped; ``None`` when absent, blank or not a string."""
    value = raw.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def last_segment(uri: str) -> str:
    """The last ``/`` or ``:`` segment of a URI or URN, without its query or fragment."""
    bare = re.split(r"[?#]", uri, maxsplit=1)[0].rstrip("/:")
    return re.split(r"[/:]", bare)[-1]


def node_of(uri: str, topology: Topology) -> tuple[str | None, str]:
    """The corridor node a location URI names, else ``None`` and why not.

    An SGLN URN or a GS1 Digital Link (``/414/<GLN>``) names the node that GLN is
    registered for (``gln`` in corridor.yaml); any other URI names the node whose
    UN/LOCODE is its last segment (``urn:unece:unlocode:KZAAU``)."""
    gln: str | None = None
    if (sgln := SGLN.match(uri)) is not None:
        digits = sgln[1] + sgln[2]
        if len(digits) != 12:
            return None, "an SGLN's company prefix and location reference are 12 digits"
        gln = digits + str(gs1_check_digit(digits))
    elif (link := DIGITAL_LINK.match(uri)) is not None:
        gln = link[1]
        error = gln_error(gln)
        if error is not None:
            return None, f"GLN {gln!r} {error}"
    if gln is not None:
        code = topology.glns.get(gln)
        if code is None:
            return None, f"GLN {gln} is not registered for any corridor node"
        return code, ""
    code = last_segment(uri).upper()
    if code in topology.nodes:
        return code, ""
    return None, f"{uri!r} names no corridor node (a registered GLN or a UN/LOCODE)"
