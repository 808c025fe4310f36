"""The query API: response shapes (``schemas``, ``convert``), what the routes share
(``reads``), the routes (``shipments``, ``refused``, ``corridor``; ``routes`` joins them)."""

from services.tracker.api.reads import Reads
from services.tracker.api.routes import install, router

__all__ = ["Reads", "install", "router"]
