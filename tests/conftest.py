"""Shared fixtures: a real database on each backend (SQLite, and PostgreSQL: tests/pgserver.py),
a local feed server and an HTTP session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from storage import Store, open_store
from storage.migrate import upgrade
from tests.feedserver import FeedServer, feed_server

# The throwaway PostgreSQL server and the `database_url` fixture, which runs each test
# that uses it once on SQLite and once on PostgreSQL.
pytest_plugins = ["tests.pgserver"]

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "posts"
#: The newsroom's real post, from shared/ beside the repository (examples/ holds a copy).
_SHARED_SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_f4a03f36554e6008.txt"
SEED = _SHARED_SEED if _SHARED_SEED.is_file() else EXAMPLES / _SHARED_SEED.name


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    async with open_store(database_url) as opened:
        await upgrade(opened.engine)
        yield opened


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    """Feeds on a local HTTP server (tests/feedserver.py)."""
    async with feed_server() as started:
        yield started


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


def example_config(folder: Path, *, backfill: int = 0) -> Path:
    """A config file in `folder`: a fresh SQLite database and the bundled example posts."""
    config = folder / "newsbot.toml"
    config.write_text(
        f'database_url = "sqlite+aiosqlite:///{folder / "bot.db"}"\n'
        "[[sources]]\n"
        'name = "newsdao"\n'
        f'path = "{EXAMPLES}"\n'
        'site_url = "https://newsdao.kr"\n'
        f"backfill = {backfill}\n"
    )
    return config
