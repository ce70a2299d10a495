"""The whole Telegram path: a user on the fake Bot API, the adapter, the core's commands,
a real database and the dispatcher. What the user sees is what is asserted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from bot.config import DeliverySettings, TelegramSettings
from bot.delivery import Dispatcher
from bot.models import SourceState
from handlers.commands import PUBLIC_COMMANDS, Commands, CommandsConfig
from handlers.telegram_adapter import MENU, TelegramAdapter
from storage import Store
from tests.factories import make_post
from tests.fakes.telegram_api import TOKEN, Failure, FakeTelegram
from tests.fakes.telegram_harness import Clock

ADMIN = 42
TITLE = "반도체 <수출> & </b> 사상 최대"


@dataclass
class Newsbot:
    tg: FakeTelegram
    clock: Clock
    store: Store
    dispatcher: Dispatcher

    async def ask(self, chat_id: int, text: str, **kw: object) -> str:
        """Type `text` in the chat; returns the bot's answer as the user sees it."""
        before = len(self.tg.messages(chat_id))
        self.clock.now += 2  # a person types slower than Telegram's per-chat limit
        self.tg.push_message(chat_id, text, **kw)  # type: ignore[arg-type]
        return (await self.tg.wait_for_messages(chat_id, before + 1))[-1].text

    async def publish(self, *posts: object) -> None:
        await self.store.ingest(SourceState("newsroom"), list(posts))  # type: ignore[arg-type]
        self.clock.now += 2
        await self.dispatcher.drain()


@pytest.fixture
async def bot(store: Store) -> AsyncIterator[Newsbot]:
    await store.ingest(SourceState("newsroom"), [])  # the first fetch alerts nothing
    await store.ingest(SourceState("newsroom"), [make_post(1, categories=("IT", "경제"))])
    commands = Commands(store, CommandsConfig(admins=frozenset({f"telegram:{ADMIN}"})))
    clock = Clock(100.0)
    async with FakeTelegram(clock=clock) as tg:
        adapter = TelegramAdapter(
            TelegramSettings(token=SecretStr(TOKEN), api_url=tg.api_url), poll_timeout=5
        )
        dispatcher = Dispatcher(store, [adapter], DeliverySettings(), owner="e2e")
        commands.on_planned = dispatcher.wake
        await adapter.start(commands)
        try:
            yield Newsbot(tg, clock, store, dispatcher)
        finally:
            await adapter.stop()


async def test_subscribe_with_a_button_then_the_alert_arrives_as_written(bot: Newsbot) -> None:
    tg = bot.tg
    assert "Pick categories below" in await bot.ask(501, "/start", language_code="en")
    [welcome] = tg.messages(501)
    it = next(data for row in welcome.buttons for label, data in row if label == "IT")

    tg.push_callback(501, welcome.message_id, it, user_id=501)
    await tg.wait_until(lambda: welcome.edits == 1)
    assert ("✅ IT", it) in [button for row in welcome.buttons for button in row]

    await bot.publish(make_post(2, title=TITLE, categories=("IT",), breaking=True))

    alert = tg.messages(501)[-1]
    assert alert.text.startswith(f"🔴 Breaking\n{TITLE}\n")
    assert alert.spans("bold") == [TITLE]
    assert alert.links == [("View on news.example.kr", "https://news.example.kr/articles/2")]
    assert alert.text.endswith("#IT")


async def test_group_admin_subscribes_by_name_and_a_member_may_not(bot: Newsbot) -> None:
    group = {"chat_type": "supergroup", "language_code": "en"}
    bot.tg.make_admin(-100600, 7)

    refused = await bot.ask(-100600, "/subscribe@newsbot_test_bot IT", user_id=8, **group)
    done = await bot.ask(-100600, "/subscribe@newsbot_test_bot IT", user_id=7, **group)
    await bot.publish(make_post(3, categories=("IT",)))

    assert refused == "이 채팅의 구독과 설정은 채팅 관리자만 바꿀 수 있습니다."
    assert done == "구독했습니다: IT"
    assert bot.tg.messages(-100600)[-1].spans("bold") == ["Headline 3"]


async def test_admin_broadcast_preview_then_send_reaches_every_chat(bot: Newsbot) -> None:
    await bot.ask(602, "/start")
    refused = await bot.ask(602, "/broadcast 가짜 방송", user_id=602)
    preview = await bot.ask(ADMIN, "/broadcast 오늘 밤 <점검> & 안내", user_id=ADMIN)
    [*_, draft] = bot.tg.messages(ADMIN)
    send = draft.buttons[0][0]

    bot.tg.push_callback(ADMIN, draft.message_id, send[1], user_id=ADMIN)
    await bot.tg.wait_until(lambda: draft.edits == 1)
    await bot.publish()

    assert refused == "관리자만 쓸 수 있는 명령어입니다."
    assert "2개 채팅에 보냅니다" in preview and send[0] == "보내기"
    assert "보내는 중입니다" in draft.text
    for chat_id in (602, ADMIN):
        assert bot.tg.messages(chat_id)[-1].text == "오늘 밤 <점검> & 안내"


async def test_a_blocked_chat_is_deactivated_and_start_brings_it_back(bot: Newsbot) -> None:
    await bot.ask(701, "/subscribe IT")
    bot.tg.fail_chat(701, Failure.blocked())

    await bot.publish(make_post(4, categories=("IT",)))
    gone = await bot.store.find_chat("telegram", "701")
    bot.tg.fail_chat(701, None)
    await bot.ask(701, "/start")
    back = await bot.store.find_chat("telegram", "701")

    assert gone is not None and not gone.active
    assert back is not None and back.active


async def test_a_429_is_waited_out_and_nothing_is_lost(bot: Newsbot) -> None:
    await bot.ask(801, "/subscribe IT")
    bot.tg.fail_next(Failure.flood(1))

    await bot.publish(make_post(5, categories=("IT",)))

    assert bot.tg.too_many_requests == 1
    assert bot.tg.messages(801)[-1].spans("bold") == ["Headline 5"]


def test_the_menu_lists_exactly_the_public_commands() -> None:
    assert tuple(name for name, _, _ in MENU) == PUBLIC_COMMANDS


async def test_a_group_that_became_a_supergroup_gets_the_alert_at_its_new_id(bot: Newsbot) -> None:
    bot.tg.make_admin(-900, 9)
    await bot.ask(-900, "/subscribe IT", chat_type="group", user_id=9)
    bot.tg.fail_chat(-900, Failure.migrated(-100900))

    await bot.publish(make_post(6, categories=("IT",)))

    assert bot.tg.messages(-100900)[-1].spans("bold") == ["Headline 6"]
    assert await bot.store.find_chat("telegram", "-100900") is not None
