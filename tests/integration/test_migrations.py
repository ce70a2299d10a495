"""The migrations build exactly the schema `storage/tables.py` describes, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from storage import Store
from storage.tables import metadata


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection)
    return list(compare_metadata(context, metadata))


async def test_migrations_match_the_tables(store: Store) -> None:
    async with store.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
