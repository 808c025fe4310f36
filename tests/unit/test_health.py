"""``/healthz`` answers from the process's own liveness checks (no I/O); ``/readyz`` from
its dependencies. Either is a problem+json 503 naming what failed."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fastapi import FastAPI
from fastapi.testclient import TestClient

from corridor.devstack import fully_ready, wait_for_http
from corridor.health import LivenessCheck, ReadinessCheck, health_router


def client(ready: bool, alive: dict[str, LivenessCheck]) -> TestClient:
    async def database() -> bool:
        return ready

    checks: dict[str, ReadinessCheck] = {"database": database}
    app = FastAPI()
    app.include_router(health_router(lambda: checks, lambda: alive))
    return TestClient(app)


def test_a_process_with_no_liveness_checks_is_alive() -> None:
    app = FastAPI()
    app.include_router(health_router(dict))
    response = TestClient(app).get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "checks": {}})


def test_alive_and_ready_are_answered_apart() -> None:
    both = client(ready=False, alive={"consumer": lambda: True})
    assert both.get("/healthz").json() == {"status": "ok", "checks": {"consumer": True}}
    assert both.get("/readyz").status_code == 503  # a dependency down is no reason to restart


def test_a_failed_or_raising_liveness_check_is_a_503_problem_naming_it() -> None:
    def broken() -> bool:
        raise RuntimeError("bug")

    response = client(True, {"consumer": lambda: False, "other": broken, "ok": lambda: True}).get(
        "/healthz"
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/not-alive"
    assert body["checks"] == {"consumer": False, "other": False, "ok": True}
    assert body["detail"] == "not alive: consumer, other"


def test_a_degraded_dependency_is_reported_but_keeps_the_pod_ready() -> None:
    async def up() -> bool:
        return True

    async def down() -> bool:
        return False

    app = FastAPI()
    app.include_router(health_router(lambda: {"database": up}, dict, lambda: {"broker": down}))
    response = TestClient(app).get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": True, "broker": False},
        "degraded": ["broker"],
    }

    required_down = FastAPI()
    required_down.include_router(
        health_router(lambda: {"database": down}, dict, lambda: {"broker": up})
    )
    assert TestClient(required_down).get("/readyz").status_code == 503


def test_local_tools_wait_for_every_check_not_only_for_a_200() -> None:
    """``corridor run``, the tests and the benches wait with ``wait_for_http``: a degraded
    200 (a consumer still joining) is not yet ready for them."""
    answers = iter([b'{"status": "degraded", "degraded": ["consumer"]}'] * 2)

    class Readyz(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = next(answers, b'{"status": "ready"}')
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Readyz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        wait_for_http(f"http://127.0.0.1:{server.server_port}/readyz", timeout=10)
        assert next(answers, None) is None  # both degraded answers were read first
    finally:
        server.shutdown()
        server.server_close()
    assert fully_ready(b"metrics text, not JSON")
    assert not fully_ready(b'{"status": "degraded"}')
