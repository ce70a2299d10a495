"""The watcher's batched cycle: one lease for the cycle, states written together, leases kept.

Feeds come from a local HTTP server (tests/feedserver.py); each test runs on SQLite and
on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import event, select

from bot.config import SourceSettings
from bot.sources import Source, build_source
from bot.watcher import Watcher
from storage import Store
from storage.tables import sources
from tests.feedserver import FeedServer, rss
from tests.integration.test_watcher_limits import Gate, GatedSource

LEASE = timedelta(minutes=5)


def feeds(server: FeedServer, session: aiohttp.ClientSession, *names: str) -> list[Source]:
    for name in names:
        server.url(name)
        server.feeds[name].body = rss((f"{name}-1", "기사", "IT"))
    return [build_source(SourceSettings(name=n, url=server.url(n)), session) for n in names]


@contextmanager
def statements_on_sources(store: Store) -> Iterator[list[str]]:
    """The SQL statements (an executemany counts once) that touch the sources table."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        if "sources" in statement.split("WHERE")[0]:
            seen.append(statement.split()[0])

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)


async def test_a_cycle_leases_in_one_statement_and_writes_states_together(
    store: Store, tmp_path: Path
) -> None:
    gate = Gate()
    gate.release.set()
    watcher = Watcher([GatedSource(f"s{n}", tmp_path, gate) for n in range(20)], store)
    await watcher.run_once()  # the sources' rows exist from here on
    gate.release.clear()
    with statements_on_sources(store) as seen:
        cycle = asyncio.ensure_future(watcher.run_once())
        await gate.changes.until(lambda: gate.inside == 20)
        gate.release.set()  # twenty unchanged answers at once
        reports = await asyncio.wait_for(cycle, timeout=20)
    assert [r.unchanged for r in reports] == [True] * 20
    assert seen.count("UPDATE") == 1, "one statement leases the whole cycle"
    assert 1 <= seen.count("INSERT") <= 2, "the first state goes alone, the others in one batch"
    assert {s.lease_owner for s in await lease_owners(store)} == {None}, "every lease released"


async def lease_owners(store: Store) -> list[Any]:
    async with store.engine.connect() as conn:
        return list(await conn.execute(select(sources.c.name, sources.c.lease_owner)))


async def test_sources_another_process_is_fetching_are_skipped_not_fetched_twice(
    store: Store, server: FeedServer, session: aiohttp.ClientSession
) -> None:
    sources = feeds(server, session, "a", "b", "c")
    busy = Watcher(sources, store, owner="busy")
    other = Watcher(sources, store, owner="other")
    for feed in server.feeds.values():
        feed.hang = True
    cycle = asyncio.ensure_future(busy.run_once())
    await server.changes.until(lambda: all(f.in_flight == 1 for f in server.feeds.values()))
    skipped = await other.run_once()
    assert [r.skipped for r in skipped] == [True] * 3
    assert [f.requests for f in server.feeds.values()] == [1, 1, 1]
    for feed in server.feeds.values():
        feed.hang = False
        feed.release.set()
    assert [r.ok for r in await cycle] == [True] * 3
    again = await other.run_once()
    assert [r.unchanged for r in again] == [True] * 3, "released: the other process fetches"
    assert [f.not_modified for f in server.feeds.values()] == [1, 1, 1], "with busy's ETags"


async def test_a_failing_source_backs_off_with_its_failure_written_and_its_lease_released(
    store: Store, server: FeedServer, session: aiohttp.ClientSession
) -> None:
    sources = feeds(server, session, "good", "broken")
    server.feeds["broken"].status = 500
    before = datetime.now(UTC)
    watcher = Watcher(sources, store, rng=random.Random(0))
    for failures in (1, 2):
        good, broken = await watcher.run_once()
        assert good.ok and not broken.ok and broken.error == "HTTP 500 Internal Server Error"
        state = await store.source_state("broken")
        assert state.failures == failures and state.last_error == broken.error
        assert state.next_fetch_at == broken.next_fetch_at
    assert broken.next_fetch_at and broken.next_fetch_at - before >= timedelta(seconds=300 * 0.75)
    assert sorted(await store.lease_sources(["good", "broken"], "other", LEASE)) == [
        "broken",
        "good",
    ]


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_a_check_that_waited_past_its_lease_for_a_slot_leaves_a_source_taken_meanwhile(
    store: Store, tmp_path: Path
) -> None:
    clock = Clock()
    shared = Store(store.engine, clock=clock)
    gate = Gate()
    first, second = GatedSource("first", tmp_path, gate), GatedSource("second", tmp_path, gate)
    watcher = Watcher([first, second], shared, clock=clock, concurrency=1)
    cycle = asyncio.ensure_future(watcher.run_once())
    await gate.changes.until(lambda: gate.inside == 1)  # "second" waits for the slot
    clock.now += timedelta(hours=1)  # …so long that the cycle's lease ran out
    assert await shared.lease_source("second", "other", LEASE), "another process took it"
    gate.release.set()
    reports = await asyncio.wait_for(cycle, timeout=20)
    assert [(r.source, r.ok, r.skipped) for r in reports] == [
        ("first", True, False),
        ("second", True, True),
    ]
    assert gate.most == 1


async def test_the_running_watcher_checks_sources_as_they_come_due_and_follows_the_list(
    store: Store, server: FeedServer, session: aiohttp.ClientSession
) -> None:
    def source(name: str) -> Source:
        server.url(name)
        server.feeds[name].body = rss((f"{name}-1", "기사", "IT"))
        return build_source(SourceSettings(name=name, url=server.url(name), interval=1), session)

    watched = [source("a")]

    async def discover() -> list[Source]:
        return list(watched)

    watcher = Watcher(watched, store)
    stop = asyncio.Event()
    running = asyncio.ensure_future(watcher.run(stop, discover=discover))
    feed = server.feeds
    try:
        await server.changes.until(lambda: feed["a"].not_modified >= 1, within=10)
        watched.append(source("b"))
        watcher.rediscover()
        await server.changes.until(lambda: feed["b"].not_modified >= 1, within=10)
        watched.pop(0)
        watcher.rediscover()
        # A check of "a" begun before it was removed is over once "b" was asked again;
        # had "a" stayed on the schedule, it would be asked while "b" is asked twice more.
        await more_requests(server, "b", 1)
        last = feed["a"].requests
        await more_requests(server, "b", 2)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=20)
    assert feed["a"].requests == last, "a removed source is not fetched again"


async def more_requests(server: FeedServer, name: str, count: int) -> None:
    target = server.feeds[name].requests + count
    await server.changes.until(lambda: server.feeds[name].requests >= target, within=10)


async def test_the_first_cycle_is_announced_once_when_its_checks_are_done(
    store: Store, server: FeedServer, session: aiohttp.ClientSession
) -> None:
    # `newsbot run` freezes the heap there (bot.app.settle_heap): the working set is built.
    seen: list[int] = []

    def fetched() -> None:
        seen.append(sum(feed.requests for feed in server.feeds.values()))

    watcher = Watcher(feeds(server, session, "a", "b"), store, on_first_cycle=fetched)
    await watcher.run_once()
    await watcher.run_once()
    assert seen == [2], "called once, after both sources were fetched"
