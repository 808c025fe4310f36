"""The tracker's KPIs for Prometheus; every label has a bounded set of values (statuses,
corridor nodes, country sections, outcomes), never a shipment or container id."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from corridor.parties import NO_BOOKING, REASONS
from corridor.topology import Topology
from services.tracker.domain import Status

HOUR = 3600.0
DAY = 24 * HOUR
TRANSIT_BUCKETS = tuple(h * HOUR for h in (1, 3, 6, 12, 24, 48, 72, 96, 120, 144, 168, 240, 336))
# Days, with the published bands' ends as bucket bounds: 10-15 (goal), 18-23 (2023).
THROUGH_BUCKETS = tuple(d * DAY for d in (5, 7, 9, 10, 12, 15, 18, 20, 23, 26, 30, 40, 53))
DWELL_BUCKETS = tuple(h * HOUR for h in (0.25, 0.5, 1, 2, 4, 6, 12, 24, 48, 72, 120, 168))
OCCURRED_BUCKETS = (0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 900.0, HOUR, 6 * HOUR, DAY, 7 * DAY)
RECORDED_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class TrackerMetrics:
    def __init__(self, registry: CollectorRegistry, topology: Topology) -> None:
        self.topology = topology
        self.shipments = Gauge(
            "corridor_tracker_shipments",
            "Shipments by status.",
            ["status"],
            registry=registry,
        )
        self.node_shipments = Gauge(
            "corridor_tracker_node_shipments",
            "Shipments not yet delivered whose current location is the node.",
            ["node"],
            registry=registry,
        )
        self.delayed_shipments = Gauge(
            "corridor_tracker_delayed_shipments",
            "Shipments not yet delivered whose ETA, or now, is later than the promised delivery.",
            registry=registry,
        )
        self.silent_shipments = Gauge(
            "corridor_tracker_silent_shipments",
            "Shipments in transit or held from which nothing has been heard for longer than "
            "a multiple of the expected time of their current step.",
            registry=registry,
        )
        self.clock_changes = Counter(
            "corridor_tracker_clock_changes",
            "Shipment states changed by the clock alone (no event), by the field that "
            "changed: eta (aged or refreshed), delayed, silent.",
            ["change"],
            registry=registry,
        )
        self.clock_lag = Gauge(
            "corridor_tracker_clock_lag_seconds",
            "At the last tick of the clock, how long the earliest due shipment had been due.",
            registry=registry,
        )
        self.section_transit = Histogram(
            "corridor_tracker_section_transit_seconds",
            "Transit time through a country section (XC: the Caspian crossing), observed when "
            "a shipment leaves the section.",
            ["country"],
            registry=registry,
            buckets=TRANSIT_BUCKETS,
        )
        self.section_target = Gauge(
            "corridor_tracker_section_target_seconds",
            "Published transit time target of a country section.",
            ["country"],
            registry=registry,
        )
        self.through_transit = Histogram(
            "corridor_tracker_through_transit_seconds",
            "Through transit, first movement to delivery, by the country the journey started "
            "in and its destination node; observed once per shipment, at its delivery.",
            ["origin_country", "destination"],
            registry=registry,
            buckets=THROUGH_BUCKETS,
        )
        self.through_target = Gauge(
            "corridor_tracker_through_target_seconds",
            "Upper end of a published through-transit band (now: 23 days, goal: 15 days).",
            ["band"],
            registry=registry,
        )
        self.dwell = Histogram(
            "corridor_tracker_dwell_seconds",
            "Dwell at a border crossing or port, arrival to departure.",
            ["node", "kind"],
            registry=registry,
            buckets=DWELL_BUCKETS,
        )
        self.cargo_kilograms = Counter(
            "corridor_tracker_cargo_kilograms",
            "Gross cargo weight that left a section.",
            ["section"],
            registry=registry,
        )
        self.cargo_teu = Counter(
            "corridor_tracker_cargo_teu",
            "Containers (twenty-foot equivalent units) that left a section.",
            ["section"],
            registry=registry,
        )
        self.events = Counter(
            "corridor_tracker_events",
            "Consumed events by outcome: applied, set_aside (held or refused when consumed), "
            "duplicate or dead_lettered.",
            ["outcome"],
            registry=registry,
        )
        self.set_aside = Counter(
            "corridor_tracker_set_aside_events",
            "Events set aside (do not count for their shipment), once each when set aside: "
            "by outcome (held, refused) and reason code (corridor.parties).",
            ["outcome", "reason"],
            registry=registry,
        )
        self.occurred_to_applied = Histogram(
            "corridor_tracker_occurred_to_applied_seconds",
            "From when an actual event happened to when it was applied.",
            registry=registry,
            buckets=OCCURRED_BUCKETS,
        )
        self.recorded_to_applied = Histogram(
            "corridor_tracker_recorded_to_applied_seconds",
            "From when ingest received an event to when it was applied.",
            registry=registry,
            buckets=RECORDED_BUCKETS,
        )
        for country, hours in topology.section_targets.items():
            self.section_target.labels(country).set(hours * HOUR)
        for band, (_, high) in topology.through_targets.items():
            self.through_target.labels(band).set(high * DAY)
        for outcome in ("applied", "set_aside", "duplicate", "dead_lettered"):
            self.events.labels(outcome)
        for change in ("eta", "delayed", "silent"):
            self.clock_changes.labels(change)
        for reason in REASONS:
            self.set_aside.labels("held" if reason == NO_BOOKING else "refused", reason)

    def set_counts(
        self,
        by_status: Mapping[str, int],
        by_node: Mapping[str, int],
        delayed: int,
        silent: int = 0,
    ) -> None:
        """Set the gauges from a fresh count (every status and node, zero when absent)."""
        for status in Status:
            self.shipments.labels(status.value).set(by_status.get(status.value, 0))
        for node in self.topology.nodes:
            self.node_shipments.labels(node).set(by_node.get(node, 0))
        self.delayed_shipments.set(delayed)
        self.silent_shipments.set(silent)
