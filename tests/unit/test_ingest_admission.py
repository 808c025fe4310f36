"""What ingest refuses before it judges an event: unknown callers (and too many of them),
rotated-out keys, demo keys in production, identifiers that hide characters, weights over
ISO 668, and bodies of junk, whose answer stays small."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from corridor.principals import RegistryError, key_hash
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.unit.ingest_api_checks import assert_problem
from tests.unit.test_ingest_support import (
    NOW,
    WAGON_NO_8,
    bearer,
    booking_body,
    event_body,
    make_app,
    make_client,
)
from tests.unit.test_ingest_trust import denied

KTZ, MCM = bearer("ktz"), bearer("mcm")


# Authentication


def test_failed_authentications_are_limited_per_client_address() -> None:
    client = make_client(auth_failure_limit="3/minute")
    for _ in range(3):
        response = client.post("/v1/events", json=event_body(), headers=bearer("nobody"))
        assert_problem(response, 401, "Authorization")
    response = client.post("/v1/events", json=event_body(), headers=bearer("nobody"))
    problem = assert_problem(response, 429)
    assert problem["type"] == "/problems/too-many-failed-authentications"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    # Blocked whatever it sends now, even a good key.
    assert client.post("/v1/events", json=event_body(), headers=KTZ).status_code == 429
    assert denied(client)[("anonymous", "too_many_failures")] == 2
    assert denied(client)[("anonymous", "unauthenticated")] == 3


def test_a_rotated_key_works_until_its_not_after_and_the_new_one_throughout(
    tmp_path: Path,
) -> None:
    rotation = NOW + timedelta(hours=1)
    entry = {
        "id": "ktz-new",
        "role": "carrier",
        "nodes": ["KZ*"],
        "keys": [
            {"sha256": key_hash("old-secret"), "not_after": rotation.isoformat()},
            {"sha256": key_hash("new-secret")},
        ],
    }
    path = tmp_path / "principals.yaml"
    path.write_text(yaml.safe_dump({"principals": [entry]}))
    now = [NOW]
    client = make_client(principals_file=path, clock=lambda: now[0], environment="production")
    old, new = ({"authorization": f"Bearer {k}-secret"} for k in ("old", "new"))
    for n, headers in enumerate((old, new)):
        body = event_body(event_id=f"before-{n}")
        assert client.post("/v1/events", json=body, headers=headers).status_code == 202
    now[0] = rotation + timedelta(seconds=1)
    assert_problem(client.post("/v1/events", json=event_body(), headers=old), 401)
    body = event_body(event_id="after")
    assert client.post("/v1/events", json=body, headers=new).status_code == 202


def test_production_refuses_to_start_with_the_demo_keys() -> None:
    with pytest.raises(RegistryError, match="demo keys"):
        create_app(IngestSettings(environment="production"))


def test_production_is_the_default_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INGEST_ENVIRONMENT", raising=False)
    assert IngestSettings().environment == "production"


def test_the_older_carriers_file_setting_still_names_the_registry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INGEST_CARRIERS_FILE", str(tmp_path / "old.yaml"))
    assert IngestSettings().principals_file == tmp_path / "old.yaml"
    monkeypatch.setenv("INGEST_PRINCIPALS_FILE", str(tmp_path / "new.yaml"))
    assert IngestSettings().principals_file == tmp_path / "new.yaml"


# Identifiers


@pytest.mark.parametrize(
    "character", ["\u202e", "\u200b", "\u0000", "\u001b", "\u0085", "\u2028", "\u2029", "\ufeff"]
)
@pytest.mark.parametrize("field", ["event_id", "shipment_id", "container_no", "reason"])
def test_identifiers_refuse_control_format_and_separator_characters(
    field: str, character: str
) -> None:
    body = event_body(event_type="EXCEPTION", reason="wagon defect")
    body[field] = f"{body[field][:4]}{character}{body[field][4:]}"
    problem = assert_problem(make_client().post("/v1/events", json=body, headers=KTZ), 422, field)
    assert "control, format or separator" in problem["errors"][0]["message"]


@pytest.mark.parametrize("field", ["event_id", "shipment_id", "container_no", "reason"])
@pytest.mark.parametrize("blank", [" ", " \u3000 \u00a0"])
def test_identifiers_refuse_blank_values(field: str, blank: str) -> None:
    body = event_body(event_type="EXCEPTION", reason="wagon defect") | {field: blank}
    problem = assert_problem(make_client().post("/v1/events", json=body, headers=KTZ), 422, field)
    assert problem["errors"][0]["message"] == "must not be blank"


@pytest.mark.parametrize(
    ("booking", "field"),
    [
        ({"cargo_description": "lapto\u202eps"}, "booking.cargo_description"),
        ({"parties": {"shipper": "shipper\u200b-xian"}}, "booking.parties.shipper"),
        ({"legs": [{"carrier": " "}]}, "booking.legs.0.carrier"),
    ],
)
def test_booking_identifiers_refuse_hidden_characters(booking: dict[str, Any], field: str) -> None:
    response = make_client().post("/v1/events", json=booking_body(booking=booking), headers=MCM)
    assert_problem(response, 422, field)


def test_ordinary_non_ascii_text_is_fine() -> None:
    body = event_body(event_type="EXCEPTION", reason="Gürcüstan sərhədi: yoxlama", event_id="é-1")
    assert make_client().post("/v1/events", json=body, headers=KTZ).status_code == 202


# Weights


@pytest.mark.parametrize(
    ("container_type", "limit"),
    [("20GP", 36_000), ("40GP", 36_000), ("40HC", 36_000), ("45HC", 36_000), ("WAGON", 150_000)],
)
def test_a_booking_over_the_iso_668_maximum_gross_mass_is_refused(
    container_type: str, limit: int
) -> None:
    client = make_client()
    equipment = {"container_no": None, "wagon_no": WAGON_NO_8} if container_type == "WAGON" else {}
    for n, (weight, status) in enumerate(((limit, 202), (limit + 1, 422))):
        body = booking_body(
            event_id=f"mcm-{n}",
            booking={"container_type": container_type, "gross_weight_kg": weight},
            **equipment,
        )
        response = client.post("/v1/events", json=body, headers=MCM)
        assert response.status_code == status, response.text
        if status == 422:
            assert_problem(response, 422, "booking.gross_weight_kg")


# Bounded errors


def test_a_body_of_junk_lists_twenty_errors_and_counts_them_all() -> None:
    junk = event_body() | {f"junk{n}": n for n in range(50_000)}
    content = json.dumps(junk).encode()
    assert len(content) < 1024 * 1024
    client = make_client()
    started = time.perf_counter()
    response = client.post("/v1/events", content=content, headers=KTZ | _json())
    elapsed = time.perf_counter() - started
    problem = assert_problem(response, 422)
    assert len(problem["errors"]) == 20
    assert problem["error_count"] == 50_000
    assert all(e["code"] == "extra_forbidden" for e in problem["errors"])
    assert len(response.content) < 5_000
    assert elapsed < 1.0  # a few parses of the body, never 50,000 Python errors


def test_a_junk_booking_is_bounded_too() -> None:
    body = booking_body(booking={f"x{n}": n for n in range(5_000)})
    problem = assert_problem(make_client().post("/v1/events", json=body, headers=MCM), 422)
    assert (len(problem["errors"]), problem["error_count"]) == (20, 5_000)
    assert problem["errors"][0]["field"].startswith("booking.x")


def test_a_normal_invalid_event_counts_its_errors() -> None:
    body = event_body(event_type="LEFT", location=None)
    problem = assert_problem(make_client().post("/v1/events", json=body, headers=KTZ), 422)
    assert problem["error_count"] == len(problem["errors"]) == 2


def test_a_batch_of_a_thousand_invalid_items_answers_bounded_errors_per_item() -> None:
    item = {"event_id": "x", **{f"junk{n}": n for n in range(40)}}
    batch = {"events": [item] * 1000}
    response = make_app_client().post("/v1/events/batch", json=batch, headers=KTZ)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (0, 1000)
    first = body["results"][0]
    assert len(first["errors"]) == 20
    assert first["error_count"] > 40


def test_a_batch_envelope_of_junk_is_bounded() -> None:
    batch = {"events": [event_body()]} | {f"junk{n}": n for n in range(1_000)}
    problem = assert_problem(make_client().post("/v1/events/batch", json=batch, headers=KTZ), 422)
    assert (len(problem["errors"]), problem["error_count"]) == (20, 1_000)


def make_app_client() -> Any:
    from fastapi.testclient import TestClient

    return TestClient(make_app())


def _json() -> dict[str, str]:
    return {"content-type": "application/json"}
