"""`newsbot broadcast` watching its broadcast go out, beside a running dispatcher."""

from __future__ import annotations

import asyncio
import io
import random

from bot import ops
from bot.config import DeliverySettings
from bot.delivery import Dispatcher
from bot.models import ALL
from storage import Store
from tests.factories import make_chat
from tests.integration.test_dispatcher import RecordingSender


async def test_the_progress_bar_ends_when_every_chat_has_it(store: Store) -> None:
    for n in range(5):
        chat = await store.ensure_chat(make_chat(n))
        await store.subscribe(chat, [ALL])
    broadcast_id, total = await ops.queue_broadcast(store, "점검 안내", None)
    assert total == 5
    out = io.StringIO()
    dispatcher = Dispatcher(
        store, [RecordingSender()], DeliverySettings(), owner="t", rng=random.Random(0)
    )
    await asyncio.gather(ops.watch_broadcast(store, broadcast_id, total, out), dispatcher.drain())
    assert out.getvalue().splitlines()[-1] == (
        "[##############################] 5/5 done: 5 sent, 0 failed"
    )
