"""A corrected post edits the messages already sent; a recall deletes them."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from bot.config import DeliverySettings
from bot.delivery import Dispatcher
from bot.models import ALL, Alert, Chat, Invocation, Outcome, SourceState
from handlers.commands import Commands, CommandsConfig
from storage import Store
from tests.factories import make_chat, make_post
from tests.integration.test_dispatcher import RecordingSender


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def dispatcher(store: Store, sender: RecordingSender) -> Dispatcher:
    return Dispatcher(store, [sender], DeliverySettings(), owner="t", rng=random.Random(0))


async def alerted(store: Store, dispatcher: Dispatcher, chats: int = 2) -> None:
    for n in range(chats):
        chat = await store.ensure_chat(make_chat(n))
        await store.subscribe(chat, [ALL])
    await store.ingest(SourceState("newsroom"), [])
    await store.ingest(SourceState("newsroom"), [make_post(1, title="[속보] 오보 제목")])
    await dispatcher.drain()


async def test_a_corrected_post_is_edited_in_place_not_sent_twice(
    store: Store, dispatcher: Dispatcher, sender: RecordingSender
) -> None:
    await alerted(store, dispatcher)
    corrected = make_post(1, title="[속보] 바로잡은 제목")
    result = await store.ingest(SourceState("newsroom", initialized=True), [corrected])
    assert (result.alerted, result.revised) == ((), 1)
    await dispatcher.drain()
    assert len(sender.delivered) == 2, "no second alert"
    assert sorted((chat, headline) for chat, _, headline in sender.edited) == [
        ("1000", "[속보] 바로잡은 제목"),
        ("1001", "[속보] 바로잡은 제목"),
    ]
    assert [p.title for p in await store.latest(1)] == ["[속보] 바로잡은 제목"]


async def test_an_unchanged_post_edits_nothing(
    store: Store, dispatcher: Dispatcher, sender: RecordingSender
) -> None:
    await alerted(store, dispatcher)
    again = await store.ingest(SourceState("newsroom"), [make_post(1, title="[속보] 오보 제목")])
    assert again.revised == 0
    await dispatcher.drain()
    assert sender.edited == []


async def test_a_pending_alert_goes_out_with_the_new_text(
    store: Store, dispatcher: Dispatcher, sender: RecordingSender
) -> None:
    chat = await store.ensure_chat(make_chat(1))
    await store.subscribe(chat, [ALL])
    await store.ingest(SourceState("newsroom"), [])
    await store.ingest(SourceState("newsroom"), [make_post(1, title="처음 제목")])
    await store.ingest(SourceState("newsroom"), [make_post(1, title="고친 제목")])
    await dispatcher.drain()
    assert sender.delivered == [(chat.chat_id, "고친 제목")]
    assert sender.edited == []


async def test_recall_deletes_every_sent_message_and_cancels_the_rest(
    store: Store, dispatcher: Dispatcher, sender: RecordingSender
) -> None:
    commands = Commands(store, CommandsConfig(admins=frozenset({"telegram:42"})))
    admin = Chat("telegram", "42", language="en")
    for n in range(3):
        chat = await store.ensure_chat(make_chat(n))
        await store.subscribe(chat, [ALL])
    preview = await commands.command(Invocation(admin, "broadcast", "점검 안내", user_id="42"))
    send = preview.buttons[0]
    await commands.command(Invocation(admin, send.command, send.args, user_id="42"))
    await dispatcher.drain()
    assert len(sender.delivered) == 4, "three subscribers and the admin's own chat"
    reply = await commands.command(Invocation(admin, "recall", send.args, user_id="42"))
    assert (
        reply.text
        == f"Broadcast #{send.args} recalled: 0 queued cancelled, 4 sent messages being deleted."
    )
    await dispatcher.drain()
    assert sorted(chat for chat, _ in sender.deleted) == ["1000", "1001", "1002", "42"]
    assert (await store.stats()).deliveries_by_state["deleted"] == 4


async def test_recall_of_a_post_and_of_unknown_ids(
    store: Store, dispatcher: Dispatcher, sender: RecordingSender
) -> None:
    await alerted(store, dispatcher)
    commands = Commands(store, CommandsConfig(admins=frozenset({"telegram:42"})))
    admin = Chat("telegram", "42", language="en")
    [post] = await store.latest(1)
    reply = await commands.command(Invocation(admin, "recall", f"post {post.id}", user_id="42"))
    assert "2 sent messages being deleted" in reply.text
    await dispatcher.drain()
    assert len(sender.deleted) == 2
    unknown = await commands.command(Invocation(admin, "recall", "999", user_id="42"))
    assert unknown.text == "There is no Broadcast #999."
    usage = await commands.command(Invocation(admin, "recall", "abc", user_id="42"))
    assert usage.text.startswith("Usage: /recall")
    refused = await commands.command(Invocation(admin, "recall", "1", user_id="7"))
    assert refused.text == "Only admins can use that command."


async def test_a_correction_after_a_day_is_not_applied(
    store: Store, dispatcher: Dispatcher, sender: RecordingSender
) -> None:
    from datetime import UTC, datetime, timedelta

    await alerted(store, dispatcher)
    later = Store(store.engine, clock=lambda: datetime.now(UTC) + timedelta(hours=25))
    result = await later.ingest(SourceState("newsroom"), [replace(make_post(1), title="늦은 수정")])
    assert result.revised == 0


async def test_two_corrections_for_one_chat_are_two_edits_not_new_messages(
    store: Store, dispatcher: Dispatcher, sender: RecordingSender
) -> None:
    chat = await store.ensure_chat(make_chat(1))
    await store.subscribe(chat, [ALL])
    await store.ingest(SourceState("newsroom"), [])
    await store.ingest(SourceState("newsroom"), [make_post(1), make_post(2)])
    await dispatcher.drain()
    corrected = [make_post(1, title="고친 제목 1"), make_post(2, title="고친 제목 2")]
    await store.ingest(SourceState("newsroom"), corrected)
    await dispatcher.drain()
    assert len(sender.delivered) == 2, "the second edit, deferred for the chat's limit, is no send"
    assert sorted(headline for _, _, headline in sender.edited) == ["고친 제목 1", "고친 제목 2"]


class RecallingSender(RecordingSender):
    """Recalls the post while its first alert is on the wire."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    async def send(self, chat: Chat, alert: Alert) -> Outcome:
        if not self.delivered:
            [post] = await self.store.latest(1)
            assert post.id is not None
            await self.store.recall_post(post.id)
        return await super().send(chat, alert)


async def test_a_message_recalled_while_on_its_way_is_deleted_once_it_lands(
    store: Store,
) -> None:
    sender = RecallingSender(store)
    dispatcher = Dispatcher(store, [sender], DeliverySettings(), owner="t", rng=random.Random(0))
    chat = await store.ensure_chat(make_chat(1))
    await store.subscribe(chat, [ALL])
    await store.ingest(SourceState("newsroom"), [])
    await store.ingest(SourceState("newsroom"), [make_post(1, title="[속보] 오보 제목")])

    await dispatcher.drain()

    assert [where for where, _ in sender.delivered] == [chat.chat_id]
    assert [where for where, _ in sender.deleted] == [chat.chat_id], "taken back after all"
