"""The benchmark's yardstick: a trivial FastAPI endpoint that parses the same JSON body.

Served by bench/ingest.py under uvicorn with the same setup as the services (one worker,
uvloop, httptools, no access log), on the same path, so the only difference from ingest
is what ingest does: authenticate, validate, build protobuf, wait for the broker.
"""

from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.post("/v1/events", status_code=202)
async def post_event(body: dict[str, Any]) -> dict[str, str]:
    return {"event_id": str(body.get("event_id")), "status": "accepted"}
