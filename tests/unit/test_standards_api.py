"""The synchronous standards endpoints over HTTP, with a fake broker and database: the
same admission as ``POST /v1/events`` (media type, right to post, rate limit), errors named
in the standard's terms, and their OpenAPI description."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.unit.ingest_api_checks import assert_problem, ce_ids
from tests.unit.standards_samples import CONTAINER, dcsa_event, epcis_event
from tests.unit.test_ingest_support import NOW, FakePublisher, bearer, make_client

AT = NOW - timedelta(hours=1)


def test_one_epcis_event_is_published_as_a_native_one() -> None:
    publisher = FakePublisher()
    event = epcis_event(AT, bizStep="https://ref.gs1.org/cbv/BizStep-arriving")
    with make_client(publisher) as client:
        response = client.post(
            "/epcis/events",
            content=json.dumps(event),
            headers=bearer("asco") | {"content-type": "application/ld+json"},
        )
    assert response.status_code == 202, response.text
    ids = [event["eventID"]]
    assert response.json() == {"event_id": event["eventID"], "status": "accepted", "event_ids": ids}
    assert ce_ids(publisher.records) == [f"asco/{event['eventID']}"]
    assert publisher.records[0].key == "MCM-2026-00042"


def test_errors_name_the_standards_fields() -> None:
    with make_client() as client:
        bad_digit = epcis_event(AT, epcList=["urn:epc:id:bic:MSCU6639871"])
        assert_problem(
            client.post("/epcis/events", json=bad_digit, headers=bearer("asco")), 422, "epcList"
        )
        unmapped = epcis_event(AT, bizStep="packing", eventTimeZoneOffset=None)
        problem = assert_problem(
            client.post("/epcis/events", json=unmapped, headers=bearer("asco")),
            422,
            "bizStep",
            "eventTimeZoneOffset",
        )
        assert problem["error_count"] == 2
        elsewhere = dcsa_event(AT, transportCall={"UNLocationCode": "GEPTI"})
        problem = assert_problem(
            client.post("/dcsa/v2/events", json=elsewhere, headers=bearer("asco")),
            403,
            "transportCall.UNLocationCode",
        )
        assert problem["errors"][0]["code"] == "not_operated"
        document = {"type": "EPCISDocument"}
        assert_problem(
            client.post("/epcis/events", json=document, headers=bearer("asco")), 422, "type"
        )


def test_a_dcsa_array_is_judged_event_by_event() -> None:
    publisher = FakePublisher()
    good = dcsa_event(AT)
    bad = dcsa_event(AT, equipmentEventTypeCode="STRP", equipmentReference="MSCU6639871")
    with make_client(publisher) as client:
        response = client.post("/dcsa/v2/events", json=[good, bad, 7], headers=bearer("asco"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    results = body["results"]
    assert results[0]["event_id"] == good["eventID"]
    assert (results[0]["status"], results[0]["errors"]) == ("accepted", [])
    assert [e["field"] for e in results[1]["errors"]] == ["equipmentEventTypeCode"]
    assert results[2]["errors"][0]["code"] == "type"
    assert ce_ids(publisher.records) == [f"asco/{good['eventID']}"]
    assert dict(publisher.records[0].headers)["ce_id"]  # the native record, with its headers
    assert CONTAINER in publisher.records[0].value.decode("latin-1")


def test_the_admission_of_the_native_api_applies() -> None:
    with make_client() as client:
        text = client.post(
            "/epcis/events",
            content=json.dumps(epcis_event(AT)),
            headers=bearer("asco") | {"content-type": "text/plain"},
        )
        assert_problem(text, 415, "Content-Type")
        assert_problem(
            client.post("/dcsa/v2/events", json=dcsa_event(AT), headers=bearer("shipper-xian")),
            403,
            "Authorization",
        )
        assert_problem(client.post("/dcsa/v2/events", json=dcsa_event(AT)), 401)
        not_json = client.post(
            "/dcsa/v2/events",
            content=b"{",
            headers=bearer("asco") | {"content-type": "application/json"},
        )
        assert_problem(not_json, 422, "")
        assert_problem(client.post("/dcsa/v2/events", json=[], headers=bearer("asco")), 422, "")


def test_an_array_of_n_events_costs_n_of_the_rate_limit() -> None:
    with make_client(rate_limit_burst=3, rate_limit_per_second=0.01) as client:
        many = [dcsa_event(AT) for _ in range(3)]
        response = client.post("/dcsa/v2/events", json=many, headers=bearer("asco"))
        assert response.status_code == 200
        limited = client.post("/dcsa/v2/events", json=dcsa_event(AT), headers=bearer("asco"))
        assert_problem(limited, 429)


def test_the_openapi_describes_the_standards_endpoints() -> None:
    with make_client() as client:
        spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    capture = paths["/epcis/capture"]["post"]
    assert set(capture["requestBody"]["content"]) == {"application/json", "application/ld+json"}
    assert {"202", "400", "422"} <= set(capture["responses"])
    assert set(paths["/epcis/capture/{captureID}"]["get"]["responses"]) == {"200", "401", "404"}
    assert "/epcis/events" in paths
    assert (
        "oneOf"
        in paths["/dcsa/v2/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    )
    assert {"EpcisDocument", "EpcisEvent", "DcsaEvent", "CaptureJob"} <= set(
        spec["components"]["schemas"]
    )


def test_an_epcis_event_of_several_containers_is_published_whole() -> None:
    publisher = FakePublisher()
    two = [f"urn:epc:id:bic:{CONTAINER}", "urn:epc:id:bic:CSQU3054383"]
    event = epcis_event(AT, bizStep="loading", epcList=two)
    with make_client(publisher) as client:
        response = client.post("/epcis/events", json=event, headers=bearer("asco"))
        assert response.status_code == 202, response.text
        ids = [f"{event['eventID']}#{CONTAINER}", f"{event['eventID']}#CSQU3054383"]
        assert response.json() == {
            "event_id": event["eventID"],
            "status": "accepted",
            "event_ids": ids,
        }
        assert ce_ids(publisher.records) == [f"asco/{i}" for i in ids]
        # One id of the two already used for other content: neither is published.
        reused = epcis_event(
            AT, bizStep="unloading", epcList=[two[1], "urn:epc:id:bic:MSCU1234550"]
        )
        reused["eventID"] = event["eventID"]
        problem = assert_problem(
            client.post("/epcis/events", json=reused, headers=bearer("asco")), 409
        )
        assert problem["type"] == "/problems/event-id-reused"
    assert len(publisher.records) == 2
