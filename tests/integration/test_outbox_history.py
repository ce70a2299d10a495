"""The outbox's due rows are found from its indexes, however long its history grows.

A claim (and the idle dispatcher's look for the next due row) asks for three kinds
of row: pending, orphaned in flight, and sent but owing an edit or a deletion. Asked
as one OR, SQLite read every row a platform ever had, sent ones included: with
90,000 sent rows behind 3,000 pending ones a claim's search took 48 ms instead of 2.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from storage import Store, open_store, outbox
from storage.migrate import upgrade


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}") as opened:
        await upgrade(opened.engine)
        yield opened


async def reads_of(store: Store, query: Any) -> list[str]:
    """The steps of SQLite's plan for `query` that read the outbox table."""
    sql = query.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True})
    async with store.engine.connect() as conn:
        steps = [str(row[3]) for row in await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
    return [step for step in steps if "deliveries" in step]


async def test_a_claim_reads_each_kind_of_due_row_from_its_index(sqlite_store: Store) -> None:
    due = outbox.due_ids(["telegram", "discord"], skip_locked=False).params(
        now=datetime.now(UTC), owner="me", claim_limit=200
    )
    reads = await reads_of(sqlite_store, due)
    assert len(reads) == 6, "three kinds of due row, two platforms"
    assert all(step.startswith("SEARCH deliveries USING") for step in reads), "no full scan"
    assert sum("ix_deliveries_owed" in step for step in reads) == 2, "owed rows: the small index"


async def test_the_next_due_row_is_found_from_the_indexes_too(sqlite_store: Store) -> None:
    reads = await reads_of(sqlite_store, outbox.earliest_due(["telegram"], "me"))
    assert len(reads) == 3, "pending, in flight, owed"
    assert all(step.startswith("SEARCH deliveries USING") for step in reads), "no full scan"
    assert "ix_deliveries_owed" in reads[2]
