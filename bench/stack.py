"""The whole corridor stack as real processes, for benchmarks, fault scenarios and fuzzing.

Broker (embedded Tansu), ingest, tracker and tariff, on free loopback ports, with SQLite or
fresh PostgreSQL databases. Every process can be killed, restarted or paused; the stack
tears itself down (and drops its databases) on exit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from corridor.devstack import (
    EmbeddedBroker,
    ManagedProcess,
    free_ports,
    python_module,
    wait_for_http,
)

POSTGRES_ADMIN_URL = os.environ.get(
    "CORRIDOR_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
SERVICES = ("ingest", "tracker", "tariff")


@dataclass
class StackOptions:
    database: Literal["sqlite", "postgres"] = "postgres"
    partitions: int = 3
    publish_timeout_seconds: float = 2.0
    rate_limit_per_second: float = 100_000.0
    rate_limit_burst: float | None = None  # defaults to one second's worth
    # Extra environment per service, e.g. {"tracker": {"TRACKER_DATABASE_URL": ...}}.
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    services: tuple[str, ...] = SERVICES
    # Services reach PostgreSQL through this port when set (e.g. a latency proxy).
    database_port: int | None = None


class Stack:
    def __init__(self, workdir: Path, options: StackOptions | None = None) -> None:
        self.workdir = workdir
        self.options = options or StackOptions()
        ports = free_ports(("broker", *SERVICES))
        self.broker = EmbeddedBroker(ports.pop("broker"), log=self._log("broker"))
        self.ports = ports
        self.processes: dict[str, ManagedProcess] = {}
        self.database_urls: dict[str, str] = {}
        self._databases: list[str] = []

    def _log(self, name: str) -> int:
        self.workdir.mkdir(parents=True, exist_ok=True)
        return os.open(self.workdir / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def bootstrap_servers(self) -> str:
        return self.broker.bootstrap_servers

    async def _new_database(self, service: str) -> str:
        if self.options.database == "sqlite":
            return f"sqlite+aiosqlite:///{self.workdir / (service + '.db')}"
        name = f"corridor_{service}_{uuid.uuid4().hex[:10]}"
        admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            await admin.dispose()
        self._databases.append(name)
        url = make_url(POSTGRES_ADMIN_URL).set(database=name)
        if self.options.database_port is not None:
            url = url.set(port=self.options.database_port)
        return url.render_as_string(False)

    def env_for(self, service: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
        prefix = service.upper()
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
                "KAFKA_TOPIC_PARTITIONS": str(self.options.partitions),
                "KAFKA_PUBLISH_TIMEOUT_SECONDS": str(self.options.publish_timeout_seconds),
                f"{prefix}_HOST": "127.0.0.1",
                f"{prefix}_PORT": str(self.ports[service]),
                f"{prefix}_LOG_LEVEL": "WARNING",
                # A local run: the demo principals (production refuses their keys).
                f"{prefix}_ENVIRONMENT": "local",
                "INGEST_RATE_LIMIT_PER_SECOND": str(self.options.rate_limit_per_second),
                "INGEST_RATE_LIMIT_BURST": str(
                    self.options.rate_limit_burst or self.options.rate_limit_per_second
                ),
            }
        )
        if service in self.database_urls:
            env[f"{prefix}_DATABASE_URL"] = self.database_urls[service]
        env.update(self.options.env.get(service, {}))
        return env

    async def start(self) -> None:
        self.broker.start_and_wait()
        for service in self.options.services:
            self.database_urls[service] = await self._new_database(service)
        for service in self.options.services:
            self.start_service(service)
        for service in self.options.services:
            await self.wait_ready(service)

    def start_service(self, service: str) -> None:
        proc = ManagedProcess(
            service,
            python_module(f"services.{service}"),
            env=self.env_for(service),
            log=self._log(service),
        )
        proc.start()
        self.processes[service] = proc

    async def wait_ready(self, service: str, within: float = 60.0) -> None:
        await asyncio.to_thread(wait_for_http, f"{self.url(service)}/readyz", within)

    def kill(self, service: str) -> None:
        self.processes[service].kill()

    async def restart(self, service: str, sig: int = signal.SIGKILL) -> None:
        proc = self.processes[service]
        if sig == signal.SIGKILL:
            proc.kill()
        else:
            proc.stop()
        self.start_service(service)
        await self.wait_ready(service)

    def rss_bytes(self, service: str) -> int:
        status = Path(f"/proc/{self.processes[service].pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    async def stop(self) -> None:
        for proc in reversed(list(self.processes.values())):
            proc.stop()
        self.broker.stop()
        if self._databases:
            admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            try:
                async with admin.connect() as conn:
                    for name in self._databases:
                        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            finally:
                await admin.dispose()

    async def __aenter__(self) -> Stack:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
