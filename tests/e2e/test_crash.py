"""`newsbot run` killed mid-fan-out: nothing lost, duplicates only from what was in flight.

The bot runs as a child process against the fake Bot API in this process, with a
small in-flight bound and short leases so a restart takes over within seconds.
SIGKILL leaves the dead process's leases to run out; SIGTERM finishes what is in
flight, records it, gives the receiver role up, and exits 0. Each replacement
process is started just before the one it replaces is stopped, so its start-up
overlaps the wait for the old leases.
"""

from __future__ import annotations

import random
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.models import SourceState
from storage import Store, open_store
from storage.migrate import upgrade
from tests.factories import make_post
from tests.fakes.telegram_api import FakeTelegram
from tests.processes import (
    NewsbotProcess,
    delivered,
    duplicates,
    sent_at_least,
    subscribe_chats,
    write_config,
)

CHATS = 1_000
FIRST_CHAT = 30_000
#: Rows claimed per round. A killed process leaves at most two batches sent but not
#: recorded: the one going out and the one before it, recorded meanwhile.
BATCH = 50
IN_FLIGHT_BOUND = 2 * BATCH
DELIVERY = {"batch_size": BATCH, "concurrency": 16, "lease_seconds": 2, "receiver_lease_seconds": 2}
#: Generous bounds for a loaded CI machine; the usual run takes a fraction.
WITHIN = 60.0


@dataclass
class Setup:
    tg: FakeTelegram
    config: Path
    chat_ids: list[int]


@pytest.fixture
async def planned(tmp_path: Path) -> AsyncIterator[Setup]:
    """1,000 subscribed chats and one post planned for them, in a SQLite file."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}"
    chat_ids = [FIRST_CHAT + n for n in range(CHATS)]
    async with open_store(url) as store:
        await upgrade(store.engine)
        await subscribe_chats(store, chat_ids, "IT")
        await plan_one_post(store)
    async with FakeTelegram() as tg:
        yield Setup(tg, write_config(tmp_path, url, **DELIVERY), chat_ids)


async def plan_one_post(store: Store) -> None:
    await store.ingest(SourceState("newsroom"), [])  # the first fetch alerts nothing
    result = await store.ingest(SourceState("newsroom"), [make_post(1, categories=("IT",))])
    assert result.planned == CHATS


async def test_killed_three_times_every_chat_still_gets_the_alert_once(planned: Setup) -> None:
    tg, chat_ids = planned.tg, planned.chat_ids
    moments = sorted(random.Random(20261129).sample(range(50, CHATS - 100), 3))
    bots = [await NewsbotProcess(planned.config, tg, "run0").start()]
    try:
        for n, moment in enumerate(moments, start=1):
            await tg.wait_until(sent_at_least(tg, moment), within=WITHIN)
            # The replacement starts up while the leases of the killed one run out.
            bots.append(await NewsbotProcess(planned.config, tg, f"run{n}").start())
            await bots[-2].stop()  # SIGKILL the only process up: the one sending
        await tg.wait_until(lambda: delivered(tg, chat_ids) == CHATS, within=WITHIN)
    finally:
        bots[-1].signal(signal.SIGTERM)
        status = await bots[-1].wait()
        for bot in bots:
            await bot.stop()

    assert delivered(tg, chat_ids) == CHATS
    assert duplicates(tg, chat_ids) <= len(moments) * IN_FLIGHT_BOUND
    assert status == 0, bots[-1].tail()


async def test_sigterm_finishes_in_flight_sends_and_exits_0(planned: Setup) -> None:
    tg, chat_ids = planned.tg, planned.chat_ids
    first = await NewsbotProcess(planned.config, tg, "first").start()
    standby: NewsbotProcess | None = None
    try:
        await tg.wait_until(sent_at_least(tg, 200), within=WITHIN)
        # Only now a second process: the first is surely the one sending.
        standby = await NewsbotProcess(planned.config, tg, "standby").start()
        first.signal(signal.SIGTERM)
        status = await first.wait()
        sent_when_stopped = tg.sent_count()
        await tg.wait_until(lambda: delivered(tg, chat_ids) == CHATS, within=WITHIN)
    finally:
        if standby is not None:
            standby.signal(signal.SIGTERM)
            await standby.wait()
        await first.stop()

    assert status == 0, first.tail()
    assert sent_when_stopped < CHATS  # the stop came mid-fan-out
    assert duplicates(tg, chat_ids) == 0
