"""GS1 EPCIS 2.0 (JSON / JSON-LD) events as native corridor events. Pure.

An ``ObjectEvent`` whose business step is a transport step maps onto one native event per
container of its EPC list (``urn:epc:id:bic:<ISO 6346>``): the node from
``bizLocation`` else ``readPoint``, the shipment from the ``bol`` business transaction, the
time from ``eventTime`` in ``eventTimeZoneOffset``. The table is in docs/standards.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from corridor.identifiers import CONTAINER_NO, container_no_error
from corridor.topology import Topology
from services.ingest.domain import Violation
from services.ingest.schemas import MAX_BATCH_EVENTS
from services.ingest.standards.common import Mapped, Unmapped, last_segment, node_of, text

# CBV 2.0 business steps of transport, and the native event each is.
STEPS = {
    "departing": "DEPARTED",
    "arriving": "ARRIVED",
    "loading": "LOADED",
    "unloading": "DISCHARGED",
    "receiving": "GATE_IN",
    "shipping": "GATE_OUT",
    "inspecting": "CUSTOMS_HOLD",  # CUSTOMS_RELEASED with the disposition `conformant`
    "holding": "CUSTOMS_HOLD",
}
RELEASED_BY = frozenset({"conformant"})  # dispositions ending an inspection
ACTIONS = frozenset({"OBSERVE", "ADD"})
BIC = "urn:epc:id:bic:"
# A CBV term is written bare, as a URN or as a Web URI (CBV 2.0, section 6); JSON-LD may
# also compact the Web URI with the context's `cbv:` prefix.
VOCABULARIES = {
    "bizstep": ("urn:epcglobal:cbv:bizstep:", "ref.gs1.org/cbv/BizStep-", "cbv:BizStep-"),
    "disp": ("urn:epcglobal:cbv:disp:", "ref.gs1.org/cbv/Disp-", "cbv:Disp-"),
    "btt": ("urn:epcglobal:cbv:btt:", "ref.gs1.org/cbv/BTT-", "cbv:BTT-"),
}
OFFSET = re.compile(r"^[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]$")


class DocumentError(ValueError):
    """The document itself is not an EPCIS 2.0 document: nothing of it is captured."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def term(value: str, vocabulary: str) -> str:
    """The bare CBV term of ``value`` (``departing`` from any of its three forms)."""
    urn, web, compact = VOCABULARIES[vocabulary]
    if value.startswith(urn):
        return value[len(urn) :]
    for prefix in ("https://", "http://"):
        if value.startswith(prefix + web):
            return value[len(prefix + web) :]
    return value.removeprefix(compact)


# Where each kind of document holds its events (the REST binding captures both).
EVENT_LISTS = {
    "EPCISDocument": ("epcisBody", "eventList"),
    "EPCISQueryDocument": ("epcisBody", "queryResults", "resultsBody", "eventList"),
}


def document_events(document: Any) -> list[Any]:
    """The events of an ``EPCISDocument`` or ``EPCISQueryDocument`` (``DocumentError``
    when it is neither)."""
    if not isinstance(document, dict):
        raise DocumentError("", "must be an EPCISDocument object")
    path = EVENT_LISTS.get(str(document.get("type")))
    if path is None:
        raise DocumentError("type", "must be EPCISDocument or EPCISQueryDocument")
    version = document.get("schemaVersion")
    if not (isinstance(version, str) and version.split(".")[0] == "2"):
        raise DocumentError("schemaVersion", "must be 2.0 (EPCIS 2.0)")
    events: Any = document
    for key in path:
        events = events.get(key) if isinstance(events, dict) else None
    field = ".".join(path)
    if not isinstance(events, list) or not events:
        raise DocumentError(field, "must be a list of 1 or more events")
    if len(events) > MAX_BATCH_EVENTS:
        raise DocumentError(field, f"holds at most {MAX_BATCH_EVENTS} events a capture")
    return events


def event_id_of(raw: dict[str, Any]) -> str:
    """``eventID`` when given, else a digest of the event's content: the same event sent
    again has the same id (and so is applied once)."""
    given = text(raw, "eventID")
    if given is not None:
        return given
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "epcis-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def map_event(raw: Any, topology: Topology) -> list[Mapped] | Unmapped:
    """One EPCIS event as native event bodies, one per container it names (a train or a
    vessel loading many at once), or every reason it cannot be mapped. Its events share
    its fate: ``capture`` publishes all of them or none."""
    if not isinstance(raw, dict):
        return Unmapped(None, [Violation("", "must be an EPCIS event object", "type")])
    event_id = event_id_of(raw)
    found: list[Violation] = []
    if raw.get("type") != "ObjectEvent":
        message = f"{raw.get('type')!r} is not mapped: send ObjectEvents"
        found.append(Violation("type", message, "not_mapped"))
    if text(raw, "action") not in ACTIONS:
        found.append(Violation("action", "must be OBSERVE or ADD", "not_mapped"))
    if "errorDeclaration" in raw:
        found.append(
            Violation(
                "errorDeclaration",
                "corrections of earlier events are not captured; post an EXCEPTION instead",
                "not_mapped",
            )
        )
    step = _step(raw, found)
    containers = _containers(raw, found)
    location, location_field = _location(raw, topology, found)
    shipment = _shipment(raw, found)
    occurred_at = _time(raw, found)
    if found or step is None:
        return Unmapped(event_id, found)
    event_type, reason = step
    fields = {
        "event_id": "eventID",
        "event_type": "bizStep",
        "occurred_at": "eventTime",
        "shipment_id": "bizTransactionList",
        "location": location_field,
        "container_no": "epcList",
        "wagon_no": "epcList",
        "reason": "bizStep",
    }
    mapped = []
    for container in containers:
        body: dict[str, Any] = {
            # One container: the event's id; several: each its own, after the container.
            "event_id": event_id if len(containers) == 1 else f"{event_id}#{container}",
            "event_type": event_type,
            "classifier": "ACT",
            "occurred_at": occurred_at,
            "shipment_id": shipment,
            "location": location,
            "container_no": container,
        }
        if reason is not None:
            body["reason"] = reason
        mapped.append(Mapped(body, fields))
    return mapped


