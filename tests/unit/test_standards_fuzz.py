"""Property-based fuzz of the EPCIS and DCSA endpoints: no input produces a 5xx.

Bodies are our sample events with members replaced by arbitrary JSON, extreme times and
odd strings (so that the mapping and then every native rule is reached), and arbitrary
JSON documents."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.standards_samples import dcsa_event, epcis_document, epcis_event
from tests.unit.test_ingest_fuzz import FUZZ, field_values, json_values
from tests.unit.test_ingest_support import NOW, bearer, make_client

CLIENT = make_client(rate_limit_per_second=1e9, rate_limit_burst=1e9)
HEADERS = {**bearer("asco"), "content-type": "application/json"}
AT = NOW - timedelta(hours=1)
SAMPLES = {"/epcis/events": epcis_event(AT), "/dcsa/v2/events": dcsa_event(AT)}


@st.composite
def bodies(draw: st.DrawFn, path: str) -> Any:
    body = json.loads(json.dumps(SAMPLES[path]))
    for key in draw(st.lists(st.sampled_from([*body, "extra"]), max_size=4)):
        if draw(st.booleans()) and key in body:
            del body[key]
        else:
            body[key] = draw(field_values)
    return body


def post(path: str, body: Any) -> int:
    content = json.dumps(body, allow_nan=True)
    status: int = CLIENT.post(path, content=content, headers=HEADERS).status_code
    assert status < 500, (path, content[:500])
    return status


@FUZZ
@given(st.sampled_from(sorted(SAMPLES)).flatmap(lambda p: st.tuples(st.just(p), bodies(p))))
def test_mutated_events_never_fail_the_server(case: tuple[str, Any]) -> None:
    path, body = case
    assert post(path, body) in (200, 202, 403, 409, 422)


@FUZZ
@given(st.sampled_from(sorted(SAMPLES)), json_values)
def test_arbitrary_json_never_fails_the_server(path: str, body: Any) -> None:
    post(path, body)
    post("/dcsa/v2/events", [body, SAMPLES["/dcsa/v2/events"]])


def test_a_document_is_not_an_event() -> None:
    assert post("/epcis/events", epcis_document(epcis_event(AT))) == 422
