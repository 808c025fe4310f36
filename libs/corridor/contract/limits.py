"""The bounds of a ``CargoEvent``'s fields: the ones ingest's HTTP schema enforces
(``services/ingest/schemas.py``; a unit test holds the two equal), which every consumer
and every other producer applies too. Longer text could not be stored (column widths) or
would swell logs and dead-letter headers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from corridor.equipment import MAX_ANY_GROSS_MASS_KG

# Characters: the longest value of each text field.
EVENT_ID = 128
PRINCIPAL_ID = 32  # carrier, booking.parties.*, booking.legs[].carrier
SHIPMENT_ID = 64
EQUIPMENT_NO = 32  # container_no, wagon_no
NODE_CODE = 16  # location and every node of a booking
REASON = 500
CARGO_DESCRIPTION = 500
HS_CODE = 10

MAX_LEGS = 16
MAX_GROSS_WEIGHT_KG = MAX_ANY_GROSS_MASS_KG

# Every time of an event lies in [EARLIEST, LATEST): outside, it is a typo (and far
# outside, it could not be a protobuf Timestamp nor a datetime).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
