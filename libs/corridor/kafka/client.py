"""The Kafka consumer client, as the consumer loop sees it: how one is made, what the loop
calls on it (so that unit tests can hand it a fake), and how its failures are reported."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from corridor.kafka.topics import client_options
from corridor.settings import KafkaSettings


class Consumer(Protocol):
    """The part of ``AIOKafkaConsumer`` the loop uses."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def getmany(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[TopicPartition, list[ConsumerRecord]]: ...
    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None: ...
    async def position(self, partition: TopicPartition) -> int: ...
    def assignment(self) -> set[TopicPartition]: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    def highwater(self, partition: TopicPartition) -> int | None: ...


class ClientError(Exception):
    """The Kafka client failed at ``stage`` (start, fetch, commit, lag, seek); the cause is
    chained."""

    def __init__(self, stage: str) -> None:
        super().__init__(stage)
        self.stage = stage


STAGES = ("start", "fetch", "commit", "lag", "seek")


def make_consumer(
    settings: KafkaSettings, group_id: str, topics: Sequence[str], client_id: str
) -> Consumer:
    """A consumer that never auto-commits and starts from the earliest offset."""
    consumer: Consumer = AIOKafkaConsumer(
        *topics,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        **client_options(settings),
    )
    return consumer
