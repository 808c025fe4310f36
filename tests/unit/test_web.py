from fastapi import APIRouter
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from corridor.metrics import make_registry
from corridor.problems import Problem
from corridor.web import create_app


class ThingIn(BaseModel):
    size: int


def make_client(ready: bool = True) -> TestClient:
    async def check() -> bool:
        return ready

    app = create_app(
        service="demo",
        title="demo",
        description="",
        registry=make_registry(),
        checks=lambda: {"thing": check},
    )
    router = APIRouter()

    @router.post("/things/{thing_id}")
    def post_thing(thing_id: str, body: ThingIn) -> dict[str, str]:
        if thing_id == "forbidden":
            raise Problem(403, "not yours", errors=[{"field": "thing_id", "message": "no"}])
        return {"id": thing_id}

    app.include_router(router)
    return TestClient(app)


def test_validation_errors_are_problem_json_naming_the_field() -> None:
    response = make_client().post("/things/a", json={"size": "big"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422
    assert body["errors"][0]["field"] == "size"


def test_a_raised_problem_keeps_its_status_and_errors() -> None:
    response = make_client().post("/things/forbidden", json={"size": 1})
    assert response.status_code == 403
    assert response.json()["errors"] == [{"field": "thing_id", "message": "no"}]


def test_unknown_path_is_problem_json() -> None:
    response = make_client().get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_readyz_reports_each_check() -> None:
    assert make_client(ready=True).get("/readyz").json()["checks"] == {"thing": True}
    response = make_client(ready=False).get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"thing": False}


def test_metrics_parse_and_count_requests_by_route_template() -> None:
    client = make_client()
    client.post("/things/a", json={"size": 1})
    client.post("/things/b", json={"size": 1})
    text = client.get("/metrics").text
    samples = [
        s
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "corridor_demo_http_requests_total"
    ]
    assert samples[0].labels["route"] == "/things/{thing_id}"
    assert samples[0].value == 2


def test_request_id_is_echoed() -> None:
    response = make_client().get("/healthz", headers={"X-Request-ID": "abc"})
    assert response.headers["x-request-id"] == "abc"
