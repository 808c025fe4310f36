"""The tracker's tables (the Alembic migrations create exactly these).

- ``events``: every unique event, primary key ``(carrier, event_id)``: the idempotency key;
- ``shipments``: the folded view of each shipment (JSON) plus the columns queries filter on,
  its ``version`` and the ``published_version`` already sent to ``cargo.shipments.v1``; the
  clock's part (``domain/clock.py``): ``silent``, ``heard_at`` and ``wake_at``, the next
  moment time alone may change the shipment, indexed where set so that the clock's tick
  reads only the due rows;
- ``section_transits``, ``segment_times``, ``node_dwells``: the closed sections, segment
  runs and dwells of every shipment, derived from its view in the same transaction; they
  feed the corridor KPIs and the ETA medians with plain SQL;
- ``set_aside_events``: the events of every shipment its fold set aside (held or refused,
  with the reason), derived from the view likewise; the timeline leaves them out and
  ``GET /v1/events/refused`` lists them;
- ``shipment_access``: the access scopes of every shipment (``corridor.parties``), derived
  from its effective booking; lists of shipments are filtered through them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    text,
)

from corridor.db import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

events = Table(
    "events",
    metadata,
    Column("carrier", String(64), primary_key=True),
    Column("event_id", String(128), primary_key=True),
    Column("shipment_id", String(64), nullable=False),
    Column("event_type", String(20), nullable=False),
    Column("classifier", String(3), nullable=False),
    Column("rank", SmallInteger, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=True),
    Column("applied_at", UtcDateTime, nullable=False),
    Column("location", String(16), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("container_no", String(32), nullable=False),
    Column("wagon_no", String(32), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("booking", JSON(none_as_null=True), nullable=True),
    Index(None, "shipment_id", "occurred_at"),
)

shipments = Table(
    "shipments",
    metadata,
    Column("shipment_id", String(64), primary_key=True),
    Column("status", String(12), nullable=False, server_default="BOOKED"),
    Column("container_no", String(32), nullable=False, server_default=""),
    Column("wagon_no", String(32), nullable=False, server_default=""),
    Column("origin", String(16), nullable=False, server_default=""),
    Column("destination", String(16), nullable=False, server_default=""),
    Column("current_location", String(16), nullable=False, server_default=""),
    Column("eta", UtcDateTime, nullable=True),
    Column("delayed", Boolean, nullable=False, server_default=false()),
    Column("events_count", Integer, nullable=False, server_default="0"),
    Column("duplicates", Integer, nullable=False, server_default="0"),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("published_version", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime, nullable=True),
    Column("state", Text, nullable=True),  # db.viewcodec: the view as JSON
    Column("silent", Boolean, nullable=False, server_default=false()),
    Column("heard_at", UtcDateTime, nullable=True),
    Column("wake_at", UtcDateTime, nullable=True),
    Index(None, "container_no"),
    Index(None, "wagon_no"),
    # The clock's tick reads ``wake_at <= now ORDER BY wake_at LIMIT n``: a range scan of
    # this index, which holds only shipments that time can still change (not delivered).
    # Its price: a write that moves ``wake_at`` (most do) is no longer a HOT update.
    Index(
        None,
        "wake_at",
        postgresql_where=text("wake_at IS NOT NULL"),
        sqlite_where=text("wake_at IS NOT NULL"),
    ),
    # No index on status or current_location: they change with most events, and an
    # update touching no indexed column can stay on its page (a HOT update, with the room
    # the fill factor leaves), which halves the cost of the tracker's busiest write. The
    # list filters walk the primary key instead.
    postgresql_with={"fillfactor": 70},
)

section_transits = Table(
    "section_transits",
    metadata,
    Column("shipment_id", String(64), primary_key=True),
    Column("seq", SmallInteger, primary_key=True),
    Column("country", String(2), nullable=False),
    Column("entered_at", UtcDateTime, nullable=False),
    Column("exited_at", UtcDateTime, nullable=False),
    Column("transit_seconds", BigInteger, nullable=False),
    Column("kilograms", Float, nullable=False),
    Column("teu", Float, nullable=False),
    Index(None, "exited_at"),
)

segment_times = Table(
    "segment_times",
    metadata,
    Column("shipment_id", String(64), primary_key=True),
    Column("seq", SmallInteger, primary_key=True),
    Column("origin", String(16), nullable=False),
    Column("destination", String(16), nullable=False),
    Column("departed_at", UtcDateTime, nullable=False),
    Column("arrived_at", UtcDateTime, nullable=False),
    Column("seconds", BigInteger, nullable=False),
    Index(None, "origin", "destination", "arrived_at"),
)

node_dwells = Table(
    "node_dwells",
    metadata,
    Column("shipment_id", String(64), primary_key=True),
    Column("seq", SmallInteger, primary_key=True),
    Column("node", String(16), nullable=False),
    Column("kind", String(6), nullable=False),
    Column("arrived_at", UtcDateTime, nullable=False),
    Column("departed_at", UtcDateTime, nullable=False),
    Column("seconds", BigInteger, nullable=False),
    Index(None, "node", "departed_at"),
)

set_aside_events = Table(
    "set_aside_events",
    metadata,
    Column("carrier", String(64), primary_key=True),
    Column("event_id", String(128), primary_key=True),
    Column("shipment_id", String(64), nullable=False),
    Column("event_type", String(20), nullable=False),
    Column("location", String(16), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=True),
    Column("outcome", String(8), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("message", String(300), nullable=False),
    Index(None, "shipment_id"),
)

shipment_access = Table(
    "shipment_access",
    metadata,
    Column("shipment_id", String(64), primary_key=True),
    Column("scope", String(80), primary_key=True),
    Index(None, "scope", "shipment_id"),
)
