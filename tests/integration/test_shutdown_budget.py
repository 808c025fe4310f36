"""A service stops within its budget by construction: the first SIGTERM arms a watchdog that
ends a process whose stop overruns (here a lifespan that never finishes stopping), under a
real uvicorn server; and the budget adds up the settings' timeouts."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from corridor.devstack import free_port
from corridor.settings import KafkaSettings
from corridor.shutdown import (
    OVERRAN_EXIT_CODE,
    grace_needed_seconds,
    stop_budget_seconds,
)

pytestmark = pytest.mark.integration

BUDGET = 1.0
SERVER = """
import asyncio, sys
from contextlib import asynccontextmanager
import uvicorn
from fastapi import FastAPI
from corridor.shutdown import StopWatchdog
from corridor.web import budgeted_server

@asynccontextmanager
async def lifespan(app):
    yield
    if sys.argv[3] == "hang":
        await asyncio.sleep(3600)  # a stop that never ends

app = FastAPI(lifespan=lifespan)
app.get("/ping")(lambda: "pong")
config = uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None)
budgeted_server(config, StopWatchdog(float(sys.argv[2]))).run()
"""


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
            return True
    except OSError:
        return False


# A clean stop ends as uvicorn ends it: by re-raising the signal it got (-SIGTERM).
@pytest.mark.parametrize(
    ("stop", "exit_code"), [("hang", OVERRAN_EXIT_CODE), ("clean", -signal.SIGTERM)]
)
def test_a_stop_that_overruns_its_budget_is_ended_by_the_watchdog_a_clean_one_is_not(
    stop: str, exit_code: int
) -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(BUDGET), stop])
    try:
        deadline = time.monotonic() + 20
        while not answers(port):
            assert process.poll() is None, "the server exited before answering"
            assert time.monotonic() < deadline, "the server did not answer within 20 s"
            time.sleep(0.1)

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=BUDGET + 10)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    assert code == exit_code
    if stop == "hang":
        assert BUDGET <= elapsed < BUDGET + 3
    else:
        assert elapsed < BUDGET


def test_the_budget_adds_up_the_timeouts_of_the_settings() -> None:
    default = KafkaSettings()
    slower = KafkaSettings(request_timeout_ms=30_000, publish_timeout_seconds=10)

    # 10 s HTTP drain + (10 s request timeout + 5 s) consumer close + 5 s publish + 5 s close
    assert stop_budget_seconds(default) == 35
    assert stop_budget_seconds(slower) == 10 + 35 + 10 + 5
    assert grace_needed_seconds(default, pre_stop_seconds=5) == 45
