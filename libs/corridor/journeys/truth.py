"""What a generated journey really did: the truth the tracker's and the tariff's answers
must equal. Pure, and derived only from the generator's own plan (never from tracker or
tariff code), following the rules docs/tracker.md states:

- **places**: every actual event after the booking places the cargo in the country of its
  node, except a departure onto a vessel leg, which starts a sea crossing: ``XC`` when it
  leaves a Caspian port (a port of a Caspian littoral state), ``XB`` on any other sea (the
  Black Sea legs). The plan knows each leg's mode from the route, so a post without
  ``mode`` has the same truth;
- **sections**: entered at the first event placed in them, exited at the first event placed
  elsewhere, or at the delivery;
- **dwell** at border crossings and ports: from the arrival to the first departure, gate-out
  or delivery at that node (open while the cargo is still there);
- **segment runs**: a departure from A followed by the arrival at the next node B;
- **status**: ``DELIVERED`` once delivered; else ``HELD`` while a customs hold is open (closed
  by a release or a departure); else ``IN_TRANSIT``;
- **delayed**: delivered after the promised delivery; a shipment not delivered is delayed
  once the clock passes the promise (before that, whether it will be late is an estimate,
  not a fact: ``None``);
- **silent** (a journey that stopped reporting): never once delivered; else from when its
  latest actual event was heard of (received; ``last_heard_at``) plus ``SilenceRule.factor``
  times the expected hours of the current step (the leg's reference hours after a
  departure, the node's reference ``dwell_hours`` while at a node), and at least
  ``SilenceRule.minimum_hours`` after it. ``silent(clock, rule)`` is that rule at ``clock``.

Storage is not priced here (free days and rates are the tariff card's); ``started_days``
gives the days a dwell counts for: every started day counts as a whole one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from corridor.topology import Topology

CASPIAN = "XC"
OTHER_SEA = "XB"
# The Caspian Sea's littoral states: a vessel leaving one of their ports crosses the Caspian.
CASPIAN_STATES = frozenset({"KZ", "AZ", "TM", "RU", "IR"})
DWELL_ENDS = frozenset({"DEPARTED", "GATE_OUT", "DELIVERED"})
# Twenty-foot equivalent units per container type (ISO 668 lengths); a wagon load has none.
TEU: Mapping[str, float] = {"20GP": 1.0, "40GP": 2.0, "40HC": 2.0, "45HC": 2.25, "WAGON": 0.0}


def sea_of(port_country: str) -> str:
    """The sea section a vessel leaving a port of ``port_country`` starts."""
    return CASPIAN if port_country in CASPIAN_STATES else OTHER_SEA


@dataclass(frozen=True, slots=True)
class Happening:
    """One actual event of the plan, in the order things happened: where it puts the cargo
    (``place``: a country or a sea section) is decided by the plan, not by the post."""

    event_type: str
    node: str
    occurred_at: datetime
    place: str


@dataclass(frozen=True, slots=True)
class SectionTruth:
    country: str
    entered_at: datetime
    exited_at: datetime | None = None

    @property
    def transit_seconds(self) -> int:
        """Whole seconds (truncated); 0 while the cargo is in the section."""
        if self.exited_at is None:
            return 0
        return int((self.exited_at - self.entered_at).total_seconds())


@dataclass(frozen=True, slots=True)
class DwellTruth:
    node: str
    kind: str  # "border" or "port" (a node that is both is a border, as the tracker labels it)
    arrived_at: datetime
    departed_at: datetime | None = None

    @property
    def seconds(self) -> int:
        if self.departed_at is None:
            return 0
        return int((self.departed_at - self.arrived_at).total_seconds())

    @property
    def started_days(self) -> int:
        """Days of dwell, any started day counting as a whole one (3 d 1 s is 4)."""
        if self.departed_at is None:
            return 0
        spell = self.departed_at - self.arrived_at
        return spell.days + (1 if spell.seconds or spell.microseconds else 0)


@dataclass(frozen=True, slots=True)
class SegmentRun:
    origin: str
    destination: str
    departed_at: datetime
    arrived_at: datetime


@dataclass(frozen=True, slots=True)
class Step:
    """What the cargo is doing after its latest actual event: running the leg ``origin`` ->
    ``destination``, or (``destination`` empty) dwelling at ``origin``; ``hours`` is the
    reference expectation (the leg's hours, the node's ``dwell_hours``)."""

    origin: str
    destination: str
    hours: float

    @property
    def moving(self) -> bool:
        return bool(self.destination)


@dataclass(frozen=True, slots=True)
class SilenceRule:
    """When a journey that stopped reporting counts as silent (see the module docstring)."""

    factor: float = 3.0
    minimum_hours: float = 6.0


@dataclass(frozen=True)
class Truth:
    shipment_id: str
    origin: str
    destination: str
    container_type: str
    gross_weight_kg: float
    booked_at: datetime
    promised_delivery_at: datetime
    status: str
    current_location: str
    last_event_at: datetime
    last_heard_at: datetime  # when the latest actual event was received
    delivered_at: datetime | None
    sections: tuple[SectionTruth, ...]
    dwells: tuple[DwellTruth, ...]
    segments: tuple[SegmentRun, ...]
    # The step the cargo is in after its latest actual event (``None`` once delivered).
    step: Step | None
    events: int  # unique events posted (actual and estimates), all of which count
    stopped: bool  # the journey stopped reporting before its delivery

    @property
    def delivered(self) -> bool:
        return self.delivered_at is not None

    @property
    def teu(self) -> float:
        return TEU[self.container_type]

    def delayed(self, clock: datetime) -> bool | None:
        """Delivered after the promise; or, not delivered, the promise passed by ``clock``;
        ``None`` while it is not delivered and the promise still ahead (only an estimate
        could say)."""
        if self.delivered_at is not None:
            return self.delivered_at > self.promised_delivery_at
        return True if clock > self.promised_delivery_at else None

    def silent_from(
        self, rule: SilenceRule | None = None, expected_hours: float | None = None
    ) -> datetime | None:
        """When the journey becomes silent under ``rule``; ``None`` once delivered. The
        step's expected hours are its reference ones unless ``expected_hours`` says
        otherwise (a tracker may have learnt them from actual times)."""
        if self.delivered_at is not None or self.step is None:
            return None
        rule = rule or SilenceRule()
        expected = self.step.hours if expected_hours is None else expected_hours
        hours = max(rule.factor * expected, rule.minimum_hours)
        return self.last_heard_at + timedelta(hours=hours)

    def silent(
        self, clock: datetime, rule: SilenceRule | None = None, expected_hours: float | None = None
    ) -> bool:
        since = self.silent_from(rule, expected_hours)
        return since is not None and clock >= since

    def chargeable_days(self, free_days: Callable[[DwellTruth], int | None]) -> dict[str, int]:
        """Per node, the started days of its closed dwell beyond ``free_days(dwell)`` (the
        card's terms; ``None``: not charged there), where positive."""
        days: dict[str, int] = {}
        for dwell in self.dwells:
            free = free_days(dwell)
            if free is not None and dwell.departed_at is not None:
                beyond = dwell.started_days - free
                if beyond > 0:
                    days[dwell.node] = days.get(dwell.node, 0) + beyond
        return days


def sections_of(happenings: Iterable[Happening]) -> tuple[SectionTruth, ...]:
    sections: list[SectionTruth] = []
    for h in happenings:
        current = sections[-1] if sections and sections[-1].exited_at is None else None
        if h.event_type == "DELIVERED":
            if current is not None:
                sections[-1] = SectionTruth(current.country, current.entered_at, h.occurred_at)
            break
        if current is not None and current.country == h.place:
            continue
        if current is not None:
            sections[-1] = SectionTruth(current.country, current.entered_at, h.occurred_at)
        sections.append(SectionTruth(h.place, h.occurred_at))
    return tuple(sections)


def dwells_of(happenings: Iterable[Happening], topology: Topology) -> tuple[DwellTruth, ...]:
    dwells: list[DwellTruth] = []
    open_at: DwellTruth | None = None
    for h in happenings:
        node = topology.node(h.node)
        if h.event_type == "ARRIVED" and (node.is_border or node.is_port):
            open_at = DwellTruth(h.node, "border" if node.is_border else "port", h.occurred_at)
            dwells.append(open_at)
        elif h.event_type in DWELL_ENDS and open_at is not None and open_at.node == h.node:
            dwells[-1] = DwellTruth(open_at.node, open_at.kind, open_at.arrived_at, h.occurred_at)
            open_at = None
    return tuple(dwells)


def segments_of(happenings: Iterable[Happening]) -> tuple[SegmentRun, ...]:
    runs: list[SegmentRun] = []
    departed: Happening | None = None
    for h in happenings:
        if h.event_type == "DEPARTED":
            departed = h
        elif departed is not None and h.node != departed.node:
            if h.event_type == "ARRIVED":
                runs.append(SegmentRun(departed.node, h.node, departed.occurred_at, h.occurred_at))
            departed = None
    return tuple(runs)


def status_of(happenings: Iterable[Happening]) -> str:
    status, held = "IN_TRANSIT", False
    for h in happenings:
        if h.event_type == "DELIVERED":
            return "DELIVERED"
        if h.event_type == "CUSTOMS_HOLD":
            held = True
        elif h.event_type in ("CUSTOMS_RELEASED", "DEPARTED"):
            held = False
        status = "HELD" if held else "IN_TRANSIT"
    return status
