"""The consumer loop's progress watchdog: is work waiting that nobody is doing?

A loop can be kept from progressing in ways no exception reports: a handler that blocks, a
client that retries forever inside the library, a group that never assigns partitions
back. So the loop tells the watchdog what it sees (records waiting, progress made, nothing
to do) and the watchdog says, by the time alone, whether the loop is fine, *stalled*
(``/readyz`` red: take it out of service) or *stuck* (``/healthz`` red: restart the pod).
Nothing waiting is never a stall, however long it lasts: an idle topic is fine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

State = Literal["ok", "stalled", "stuck"]


class Progress:
    def __init__(
        self,
        ready_grace: float = 30.0,
        live_grace: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < ready_grace <= live_grace:
            raise ValueError("need 0 < ready_grace <= live_grace")
        self.ready_grace = ready_grace
        self.live_grace = live_grace
        self._clock = clock
        # When records started to wait without progress (the clock's time), or None.
        self.waiting_since: float | None = None

    def waiting(self) -> None:
        """Records wait (lag, a batch fetched and not committed, a client error)."""
        if self.waiting_since is None:
            self.waiting_since = self._clock()

    def progressed(self) -> None:
        """A batch was committed: the grace starts again from the next wait."""
        self.waiting_since = None

    idle = progressed  # nothing waits: the same as having just caught up

    def stalled_seconds(self) -> float:
        if self.waiting_since is None:
            return 0.0
        return max(0.0, self._clock() - self.waiting_since)

    def state(self) -> State:
        stalled = self.stalled_seconds()
        if stalled >= self.live_grace:
            return "stuck"
        if stalled >= self.ready_grace:
            return "stalled"
        return "ok"
