"""Property-based fuzz of both event endpoints: no input produces a 5xx.

Bodies are valid events with fields replaced by arbitrary JSON, extreme times and odd
strings, arbitrary JSON documents and arbitrary bytes, posted as a carrier that may do
everything (so that every rule is reached).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_ingest_support import bearer, booking_body, event_body, make_client

CLIENT = make_client(rate_limit_per_second=1e9, rate_limit_burst=1e9)
HEADERS = {**bearer("mcm"), "content-type": "application/json"}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def moments(draw: st.DrawFn) -> str:
    """RFC 3339-ish times anywhere in years 1-9999, with any offset (or none)."""
    year = draw(st.integers(1, 9999))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    offset = draw(st.sampled_from(["Z", "+14:00", "-14:00", "+05:30", "", "+23:59"]))
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00{offset}"


odd_strings = st.sampled_from(
    ["", " ", "\x00", "\u202e", "é" * 200, "KZAKL\n", "MSCU663987O", "9" * 12, "CNHRS" * 30]
) | st.text(max_size=60)
field_values = json_values | moments() | odd_strings


@st.composite
def events(draw: st.DrawFn) -> Any:
    body = draw(st.sampled_from([event_body(), booking_body()]))
    body = json.loads(json.dumps(body))
    for key in draw(
        st.lists(st.sampled_from([*body, "booking", "reason", "wagon_no", "extra"]), max_size=4)
    ):
        if draw(st.booleans()) and key in body:
            del body[key]
        else:
            body[key] = draw(field_values)
    if isinstance(body.get("booking"), dict):
        for key in draw(st.lists(st.sampled_from([*body["booking"], "x"]), max_size=3)):
            body["booking"][key] = draw(field_values)
    return body


def post(path: str, content: bytes) -> int:
    response = CLIENT.post(path, content=content, headers=HEADERS)
    assert response.status_code < 500, (response.status_code, response.text, content[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    status: int = response.status_code
    return status


@FUZZ
@given(events())
def test_no_single_event_produces_a_server_error(body: Any) -> None:
    post("/v1/events", json.dumps(body).encode())


@FUZZ
@given(st.lists(events() | json_values, min_size=1, max_size=5))
def test_no_batch_produces_a_server_error(items: list[Any]) -> None:
    post("/v1/events/batch", json.dumps({"events": items}).encode())


@FUZZ
@given(json_values | st.binary(max_size=200))
def test_no_document_produces_a_server_error(document: Any) -> None:
    content = document if isinstance(document, bytes) else json.dumps(document).encode()
    for path in ("/v1/events", "/v1/events/batch"):
        post(path, content)


def test_the_valid_examples_of_the_fuzz_are_accepted() -> None:
    """The fuzz starts from events that pass, so it explores near the valid ones."""
    assert post("/v1/events", json.dumps(event_body()).encode()) == 202
    assert post("/v1/events", json.dumps(booking_body()).encode()) == 202
