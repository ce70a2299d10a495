"""The batched source calls a poll cycle makes: many leases in one statement, many states in one.

Each test runs on SQLite and on PostgreSQL (the `store` fixture).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.models import AddedSource, SourceState
from storage import Store

LEASE = timedelta(minutes=2)
NAMES = ["a", "b", "c", "d", "e"]


async def test_one_call_leases_every_free_source_and_says_which(store: Store) -> None:
    await store.save_source_state(SourceState("a", etag='"v1"', initialized=True))
    assert await store.lease_source("b", "other", LEASE), "held by another process"
    await store.pause_source("c", True)
    taken = await store.lease_sources(NAMES, "me", LEASE)
    assert sorted(taken) == ["a", "d", "e"], "d and e had no row yet: they get one"
    assert taken["a"].etag == '"v1"' and taken["a"].initialized
    assert taken["d"] == SourceState("d")
    assert not await store.lease_source("d", "other", LEASE), "the batch's lease is a lease"


async def test_with_due_by_only_the_sources_due_are_leased(store: Store) -> None:
    now = datetime.now(UTC)
    await store.save_source_state(SourceState("a", next_fetch_at=now - timedelta(seconds=1)))
    await store.save_source_state(SourceState("b", next_fetch_at=now + timedelta(minutes=5)))
    taken = await store.lease_sources(["a", "b", "c"], "me", LEASE, due_by=now)
    assert sorted(taken) == ["a", "c"], "b was fetched (by anyone) and is due later"
    assert sorted(await store.lease_sources(["a", "b", "c"], "me", LEASE)) == ["a", "b", "c"]


async def test_batched_and_single_leases_exclude_each_other(store: Store) -> None:
    assert await store.lease_source("a", "single", LEASE)
    assert sorted(await store.lease_sources(["a", "b"], "batch", LEASE)) == ["b"]
    assert not await store.lease_source("b", "single", LEASE)
    assert sorted(await store.lease_sources(["a", "b"], "batch", LEASE)) == ["b"], "renewed"
    await store.release_source("a", "single")
    assert sorted(await store.lease_sources(["a", "b"], "batch", LEASE)) == ["a", "b"]


async def test_a_dead_processs_batched_lease_runs_out(store: Store) -> None:
    assert sorted(await store.lease_sources(NAMES, "dead", timedelta(seconds=-1))) == NAMES
    assert sorted(await store.lease_sources(NAMES, "alive", LEASE)) == NAMES
    assert await store.lease_sources(NAMES, "dead", LEASE) == {}


async def test_two_processes_leasing_the_same_sources_at_once_split_them(store: Store) -> None:
    names = [f"feed{n}" for n in range(200)]
    await store.lease_sources(names, "setup", timedelta(seconds=-1))  # rows exist, free
    first, second = await asyncio.gather(
        store.lease_sources(names, "one", LEASE),
        store.lease_sources(names[::-1], "two", LEASE),
    )
    assert not set(first) & set(second), "no source is fetched by both"
    assert set(first) | set(second) == set(names), "rows being leased are skipped, not lost"


async def test_many_states_are_written_at_once_and_their_leases_released(store: Store) -> None:
    await store.add_source(AddedSource("added", "https://news.example.kr/rss", ("IT",), "x"))
    await store.pause_source("added", True)
    taken = await store.lease_sources([*NAMES, "added"], "me", LEASE)
    now = datetime.now(UTC).replace(microsecond=0)
    states = [
        SourceState(name, etag=f'"{name}"', failures=n, last_fetch_at=now, next_fetch_at=now)
        for n, name in enumerate([*taken, "added"])
    ]
    await store.save_source_states(states, release="me")
    saved = {s.name: s for s in await store.source_states()}
    for state in states[:-1]:
        assert saved[state.name] == state, "every column the watcher keeps"
    assert saved["added"] == replace(states[-1], paused=True), "a pause is not the watcher's"
    assert await store.added_sources() == [
        AddedSource("added", "https://news.example.kr/rss", ("IT",), "x")
    ]
    assert sorted(await store.lease_sources(NAMES, "other", LEASE)) == NAMES, "released"


async def test_a_process_whose_lease_ran_out_leaves_the_new_holders_lease_alone(
    store: Store,
) -> None:
    assert await store.lease_sources(["a", "b"], "slow", timedelta(seconds=-1))
    assert sorted(await store.lease_sources(["a"], "fast", LEASE)) == ["a"]
    found = [SourceState("a", etag='"late"'), SourceState("b", etag='"b"')]
    await store.save_source_states(found, release="slow")
    await store.save_source_state(SourceState("c"), release="slow")

    assert (await store.source_state("a")).etag == '"late"', "what it found is written"
    assert await store.lease_sources(["a"], "third", LEASE) == {}, "fast still holds a"
    assert sorted(await store.lease_sources(["b", "c"], "third", LEASE)) == ["b", "c"]


async def test_states_written_without_release_keep_their_leases(store: Store) -> None:
    await store.lease_sources(["a", "b"], "me", LEASE)
    await store.save_source_states([SourceState("a", etag="x"), SourceState("b")])
    assert await store.lease_sources(["a", "b"], "other", LEASE) == {}
    assert (await store.source_state("a")).etag == "x"
    await store.save_source_states([])  # nothing to write is no statement, and no error
