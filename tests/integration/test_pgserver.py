"""The test suite's PostgreSQL server (tests/pgserver.py) gives real, isolated databases."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.pgserver import (
    URL_ENV,
    PostgresServer,
    PostgresUnavailable,
    find_bindir,
    is_ci,
    unavailable,
)

REPO = Path(__file__).resolve().parents[2]
DEBIAN_ROOT = Path("/usr/lib/postgresql")


@asynccontextmanager
async def engine_on(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def table_names(url: str) -> list[str]:
    async with engine_on(url) as engine, engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        )
        return list(rows.scalars())


async def test_session_database_answers_queries(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+asyncpg://")
    async with engine_on(postgres_url) as engine, engine.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1


async def test_second_claimer_skips_the_row_the_first_has_locked(
    postgres_database_url: str,
) -> None:
    """The outbox's claim: FOR UPDATE SKIP LOCKED hands each row to one connection."""
    async with engine_on(postgres_database_url) as engine:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE outbox (id int PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO outbox VALUES (1), (2), (3)"))
        claim = text("SELECT id FROM outbox ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED")
        async with engine.connect() as first, engine.connect() as second:
            await first.begin()
            await second.begin()
            first_claim = (await first.execute(claim, {"n": 1})).scalars().all()
            second_claim = (await second.execute(claim, {"n": 10})).scalars().all()
            await first.rollback()
            await second.rollback()
    assert first_claim == [1]
    assert second_claim == [2, 3]


@pytest.mark.parametrize("turn", ["first", "second"])
async def test_each_test_gets_an_empty_database(postgres_database_url: str, turn: str) -> None:
    # Whichever turn runs second would see the other's table if databases were shared.
    assert await table_names(postgres_database_url) == []
    async with engine_on(postgres_database_url) as engine, engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE left_by_{turn} (id int)"))


async def test_new_databases_are_distinct_and_empty(
    postgres_server: PostgresServer, postgres_database_url: str
) -> None:
    other_url = postgres_server.create_database()
    try:
        assert other_url != postgres_database_url
        async with engine_on(postgres_database_url) as engine, engine.begin() as conn:
            await conn.execute(text("CREATE TABLE only_here (id int)"))
        assert await table_names(postgres_database_url) == ["only_here"]
        assert await table_names(other_url) == []
    finally:
        postgres_server.drop_database(other_url)


async def test_databases_store_korean_text(postgres_database_url: str) -> None:
    headline = "[속보] 국회, 예산안 처리"
    async with engine_on(postgres_database_url) as engine, engine.connect() as conn:
        assert await conn.scalar(text("SELECT CAST(:h AS text)"), {"h": headline}) == headline


async def test_database_url_gives_each_backend_in_turn(database_url: str) -> None:
    async with engine_on(database_url) as engine, engine.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1


async def test_a_prepared_database_serves_as_template(postgres_server: PostgresServer) -> None:
    """Set a schema up once, then give each test a copy of it."""
    template = postgres_server.create_database()
    copy = ""
    try:
        async with engine_on(template) as engine, engine.begin() as conn:
            await conn.execute(text("CREATE TABLE posts (guid text PRIMARY KEY)"))
        copy = postgres_server.create_database(template=template)
        assert await table_names(copy) == ["posts"]
    finally:
        for url in (copy, template):
            if url:
                postgres_server.drop_database(url)


def test_database_names_must_be_plain(postgres_server: PostgresServer) -> None:
    with pytest.raises(ValueError, match="not a plain database name"):
        postgres_server.create_database(template="x; DROP DATABASE postgres")


# --- when PostgreSQL cannot be had -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("TRUE", True), ("", False), ("false", False), ("0", False)],
)
def test_ci_is_recognised_from_the_environment(value: str, expected: bool) -> None:
    assert is_ci({"CI": value}) is expected


def test_unavailable_skips_outside_ci_and_fails_under_ci() -> None:
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL unavailable: no server"):
        unavailable("no\nserver", environ={})
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL unavailable: no server"):
        unavailable("no server", environ={"CI": "true"})


def test_binaries_are_found_in_the_newest_debian_layout(tmp_path: Path) -> None:
    for major in ("9", "13", "15"):
        bindir = tmp_path / major / "bin"
        bindir.mkdir(parents=True)
        for program in ("initdb", "pg_ctl"):
            (bindir / program).touch()
    assert find_bindir(None, None, tmp_path) == tmp_path / "15" / "bin"


def test_missing_binaries_give_a_reason(tmp_path: Path) -> None:
    with pytest.raises(PostgresUnavailable, match="no initdb/pg_ctl found"):
        find_bindir(None, None, tmp_path)


def run_session_without_server(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    """A pytest session whose only test needs PostgreSQL, pointed at no server at all."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.pgserver"]\n')
    (tmp_path / "test_needs_pg.py").write_text("def test_it(postgres_url):\n    pass\n")
    env = dict(os.environ, CI=ci, PYTHONPATH=str(REPO))
    env[URL_ENV] = f"postgresql+asyncpg://nobody@/db?host={tmp_path / 'no-such-dir'}"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-ra", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_without_a_server_tests_skip_with_a_reason(tmp_path: Path) -> None:
    done = run_session_without_server(tmp_path, ci="")
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
    assert "PostgreSQL unavailable: " in done.stdout


def test_without_a_server_tests_fail_under_ci(tmp_path: Path) -> None:
    done = run_session_without_server(tmp_path, ci="true")
    assert done.returncode == 1, done.stdout
    assert "PostgreSQL unavailable: " in done.stdout
    assert "skipped" not in done.stdout


# --- cleanup -------------------------------------------------------------------------

_KILLED_SESSION = """
import os, signal
from tests.pgserver import open_server
server, local = open_server({})
print(local.root, local._watchdog.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def wait_for_exit(pid: int, timeout: float) -> None:
    """Wait until process ``pid`` (not our child) has exited, or ``timeout`` passes."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)


def test_server_is_removed_when_the_session_is_killed() -> None:
    try:
        find_bindir(shutil.which("pg_config"), shutil.which("initdb"), DEBIAN_ROOT)
    except PostgresUnavailable as exc:
        unavailable(str(exc))
    env = {k: v for k, v in os.environ.items() if k != URL_ENV}
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_SESSION],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    root, watchdog_pid = done.stdout.split()
    assert Path(root).name.startswith("newsbot-pg-")
    wait_for_exit(int(watchdog_pid), timeout=60)
    assert not Path(root).exists()
