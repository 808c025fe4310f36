"""The one conversion between ``datetime`` and ``google.protobuf.Timestamp``.

Exact integer arithmetic to the microsecond (a datetime holds no nanoseconds: they are
truncated). ``Timestamp.FromDatetime`` / ``ToDatetime`` are slower and go through
``astimezone``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def timestamp(moment: datetime) -> Timestamp:
    """A timezone-aware ``moment`` as a Timestamp (a naive one raises ``TypeError``)."""
    delta = moment - _EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def moment(stamp: Timestamp) -> datetime:
    """A Timestamp as an aware UTC datetime; ``OverflowError`` beyond what one can hold."""
    return _EPOCH + timedelta(0, stamp.seconds, stamp.nanos // 1000)


def micros(moment: datetime) -> int:
    """A timezone-aware ``moment`` as integer microseconds since the epoch (exact)."""
    return (moment - _EPOCH) // _MICROSECOND
