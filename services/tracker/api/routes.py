"""The query API: shipments, timelines and equipment (``shipments``, authorized per
object), the set-aside events (``refused``), the corridor KPIs (``corridor``, public).

Lists use cursor pagination: ``next_cursor`` is an opaque token (base64 of the sort key of
the last item) to pass back as ``cursor``; it is ``null`` on the last page. Unknown (or
unreadable) ids are ``404``, a missing credential ``401``, bad parameters ``422``, all
``application/problem+json``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from corridor.auth import Authenticator
from services.tracker.api import corridor, refused, shipments
from services.tracker.api.reads import Reads

router = APIRouter()
router.include_router(shipments.router)
router.include_router(refused.router)
router.include_router(corridor.router)


def install(app: FastAPI, reads: Reads, authenticator: Authenticator) -> None:
    app.state.tracker_reads = reads
    app.state.authenticator = authenticator
    app.include_router(router)
