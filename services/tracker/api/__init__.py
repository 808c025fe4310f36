"""The query API: response shapes (``schemas``) and routes (``routes``)."""

from services.tracker.api.routes import Reads, install, router

__all__ = ["Reads", "install", "router"]
