"""Ingest as it runs (``python -m services.ingest`` under uvicorn, the real broker), used
over real HTTP by carriers and by the carrier simulator."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from corridor.devstack import (
    EmbeddedBroker,
    ManagedProcess,
    free_port,
    python_module,
    wait_for_http,
)
from tests.conftest import unique
from tests.unit.test_ingest_support import bearer, event_body, scratch_database

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def ingest_url(broker: EmbeddedBroker) -> Iterator[str]:
    port = free_port()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "KAFKA_TOPIC_PARTITIONS": "3",
        "INGEST_PORT": str(port),
        "INGEST_LOG_LEVEL": "WARNING",
        "INGEST_ENVIRONMENT": "local",  # the demo keys
        "INGEST_DATABASE_URL": scratch_database(),
    }
    process = ManagedProcess("ingest", python_module("services.ingest"), env=env_with(env))
    process.start()
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def env_with(extra: dict[str, str]) -> dict[str, str]:
    """This environment without Kafka or ingest settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "INGEST_"))}
    return env | extra


def accepted_events(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "corridor_ingest_events_total" and s.labels["outcome"] == "accepted"
    )


def counts_by_outcome(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "corridor_ingest_events_total":
                counts[s.labels["outcome"]] = counts.get(s.labels["outcome"], 0) + s.value
    return counts


def test_a_carrier_posts_an_event_over_http(ingest_url: str) -> None:
    body = event_body(
        event_id=unique("e2e"),
        shipment_id=unique("SHP"),
        occurred_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    )
    response = httpx.post(f"{ingest_url}/v1/events", json=body, headers=bearer("ktz"), timeout=10)
    assert response.status_code == 202
    assert response.json() == {"event_id": body["event_id"], "status": "accepted"}


def test_a_declared_body_over_one_mebibyte_is_refused(ingest_url: str) -> None:
    content = json.dumps({"events": [event_body(reason="x" * MIB)]}).encode()
    headers = {**bearer("ktz"), "content-type": "application/json"}
    response = httpx.post(f"{ingest_url}/v1/events/batch", content=content, headers=headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_a_chunked_body_over_one_mebibyte_is_refused_as_it_streams(ingest_url: str) -> None:
    port = int(ingest_url.rsplit(":", 1)[1])
    chunk = b"x" * 65_536
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/events/batch HTTP/1.1\r\nHost: ingest\r\n"
            b"Authorization: Bearer demo-ktz\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(MIB // len(chunk) + 2):  # just past the limit, no terminating chunk
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                data = conn.recv(4096)
                if not data:
                    break
                answer += data
        except ConnectionResetError:
            pass  # the server closes without reading the rest: the answer came first
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"application/problem+json" in answer


def test_corridor_simulate_posts_journeys_that_are_all_accepted(ingest_url: str) -> None:
    before = counts_by_outcome(ingest_url)
    argv = python_module(
        "corridor.cli",
        "simulate",
        "--url", ingest_url, "--rate", "500", "--time-compression", "2000000",
        "--max-shipments", "2", "--seed", "11",
    )  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env_with({}))
    assert done.returncode == 0, done.stderr[-2000:]
    after = counts_by_outcome(ingest_url)
    assert after.get("accepted", 0) - before.get("accepted", 0) > 30
    assert after.get("rejected", 0) == before.get("rejected", 0)
    assert '"message": "simulator stopped"' in done.stderr


def test_the_simulator_stops_cleanly_on_sigterm(ingest_url: str) -> None:
    simulator = subprocess.Popen(
        python_module("services.ingest.simulator", "--url", ingest_url, "--rate", "20"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env_with({}),
    )
    try:
        start = accepted_events(ingest_url)
        deadline = time.monotonic() + 30
        while accepted_events(ingest_url) == start and time.monotonic() < deadline:
            time.sleep(0.2)
        assert accepted_events(ingest_url) > start
        simulator.send_signal(signal.SIGTERM)
        _, stderr = simulator.communicate(timeout=15)
    finally:
        if simulator.poll() is None:
            simulator.kill()
            simulator.wait(5)
    assert simulator.returncode == 0, stderr.decode()[-2000:]
    assert b"simulator stopped" in stderr
