"""The single window: the tracker's web page for people (``/``), server-rendered.

``/`` the corridor (schematic, headline figures, search), ``/window/shipments/{id}`` one
shipment, ``/window/search``, ``/window/operator`` (set-aside events, dead letters), sign-in
and sign-out; ``/window/live`` the JSON the corridor page polls. Every figure and every
shipment comes from the query API's own use cases and read rules (``services.tracker.api``):
the page shows a person exactly what the API would. docs/window.md describes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from corridor.auth import Authenticator
from corridor.settings import KafkaSettings
from services.tracker.api.reads import Reads
from services.tracker.web import filters
from services.tracker.web.board import BoardSource
from services.tracker.web.figures import FiguresSource

HERE = Path(__file__).parent
STATIC_PATH = "/window/static"


@dataclass(frozen=True)
class WindowConfig:
    tariff_url: str
    poll_seconds: float
    board_limit: int
    secure_cookies: bool
    kafka: KafkaSettings


@dataclass(frozen=True)
class Window:
    """What the pages need, kept on ``app.state.window``."""

    reads: Reads
    authenticator: Authenticator
    templates: Jinja2Templates
    board: BoardSource
    figures: FiguresSource
    config: WindowConfig


def install(app: FastAPI, reads: Reads, authenticator: Authenticator, config: WindowConfig) -> None:
    from services.tracker.web.pages import router as pages
    from services.tracker.web.people import router as people

    templates = Jinja2Templates(directory=HERE / "templates")
    filters.register(templates.env)
    templates.env.globals["static"] = STATIC_PATH
    templates.env.globals["poll_seconds"] = config.poll_seconds
    app.state.window = Window(
        reads,
        authenticator,
        templates,
        BoardSource(reads, max_age=config.poll_seconds, limit=config.board_limit),
        FiguresSource(reads, max_age=config.poll_seconds),
        config,
    )
    app.mount(STATIC_PATH, StaticFiles(directory=HERE / "static"), name="window-static")
    app.include_router(pages)
    app.include_router(people)
