"""The whole Discord path: slash commands through the real core and a real database,
alerts through the real dispatcher, all against the fake Discord.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import DeliverySettings
from bot.delivery import Dispatcher
from bot.models import SourceState
from handlers.commands import Commands, CommandsConfig
from handlers.discord_adapter import DiscordAdapter
from storage import Store, open_store
from storage.migrate import upgrade
from tests.factories import make_post
from tests.fakes.discord_api import USER_ID, FakeDiscord
from tests.fakes.discord_harness import ADMIN, running_adapter
from tests.fakes.discord_payloads import EPHEMERAL, MEMBER

CHANNEL = 700_001
OTHER_CHANNEL = 700_002
MESSAGES = rf"/channels/{CHANNEL}/messages"


@dataclass
class Stack:
    fake: FakeDiscord
    adapter: DiscordAdapter
    store: Store
    dispatcher: Dispatcher


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with open_store(f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}") as store:
        await upgrade(store.engine)
        await store.ingest(SourceState("newsroom"), [])  # the first fetch alerts nothing
        commands = Commands(store, CommandsConfig(admins=frozenset({ADMIN})))
        async with FakeDiscord() as fake, running_adapter(fake, commands) as adapter:
            dispatcher = Dispatcher(
                store, [adapter], DeliverySettings(), owner="test", rng=random.Random(1)
            )
            yield Stack(fake, adapter, store, dispatcher)


async def subscribe(stack: Stack, category: str, channel: int = CHANNEL) -> str:
    interaction = await stack.fake.slash("subscribe", {"category": category}, channel_id=channel)
    answer = await stack.fake.wait_answer(interaction)
    return str(answer["content"])


async def test_subscribing_a_channel_brings_the_next_post_as_an_embed(stack: Stack) -> None:
    assert (await subscribe(stack, "IT")).startswith("구독했습니다: IT")
    post = make_post(1, title="AI 반도체 수출 급증", categories=("IT",), breaking=True)
    await stack.store.ingest(SourceState("newsroom"), [post])
    assert await stack.dispatcher.drain() == 1
    [message] = await stack.fake.wait_messages(CHANNEL, 1)
    [embed] = message["embeds"]
    assert embed["title"] == "AI 반도체 수출 급증"
    assert embed["url"] == post.link
    assert embed["author"] == {"name": "🔴 속보"}
    assert message["allowed_mentions"] == {"parse": []}
    assert OTHER_CHANNEL not in stack.fake.messages


async def test_latest_lists_the_stored_posts_as_links(stack: Stack) -> None:
    posts = [make_post(1, title="첫 기사"), make_post(2, title="둘째 기사")]
    await stack.store.ingest(SourceState("newsroom"), posts)
    answer = await stack.fake.wait_answer(await stack.fake.slash("latest", {"count": 2}))
    description = answer["embeds"][0]["description"]
    assert "[첫 기사](https://news.example.kr/articles/1)" in description
    assert "[둘째 기사](https://news.example.kr/articles/2)" in description


async def test_a_member_without_manage_channels_is_refused_privately(stack: Stack) -> None:
    interaction = await stack.fake.slash("subscribe", {"category": "IT"}, permissions=MEMBER)
    answer = await stack.fake.wait_answer(interaction)
    assert "채널 관리 권한" in answer["content"]
    assert answer["flags"] & EPHEMERAL
    chat = await stack.store.find_chat("discord", str(CHANNEL))
    assert chat is not None and await stack.store.subscriptions(chat) == []


async def test_a_non_admin_cannot_broadcast(stack: Stack) -> None:
    interaction = await stack.fake.slash("broadcast", {"text": "공지"}, user_id=USER_ID + 1)
    answer = await stack.fake.wait_answer(interaction)
    assert answer["content"] == "관리자만 쓸 수 있는 명령어입니다."
    assert answer["flags"] & EPHEMERAL


async def test_an_admin_broadcast_is_previewed_then_sent_with_the_button(stack: Stack) -> None:
    await subscribe(stack, "all")
    preview = await stack.fake.wait_answer(
        await stack.fake.slash("broadcast", {"text": "오늘 밤 점검이 있습니다."})
    )
    assert preview["flags"] & EPHEMERAL
    assert "1개 채팅" in preview["content"]
    send, cancel = preview["components"][0]["components"]
    assert (send["label"], cancel["label"]) == ("보내기", "취소")
    queued = await stack.fake.wait_answer(await stack.fake.press(send["custom_id"], preview))
    assert "보내는 중" in queued["content"]
    assert queued["components"] == []  # the buttons are gone once used
    await stack.dispatcher.drain()
    [message] = await stack.fake.wait_messages(CHANNEL, 1)
    assert message["embeds"][0]["description"] == "오늘 밤 점검이 있습니다."


async def test_category_buttons_toggle_the_subscription_in_place(stack: Stack) -> None:
    await stack.store.ingest(SourceState("newsroom"), [make_post(1, categories=("IT",))])
    listing = await stack.fake.wait_answer(await stack.fake.slash("categories"))
    [button] = listing["components"][0]["components"]
    assert button["label"] == "IT"
    toggled = await stack.fake.wait_answer(await stack.fake.press(button["custom_id"], listing))
    assert toggled["components"][0]["components"][0]["label"] == "✅ IT"
    chat = await stack.store.find_chat("discord", str(CHANNEL))
    assert chat is not None and await stack.store.subscriptions(chat) == ["IT"]


async def test_a_channel_the_bot_may_no_longer_post_in_is_deactivated(stack: Stack) -> None:
    await subscribe(stack, "all")
    stack.fake.fail("POST", MESSAGES, 403, code=50013, message="Missing Permissions", times=10)
    await stack.store.ingest(SourceState("newsroom"), [make_post(1)])
    await stack.dispatcher.drain()
    chat = await stack.store.find_chat("discord", str(CHANNEL))
    assert chat is not None and not chat.active
    await stack.store.ingest(SourceState("newsroom"), [make_post(2)])
    await stack.dispatcher.drain()
    assert len(stack.fake.requests_to("POST", MESSAGES)) == 1  # nothing wasted on it again


async def test_a_rate_limited_alert_still_arrives(stack: Stack) -> None:
    await subscribe(stack, "all")
    stack.fake.rate_limit("POST", MESSAGES, retry_after=1.2)
    await stack.store.ingest(SourceState("newsroom"), [make_post(1, title="속보 하나")])
    await stack.dispatcher.drain()
    [message] = await stack.fake.wait_messages(CHANNEL, 1)
    assert message["embeds"][0]["title"] == "속보 하나"
    assert len(stack.fake.requests_to("POST", MESSAGES)) == 2


async def test_a_500_character_category_gets_a_clear_private_answer(stack: Stack) -> None:
    answer = await stack.fake.wait_answer(
        await stack.fake.slash("subscribe", {"category": "가" * 500})
    )
    assert "너무 깁니다" in answer["content"]
    assert answer["flags"] & EPHEMERAL


async def test_a_dm_subscribes_the_dm_and_gets_alerts_there(stack: Stack) -> None:
    interaction = await stack.fake.slash("subscribe", {"category": "breaking"}, dm=True)
    await stack.fake.wait_answer(interaction)
    await stack.store.ingest(SourceState("newsroom"), [make_post(1, breaking=True)])
    await stack.dispatcher.drain()
    [message] = await stack.fake.wait_messages(interaction.channel_id, 1)
    assert message["embeds"][0]["title"] == "Headline 1"


async def test_a_corrected_post_edits_the_alert_instead_of_sending_another(stack: Stack) -> None:
    await subscribe(stack, "all")
    await stack.store.ingest(SourceState("newsroom"), [make_post(1, title="[속보] 오보 제목")])
    await stack.dispatcher.drain()
    corrected = make_post(1, title="[속보] 바로잡은 제목")
    await stack.store.ingest(SourceState("newsroom", initialized=True), [corrected])
    await stack.dispatcher.drain()
    [message] = stack.fake.messages[CHANNEL]
    assert message["embeds"][0]["title"] == "[속보] 바로잡은 제목"
    assert stack.fake.requests_to("PATCH", rf"{MESSAGES}/{message['id']}")


async def test_a_recalled_broadcast_is_deleted_from_the_channel(stack: Stack) -> None:
    await subscribe(stack, "all")
    preview = await stack.fake.wait_answer(await stack.fake.slash("broadcast", {"text": "오보"}))
    send = preview["components"][0]["components"][0]
    await stack.fake.wait_answer(await stack.fake.press(send["custom_id"], preview))
    await stack.dispatcher.drain()
    await stack.fake.wait_messages(CHANNEL, 1)
    number = int(re.search(r"#(\d+)", preview["content"]).group(1))  # type: ignore[union-attr]
    answer = await stack.fake.wait_answer(await stack.fake.slash("recall", {"number": number}))
    assert answer["flags"] & EPHEMERAL
    await stack.dispatcher.drain()
    assert stack.fake.messages[CHANNEL] == []
    assert len(stack.fake.requests_to("DELETE", rf"{MESSAGES}/\d+")) == 1