def containers_named(events: list[Any]) -> int:
    """How many corridor events the EPCIS events may become (bounds a request's work)."""
    return sum(
        max(1, len(_bics(event.get("epcList")))) if isinstance(event, dict) else 1
        for event in events
    )


def _bics(epcs: Any) -> list[str]:
    if not isinstance(epcs, list):
        return []
    found = (epc[len(BIC) :] for epc in epcs if isinstance(epc, str) and epc.startswith(BIC))
    return list(dict.fromkeys(found))


def _step(raw: dict[str, Any], found: list[Violation]) -> tuple[str, str | None] | None:
    value = text(raw, "bizStep")
    if value is None:
        found.append(Violation("bizStep", "is required: a transport business step", "missing"))
        return None
    step = term(value, "bizstep")
    event_type = STEPS.get(step)
    if event_type is None:
        found.append(
            Violation(
                "bizStep",
                f"{value!r} is not a transport business step ({', '.join(STEPS)})",
                "not_mapped",
            )
        )
        return None
    disposition = text(raw, "disposition")
    disposition = None if disposition is None else term(disposition, "disp")
    if step == "inspecting" and disposition in RELEASED_BY:
        return "CUSTOMS_RELEASED", None
    if event_type == "CUSTOMS_HOLD":
        return event_type, f"EPCIS {step}" + (f" ({disposition})" if disposition else "")
    return event_type, None


def _containers(raw: dict[str, Any], found: list[Violation]) -> list[str]:
    containers = _bics(raw.get("epcList"))
    if not containers:
        message = "must name the container(s) as urn:epc:id:bic:<ISO 6346 number>"
        found.append(Violation("epcList", message, "missing"))
    elif len(containers) > MAX_BATCH_EVENTS:
        message = f"names {len(containers)} containers; at most {MAX_BATCH_EVENTS} an event"
        found.append(Violation("epcList", message, "too_many"))
    for container in containers[:MAX_BATCH_EVENTS]:
        # Here rather than in the native check: a wrong number refuses the whole event.
        error = container_no_error(container)
        if error is not None:
            code = "check_digit" if CONTAINER_NO.match(container) else "format"
            found.append(Violation("epcList", f"{container}: {error}", code))
    return containers


def _location(
    raw: dict[str, Any], topology: Topology, found: list[Violation]
) -> tuple[str | None, str]:
    for name in ("bizLocation", "readPoint"):
        holder = raw.get(name)
        if holder is None:
            continue
        uri = text(holder, "id") if isinstance(holder, dict) else None
        if uri is None:
            found.append(Violation(f"{name}.id", "must be a location URI", "missing"))
            return None, f"{name}.id"
        code, why = node_of(uri, topology)
        if code is None:
            found.append(Violation(f"{name}.id", why, "unknown_node"))
        return code, f"{name}.id"
    found.append(Violation("bizLocation", "bizLocation or readPoint is required", "missing"))
    return None, "bizLocation.id"


def _shipment(raw: dict[str, Any], found: list[Violation]) -> str | None:
    transactions = raw.get("bizTransactionList")
    for index, entry in enumerate(transactions if isinstance(transactions, list) else ()):
        if not isinstance(entry, dict):
            continue
        kind = text(entry, "type")
        if kind is None or term(kind, "btt") != "bol":
            continue
        value = text(entry, "bizTransaction")
        shipment = None if value is None else last_segment(value)
        if not shipment:
            found.append(
                Violation(f"bizTransactionList.{index}.bizTransaction", "is empty", "missing")
            )
            return None
        return shipment
    found.append(
        Violation(
            "bizTransactionList",
            "needs an entry of type bol: the shipment (its value or its URI's last segment)",
            "missing",
        )
    )
    return None


def _time(raw: dict[str, Any], found: list[Violation]) -> str | None:
    value, offset = text(raw, "eventTime"), text(raw, "eventTimeZoneOffset")
    moment: datetime | None = None
    with contextlib.suppress(ValueError):
        moment = datetime.fromisoformat(value) if value is not None else None
    if moment is None or moment.tzinfo is None:
        found.append(Violation("eventTime", "must be a date and time with an offset", "format"))
    if offset is None or not OFFSET.match(offset):
        found.append(Violation("eventTimeZoneOffset", "must be an offset like +05:00", "format"))
    if moment is None or moment.tzinfo is None or offset is None or not OFFSET.match(offset):
        return None
    sign = -1 if offset[0] == "-" else 1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    return moment.astimezone(zone).isoformat()
