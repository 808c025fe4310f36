from pydantic import Field
from pydantic_settings import SettingsConfigDict

from corridor.kafka import EVENTS_TOPIC, SHIPMENTS_TOPIC
from corridor.settings import ServiceSettings


class TrackerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRACKER_", extra="ignore")

    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///./.corridor-data/tracker.db"
    consumer_group: str = "corridor-tracker"
    # The topics are contracts; overriding them is for tests and side-by-side deployments.
    events_topic: str = EVENTS_TOPIC
    shipments_topic: str = SHIPMENTS_TOPIC
    # The consumer loop's watchdog (docs/reliability.md): records waiting this long without
    # progress turn /readyz red, and this long /healthz red (Kubernetes restarts the pod).
    consumer_ready_grace_seconds: float = Field(default=30.0, gt=0)
    consumer_live_grace_seconds: float = Field(default=120.0, gt=0)
    # Records per consumed batch at most, applied in one database transaction. At a steady
    # rate a batch holds what arrived since the last (a few); a backlog (a restart, a burst)
    # is drained in batches this large, where a shipment's events share one fold, one view
    # written and one commit: 2,000 applies about 1.5 times as fast as 500
    # (docs/performance.md).
    batch_size: int = Field(default=2000, ge=1, le=5000)
    # ETA: a segment's (or node's) median actual time is used once it has this many samples.
    eta_min_samples: int = Field(default=5, ge=1)
    # The most recent samples per segment and per node the medians are taken over.
    eta_recent_samples: int = Field(default=200, ge=1)
    # How often the medians are reloaded from the database.
    stats_refresh_seconds: float = Field(default=30.0, ge=0)
    # How often the shipment gauges (by status, by node) are refreshed from the database.
    gauge_refresh_seconds: float = Field(default=5.0, gt=0)
    # Views of recently changed shipments kept in memory (so they need not be read back).
    view_cache_size: int = Field(default=20_000, ge=0)
    # The clock (docs/tracker.md): how often the due shipments are looked at, how many per
    # round (rounds repeat while full, within one interval).
    clock_tick_seconds: float = Field(default=30.0, gt=0)
    clock_batch_size: int = Field(default=500, ge=1, le=5000)
    # Silent: nothing heard for longer than this multiple of the current step's expected
    # time, and at least this many hours (hubs have no reference dwell).
    silent_factor: float = Field(default=3.0, gt=0)
    silent_floor_hours: float = Field(default=6.0, ge=0)
    # An overdue ETA (its current step should have ended) is refreshed this often.
    eta_refresh_seconds: float = Field(default=900.0, ge=60)
    # Statistics rows (section transits, segment times, dwells) older than this are pruned.
    stats_retention_days: int = Field(default=90, ge=30)
    # The single window (docs/window.md): the tariff service whose charges the shipment page
    # shows (read with the signed-in person's credential); how often the corridor page polls
    # (and how long its board and figures are kept); at most this many shipments in flight
    # are read for the schematic's board; the sign-in cookie's Secure flag (default: on
    # outside the local run, where the page is served over HTTPS).
    tariff_url: str = "http://127.0.0.1:8003"
    window_poll_seconds: float = Field(default=3.0, ge=1, le=60)
    window_board_limit: int = Field(default=20_000, ge=100)
    window_secure_cookies: bool | None = None
