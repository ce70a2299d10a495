"""Delivery through a platform that misbehaves at random: 429s, 5xx, timeouts, resets.

The real dispatcher and the real Telegram adapter against the fake Bot API with
`chaos` on (seeded). What the users see: every chat gets every alert, and a chat
gets one twice only where the fake delivered a message and then timed out or
dropped the connection, so the bot could not know it had arrived. Each chat meets
at most `FAULTS_PER_CHAT` random faults, which bounds the backoff and the test's time.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.config import DeliverySettings
from bot.delivery import Dispatcher
from bot.models import Chat, DeliveryState, SourceState
from handlers.telegram_adapter import TelegramAdapter
from storage import Store
from tests.factories import make_post
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_harness import RecordingInbox, settings_for

CHATS = 30
POSTS = 2
#: The client gives up on an answer after this long; the fake holds a "timeout" longer.
CLIENT_TIMEOUT = 0.5
#: Random faults per chat at most: enough to retry each alert more than once, few
#: enough that the exponential backoff (0.5 s, 1 s, 2 s, …) keeps the test short.
FAULTS_PER_CHAT = 2


async def subscribed_chats(store: Store, count: int) -> list[int]:
    ids = [2_000 + n for n in range(count)]
    for chat_id in ids:
        chat = await store.ensure_chat(Chat("telegram", str(chat_id)))
        await store.subscribe(chat, ["IT"])
    return ids


async def test_every_chat_gets_every_alert_through_random_faults(store: Store) -> None:
    chat_ids = await subscribed_chats(store, CHATS)
    await store.ingest(SourceState("newsroom"), [])  # the first fetch alerts nothing
    posts = [make_post(n, categories=("IT",)) for n in range(1, POSTS + 1)]
    planned = await store.ingest(SourceState("newsroom"), posts)
    async with FakeTelegram() as tg:
        tg.hang_seconds = CLIENT_TIMEOUT * 2
        adapter = TelegramAdapter(settings_for(tg), poll_timeout=5, request_timeout=CLIENT_TIMEOUT)
        await adapter.start(RecordingInbox())
        tg.chaos(0.3, seed=20261129, max_per_chat=FAULTS_PER_CHAT)
        try:
            dispatcher = Dispatcher(store, [adapter], DeliverySettings(), owner="faults")
            await dispatcher.drain(horizon=timedelta(minutes=5))
        finally:
            await adapter.stop()

    expected = {f"Headline {n}" for n in range(1, POSTS + 1)}
    extra: Counter[int] = Counter()
    for chat_id in chat_ids:
        got = Counter(m.spans("bold")[0] for m in tg.messages(chat_id))
        assert set(got) == expected, chat_id
        extra[chat_id] = sum(got.values()) - len(expected)
    unanswered = Counter(tg.unanswered_chats)
    assert all(extra[c] <= unanswered[c] for c in chat_ids), (+extra, unanswered)
    assert tg.too_many_requests > 0 and tg.delivered_unanswered > 0  # the faults did happen
    for post in planned.alerted:
        assert post.id is not None
        rows = await store.deliveries_for_post(post.id)
        assert {row.state for row in rows} == {DeliveryState.SENT}
