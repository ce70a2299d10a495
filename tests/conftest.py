"""Shared fixtures: a real database (SQLite here; PostgreSQL too where available)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import Store, open_store
from storage.migrate import upgrade

SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_f4a03f36554e6008.txt"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "posts"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    async with open_store(database_url) as opened:
        await upgrade(opened.engine)
        yield opened
