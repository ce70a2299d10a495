"""Planning one post for 100,000 subscribed chats, on SQLite and on PostgreSQL.

Run `python bench/plan.py [--chats N] [--repeats N] [--no-postgres]`. For each
backend: a fresh database (SQLite: a temporary file; PostgreSQL:
`$NEWSBOT_BENCH_POSTGRES_URL`, else a throwaway server started like the test
suite's, tests/pgserver.py), migrated, N chats each subscribed to `IT`, `경제` and
`정치` created set-based, ANALYZE (what autovacuum does for a live database); then
the real path, `Store.ingest` of one new `IT` post from an initialized source,
which stores the post and plans its outbox rows in one INSERT … SELECT
(`storage.outbox.plan_post`). Timed with `time.perf_counter` around the whole
transaction; the fastest of `--repeats` posts is reported (on a shared machine
the fastest run is the code's own cost; the others add the neighbours'). Goal:
≤ 1 s on PostgreSQL for 100,000 chats.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bench.common import (
    Figure,
    PostgresUnavailableError,
    bulk_chats,
    figure,
    postgres_url,
    print_report,
    report,
    sqlite_url,
)
from bot.models import Post, SourceState
from storage import Store, open_store
from storage.migrate import upgrade

#: Every chat follows these; the benchmarked post is in the first.
KEYS = ("IT", "경제", "정치")
GOAL_POSTGRES_S = 1.0

#: Keyword filters (issue 9), applied inside the same planning statement: every tenth
#: chat includes `반도체` (the post matches), every tenth another excludes `광고` (it
#: does not), and 1,000 chats exclude ten words each. Every chat still gets the post.
FILTERS = (
    "INSERT INTO chat_filters (chat_id, exclude, pattern, term) "
    "SELECT id, false, '반도체', '반도체' FROM chats WHERE id % 10 = 0",
    "INSERT INTO chat_filters (chat_id, exclude, pattern, term) "
    "SELECT id, true, '광고', '광고' FROM chats WHERE id % 10 = 5",
    *(
        "INSERT INTO chat_filters (chat_id, exclude, pattern, term) "
        f"SELECT id, true, ' word{k} ', 'word{k}' FROM chats WHERE id % 100 = 1"
        for k in range(10)
    ),
)


def bench_post(number: int) -> Post:
    link = f"https://news.example.kr/article/plan-{number}"
    return Post(
        source="bench",
        guid=f"plan-{number}",
        link=link,
        title=f"반도체 수출 {number}개월 연속 증가",
        excerpt="정부는 오늘 반도체 수출이 늘었다고 발표했다.",
        categories=(KEYS[0],),
        published_at=datetime.now(UTC),
        image=None,
        breaking=False,
        fingerprint=hashlib.md5(link.encode()).hexdigest(),
    )


async def prepare(store: Store, chats: int) -> SourceState:
    """Schema, `chats` subscribed chats, fresh statistics; the source, initialized."""
    await upgrade(store.engine)
    await bulk_chats(store.engine, chats, KEYS)
    await run_sql(store, ["ANALYZE"])
    state = SourceState(name="bench", initialized=True)
    await store.save_source_state(state)
    return state


async def run_sql(store: Store, statements: Sequence[str]) -> None:
    async with store.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def timed_ingests(
    store: Store, state: SourceState, numbers: range, chats: int
) -> list[float]:
    """Seconds for each `Store.ingest` of one new post planned for `chats` chats."""
    timings = []
    for number in numbers:
        started = time.perf_counter()
        result = await store.ingest(state, [bench_post(number)])
        timings.append(time.perf_counter() - started)
        if result.planned != chats:
            raise RuntimeError(f"planned {result.planned} rows, expected {chats}")
    return timings


async def measure(
    url: str, chats: int, repeats: int, what_if: Sequence[str] = ()
) -> tuple[list[float], list[float]]:
    """Timings of the schema as migrated, then (outbox emptied) after the `what_if` DDL."""
    async with open_store(url) as store:
        state = await prepare(store, chats)
        timings = await timed_ingests(store, state, range(repeats), chats)
        if not what_if:
            return timings, []
        await run_sql(store, ["DELETE FROM deliveries", *what_if, "ANALYZE"])
        return timings, await timed_ingests(store, state, range(repeats, 2 * repeats), chats)


def backend_figure(
    backend: str, database: AbstractContextManager[str], chats: int, repeats: int
) -> tuple[list[Figure], dict[str, list[float]]]:
    name = f"plan one post, {chats:,} chats ({backend})"
    postgres = backend == "PostgreSQL"
    goal = GOAL_POSTGRES_S if postgres else None
    try:
        with database as url:
            timings, leaner = asyncio.run(measure(url, chats, repeats, FILTERS))
    except PostgresUnavailableError as exc:
        return [figure(name, None, "s", goal=goal, note=f"not measured: {exc}")], {}
    note = f"best of {repeats}; median {statistics.median(timings):.3f} s"
    made = figure(name, round(min(timings), 3), "s", goal=goal, note=note)
    filtered = figure(
        f"{name[: -len(backend) - 3]} with keyword filters ({backend})",
        round(min(leaner), 3),
        "s",
        goal=goal,
        note=f"best of {repeats}; 21,000 chats with keywords (FILTERS in bench/plan.py)",
    )
    return [made, filtered], {backend: timings, f"{backend} with filters": leaner}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure planning on each backend; returns the report (see bench/__main__.py)."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--chats", type=int, default=100_000)
    options.add_argument("--repeats", type=int, default=3)
    options.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = options.parse_args(argv)
    backends: list[tuple[str, AbstractContextManager[str]]] = [("SQLite", sqlite_url())]
    if not args.no_postgres:
        backends.append(("PostgreSQL", postgres_url()))
    figures: list[Figure] = []
    timings: dict[str, list[float]] = {}
    for backend, database in backends:
        made, seconds = backend_figure(backend, database, args.chats, args.repeats)
        figures.extend(made)
        timings |= {key: value for key, value in seconds.items() if value}
    return report("plan", figures, chats=args.chats, timings_s=timings)


if __name__ == "__main__":
    print_report(main())
