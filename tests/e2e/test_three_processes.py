"""Three `newsbot run` processes on one PostgreSQL database and one fake Bot API.

Exactly one of them holds the receiver role (the `leases` table says which): it
polls getUpdates and sends. Killed with SIGKILL mid-fan-out, another process takes
the role over when its lease runs out, polls getUpdates itself and sends the rest:
every chat gets every alert, none twice beyond what the dead process had in flight.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from bot.app import RECEIVER_ROLE
from bot.models import SourceState
from storage import Store, open_store
from storage.migrate import upgrade
from storage.tables import leases
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

CHATS = 300
POSTS = 2
FIRST_CHAT = 50_000
BATCH = 50
#: Sent but not recorded when a process dies: the batch going out and the one before it.
IN_FLIGHT_BOUND = 2 * BATCH
DELIVERY = {"batch_size": BATCH, "concurrency": 16, "lease_seconds": 2, "receiver_lease_seconds": 2}
WITHIN = 60.0


async def receiver(store: Store) -> str | None:
    """The owner (`host:pid`) of the receiver role, if anyone holds it."""
    async with store.engine.connect() as conn:
        query = select(leases.c.owner).where(leases.c.name == RECEIVER_ROLE)
        return (await conn.execute(query)).scalar()


async def wait_for_receiver(store: Store, tg: FakeTelegram, among: list[NewsbotProcess]) -> int:
    """The pid of the process holding the receiver role, once one of `among` does."""
    owners = {f"{socket.gethostname()}:{bot.pid}": bot.pid for bot in among}
    while (owner := await receiver(store) or "") not in owners:
        # The receiver's first act is to poll getUpdates: wait on the fake, then look again.
        await tg.wait_until(more_calls_than(tg, len(tg.calls)), within=WITHIN)
    return owners[owner]


def more_calls_than(tg: FakeTelegram, count: int) -> Callable[[], bool]:
    return lambda: len(tg.calls) > count


async def test_one_of_three_dies_and_another_takes_over(
    postgres_database_url: str, tmp_path: Path
) -> None:
    chat_ids = [FIRST_CHAT + n for n in range(CHATS)]
    config = write_config(tmp_path, postgres_database_url, **DELIVERY)
    async with open_store(postgres_database_url) as store, FakeTelegram() as tg:
        await upgrade(store.engine)
        await subscribe_chats(store, chat_ids, "IT")
        await store.ingest(SourceState("newsroom"), [])  # the first fetch alerts nothing
        posts = [make_post(n, categories=("IT",)) for n in range(1, POSTS + 1)]
        await store.ingest(SourceState("newsroom"), posts)
        bots = [await NewsbotProcess(config, tg, f"bot{n}").start() for n in range(3)]
        try:
            first = await wait_for_receiver(store, tg, bots)
            await tg.wait_until(sent_at_least(tg, CHATS // 2), within=WITHIN)
            dead = next(bot for bot in bots if bot.pid == first)
            await dead.stop()  # SIGKILL
            polls_before = sum(1 for method, _ in tg.calls if method == "getupdates")
            alive = [bot for bot in bots if bot is not dead]
            second = await wait_for_receiver(store, tg, alive)
            await tg.wait_until(lambda: delivered(tg, chat_ids, POSTS) == CHATS, within=WITHIN)
            polls_after = sum(1 for method, _ in tg.calls if method == "getupdates")
        finally:
            for bot in alive:
                bot.signal(signal.SIGTERM)
            statuses = [await bot.wait() for bot in alive]
            for bot in bots:
                await bot.stop()

    assert second != first
    assert polls_after > polls_before  # the new receiver polls getUpdates itself
    assert delivered(tg, chat_ids, POSTS) == CHATS
    assert duplicates(tg, chat_ids, POSTS) <= IN_FLIGHT_BOUND
    assert statuses == [0, 0]
