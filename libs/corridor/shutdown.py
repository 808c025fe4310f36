"""How long a service may take to stop, and the watchdog that holds it to that.

On SIGTERM a service stops in this order: uvicorn stops accepting and lets the requests in
flight finish (at most ``HTTP_DRAIN_SECONDS``), then the lifespan stops the consumer loop
(its client closes within the Kafka request timeout plus the loop's margin), flushes what
it still has to publish (the publish timeout) and closes its pools (``CLOSE_MARGIN_SECONDS``).
``stop_budget_seconds`` adds these up from the Kafka settings the process runs with.

The budget holds by construction: ``StopWatchdog`` is armed by the first SIGTERM and ends the
process when the budget is spent, whatever is still running (the tracker's and the tariff's
work is at least once: what was not committed is consumed again by the next replica).

The platform must wait longer than that before its SIGKILL: Kubernetes' preStop pause
(``PRE_STOP_SECONDS``, while the endpoint leaves the Service) plus the budget plus
``GRACE_MARGIN_SECONDS`` within ``terminationGracePeriodSeconds``, compose's
``stop_grace_period`` beyond the budget. ``python -m scripts.deploycheck`` checks both
against the manifests, with the settings the manifests give each service.
"""

from __future__ import annotations

import logging
import os
import threading

from corridor.kafka.consumer import CLIENT_MARGIN_SECONDS
from corridor.settings import KafkaSettings

HTTP_DRAIN_SECONDS = 10
CLOSE_MARGIN_SECONDS = 5.0
PRE_STOP_SECONDS = 5
GRACE_MARGIN_SECONDS = 5.0
# The exit status of a process the watchdog ended (EX_SOFTWARE): its stop overran.
OVERRAN_EXIT_CODE = 70

log = logging.getLogger(__name__)


def stop_budget_seconds(kafka: KafkaSettings) -> float:
    """The longest a service takes from SIGTERM to exit, with these Kafka settings."""
    consumer_close = kafka.request_timeout_ms / 1000 + CLIENT_MARGIN_SECONDS
    return (
        HTTP_DRAIN_SECONDS + consumer_close + kafka.publish_timeout_seconds + CLOSE_MARGIN_SECONDS
    )


def grace_needed_seconds(kafka: KafkaSettings, pre_stop_seconds: float) -> float:
    """The ``terminationGracePeriodSeconds`` a pod needs (Kubernetes counts the preStop in)."""
    return pre_stop_seconds + stop_budget_seconds(kafka) + GRACE_MARGIN_SECONDS


class StopWatchdog:
    """Ends the process ``budget_seconds`` after ``arm()`` (the first SIGTERM) if it has not
    exited by then. A daemon thread: it never keeps a process alive."""

    def __init__(self, budget_seconds: float) -> None:
        self.budget_seconds = budget_seconds
        self._timer: threading.Timer | None = None

    def arm(self) -> None:
        if self._timer is not None:
            return
        self._timer = threading.Timer(self.budget_seconds, self._overran)
        self._timer.daemon = True
        self._timer.start()

    def _overran(self) -> None:
        log.error("stop budget spent: exiting", extra={"budget_seconds": self.budget_seconds})
        logging.shutdown()
        os._exit(OVERRAN_EXIT_CODE)
