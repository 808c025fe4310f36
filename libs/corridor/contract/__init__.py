"""The event contract (``corridor.v1.CargoEvent`` on ``cargo.events.v1``), in one place for
every producer and consumer (docs/architecture.md, "The event contract"):

- ``event``: ``CargoEventData`` / ``BookingData``, the event as plain immutable values;
- ``enums``: the enums by name, both ways; ``limits``: field lengths and time bounds;
- ``timestamps``: ``timestamp()`` / ``moment()``, the one datetime <-> Timestamp conversion;
- ``validation``: ``validate()``, the one set of rules, and ``ContractError``;
- ``codec``: ``decode()`` bytes -> valid value, ``encode()`` value -> bytes.

Import from the modules: this package imports nothing, so that pure modules may use
``event`` and ``limits`` without loading the generated protobuf code.
"""
