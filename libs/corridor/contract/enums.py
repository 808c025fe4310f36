"""The contract's enums by name, both ways, built once from the generated code.

Names are the protobuf value names without their prefix (``EVENT_TYPE_BOOKED`` is
``BOOKED``): the HTTP API's names. The unspecified value (0) has no name: ``""`` stands for
it in a ``CargoEventData``, and ``number("")`` is 0.
"""

from __future__ import annotations

from typing import Any

from corridor.v1 import common_pb2


class ProtoEnum:
    """One protobuf enum: ``name(number)`` and ``number(name)``, prefix removed."""

    def __init__(self, wrapper: Any, prefix: str) -> None:
        self.field = prefix.removesuffix("_").lower()
        self.by_number: dict[int, str] = {
            int(number): str(name).removeprefix(prefix)
            for name, number in wrapper.items()
            if number
        }
        self.by_name: dict[str, int] = {name: n for n, name in self.by_number.items()}
        self.names: frozenset[str] = frozenset(self.by_name)

    def number(self, name: str) -> int:
        """The value of ``name``; 0 for ``""``; ``KeyError`` for a name it does not have."""
        return self.by_name[name] if name else 0


EVENT_TYPE = ProtoEnum(common_pb2.EventType, "EVENT_TYPE_")
CLASSIFIER = ProtoEnum(common_pb2.Classifier, "CLASSIFIER_")
MODE = ProtoEnum(common_pb2.Mode, "MODE_")
CONTAINER_TYPE = ProtoEnum(common_pb2.ContainerType, "CONTAINER_TYPE_")
