"""Use cases of the tracker (``tracker.py``) and the transaction of one batch
(``batch.py``)."""

from services.tracker.handlers.batch import BatchResult
from services.tracker.handlers.outbox import StatePublish
from services.tracker.handlers.tracker import Tracker, is_permanent

__all__ = ["BatchResult", "StatePublish", "Tracker", "is_permanent"]
