"""What every part of the Store shares: the engine, transactions, the dialect's INSERT."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.errors import StoreError

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class StoreBase:
    """The engine and a clock; `_tx` translates database errors into `StoreError`."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock = utcnow) -> None:
        self.engine = engine
        self._clock = clock

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {type(exc).__name__}: {exc.args[0]!s:.200}") from exc

    def _insert(self, table: Any) -> Any:
        """The dialect's INSERT, which knows ON CONFLICT (both spell it the same way)."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    async def ping(self) -> None:
        async with self._tx() as conn:
            await conn.execute(select(1))


async def count_groups(conn: AsyncConnection, query: Select[Any, Any]) -> dict[str, int]:
    return {str(key): int(value) for key, value in await conn.execute(query)}


async def count_rows(conn: AsyncConnection, condition: ColumnElement[bool]) -> int:
    return int((await conn.execute(select(func.count()).where(condition))).scalar_one())
