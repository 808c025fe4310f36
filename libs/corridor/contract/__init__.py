"""The event contract (``corridor.v1.CargoEvent`` on ``cargo.events.v1``), in one place for
every producer and consumer: enums, limits, timestamps, the neutral value, validation and
the codec. See docs/architecture.md, "The event contract"."""

from corridor.contract.codec import decode, encode, from_message, parse, to_message
from corridor.contract.event import BookingData, CargoEventData
from corridor.contract.timestamps import moment, timestamp
from corridor.contract.validation import ContractError, validate

__all__ = [
    "BookingData",
    "CargoEventData",
    "ContractError",
    "decode",
    "encode",
    "from_message",
    "moment",
    "parse",
    "timestamp",
    "to_message",
    "validate",
]
