"""The tariff's unit of work on SQLAlchemy (``ports.UnitOfWork``): one ``AsyncSession``
and its transaction, begun by the first statement (no statement of its own), committed by
``commit`` and rolled back on leaving without one."""

from __future__ import annotations

from functools import partial
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.tariff.db.errors import DRIVER_ERRORS, storage_error, translated
from services.tariff.db.repository import SqlRepository
from services.tariff.ports import UnitsOfWork


class SqlUnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self._repository: SqlRepository | None = None

    @property
    def repository(self) -> SqlRepository:
        if self._repository is None:
            raise RuntimeError("the unit of work is used outside its `async with`")
        return self._repository

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self._repository = SqlRepository(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, self._session, self._repository = self._session, None, None
        if session is None:
            return
        try:
            try:
                await session.rollback()  # nothing to do after a commit
            finally:
                await session.close()
        except DRIVER_ERRORS as failure:
            if exc is None:  # else the error that ended the work says more
                raise storage_error(failure) from failure

    async def commit(self) -> None:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `async with`")
        with translated():
            await self._session.commit()


def sql_units(engine: AsyncEngine) -> UnitsOfWork:
    """Units of work on ``engine`` (one session each)."""
    return partial(SqlUnitOfWork, async_sessionmaker(engine, expire_on_commit=False))
