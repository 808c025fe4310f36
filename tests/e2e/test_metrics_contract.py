"""Every metric the Grafana dashboards and the Prometheus alerts query is really exposed.

The embedded stack runs with demo traffic (`corridor run`); every service's /metrics is scraped
until every metric named in deploy/grafana/dashboards and deploy/prometheus/rules is there,
with samples, or the time is up.
"""

from __future__ import annotations

import signal
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scripts.deploycheck.queries import (
    dashboard_queries,
    exposed_by_services,
    exposed_family,
    metric_names,
    rule_queries,
)
from tests.support import start_run_command, wait_until_ready

pytestmark = pytest.mark.e2e

SERVICES = ("ingest", "tracker", "tariff", "webhooks")
WAIT_SECONDS = 90
# Declared from the start but observed only when something goes wrong, or on a request the
# demo traffic does not make: these need not have samples, only be exposed.
SAMPLES_NOT_EXPECTED = {
    "corridor_tracker_dead_letters_total": "only when a record cannot be applied",
    "corridor_tariff_dead_letters_total": "only when a record cannot be applied",
    "corridor_tracker_consumer_batch_failures_total": "only when a batch fails",
    "corridor_tariff_consumer_batch_failures_total": "only when a batch fails",
    "corridor_tariff_quotes_total": "only on POST quotes, which the simulator does not make",
    "corridor_db_pool_connections": "only for a PostgreSQL pool (SQLite's have no size)",
    "corridor_db_pool_size": "only for a PostgreSQL pool (SQLite's have no size)",
}


def referenced_metrics() -> dict[str, set[str]]:
    """Metric name -> the dashboard panels and alerts that query it."""
    used: dict[str, set[str]] = defaultdict(set)
    for query in [*dashboard_queries(), *rule_queries()]:
        for name in metric_names(query.expr):
            if exposed_by_services(name):
                used[name].add(query.source)
    return dict(used)


@dataclass
class Scrape:
    types: dict[str, str] = field(default_factory=dict)  # family -> type
    sampled: set[str] = field(default_factory=set)  # sample names with at least one sample


def scrape(port: int) -> Scrape:
    """The families of a service's /metrics (none while it does not answer)."""
    result = Scrape()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return result
    for family in text_string_to_metric_families(text):
        result.types[family.name] = family.type
        result.sampled |= {sample.name for sample in family.samples}
    return result


def owners(name: str) -> tuple[str, ...]:
    """The services whose /metrics must expose a name: its own, or all for shared ones."""
    for service in SERVICES:
        if name.startswith(f"corridor_{service}_"):
            return (service,)
    return SERVICES


def gaps(used: dict[str, set[str]], scrapes: dict[str, Scrape]) -> tuple[list[str], list[str]]:
    """(names not exposed, names exposed without samples yet)."""
    undeclared, unsampled = [], []
    for name, sources in sorted(used.items()):
        for service in owners(name):
            where = f"{name} on {service}'s /metrics (used by {', '.join(sorted(sources))})"
            if exposed_family(name, scrapes[service].types) is None:
                undeclared.append(where)
            elif name not in scrapes[service].sampled and name not in SAMPLES_NOT_EXPECTED:
                unsampled.append(where)
    return undeclared, unsampled


def test_queries_name_the_metrics_of_every_service() -> None:
    used = referenced_metrics()
    for service in SERVICES:
        assert any(name.startswith(f"corridor_{service}_") for name in used)
    assert set(SAMPLES_NOT_EXPECTED) <= set(used)


def test_every_metric_in_the_dashboards_and_alerts_is_exposed(tmp_path: Path) -> None:
    used = referenced_metrics()
    # Fast journeys, so that shipments cross borders, leave sections and are delivered
    # (dwell, transit, volumes, charges) within the wait.
    run, ports = start_run_command(tmp_path, "--rate", "50", "--time-compression", "200000")
    try:
        wait_until_ready(ports, within=60)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            scrapes = {service: scrape(ports[service]) for service in SERVICES}
            undeclared, unsampled = gaps(used, scrapes)
            done = not (undeclared or unsampled)
            if done or time.monotonic() > deadline or run.poll() is not None:
                break
            time.sleep(2)
    finally:
        run.send_signal(signal.SIGTERM)
        output = run.communicate(timeout=60)[0].decode()
    assert not undeclared, "metrics queried but not exposed:\n" + "\n".join(undeclared) + output
    assert not unsampled, (
        f"metrics exposed but never observed after {WAIT_SECONDS}s of demo traffic:\n"
        + "\n".join(unsampled)
        + f"\n\n{output}"
    )
