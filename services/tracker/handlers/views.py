"""The views this process committed last, so that a batch need not read them back.

With one consumer per partition, the stored view of a shipment this process changed is
the one it committed, unless another process changed it meanwhile (a rebalance): then the
write is refused (``ConcurrentChange``) and the shipment forgotten here. The least
recently changed shipments leave first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from services.tracker.domain import TrackedShipment
from services.tracker.ports import StoredShipment


class ViewCache:
    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._views: OrderedDict[str, StoredShipment] = OrderedDict()

    @property
    def views(self) -> Mapping[str, StoredShipment]:
        return self._views

    def remember(self, shipment: TrackedShipment) -> None:
        views = self._views
        shipment_id = shipment.shipment_id
        views[shipment_id] = StoredShipment(shipment.version, shipment.view, shipment.heard_at)
        views.move_to_end(shipment_id)
        while len(views) > self.size:
            views.popitem(last=False)

    def forget(self, shipment_ids: Iterable[str]) -> None:
        for shipment_id in shipment_ids:
            self._views.pop(shipment_id, None)

    def __len__(self) -> int:
        return len(self._views)
