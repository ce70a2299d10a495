"""Issue 9 on Discord: keyword filters, quiet hours, digests, /settings menus, threads and
sources from the chat, through the real core, a real SQLite store and the real
dispatcher, all against the fake Discord.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.catalog import SourceCatalog
from bot.config import DeliverySettings, Settings, SourceSettings
from bot.delivery import Dispatcher
from bot.digest import Digester
from bot.models import Post, SourceState
from bot.netguard import guarded_connector
from handlers.commands import Commands, CommandsConfig
from handlers.discord_adapter import DiscordAdapter
from storage import Store, open_store
from storage.migrate import upgrade
from tests.factories import make_post
from tests.fakes.discord_api import USER_ID, FakeDiscord, FakeInteraction
from tests.fakes.discord_harness import ADMIN, running_adapter
from tests.fakes.discord_payloads import EPHEMERAL, MEMBER, FakeGuild, FakeThread
from tests.feedserver import FeedServer, rss

CHANNEL = 700_001
FORUM = 700_009
GUILD = 800_000_000_000_000_001
#: A thread that was open when the bot connected (it arrives in GUILD_CREATE).
OPEN_THREAD = 710_001
SEOUL_MIDNIGHT = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)  # 00:00 KST on the 30th


@dataclass
class Stack:
    fake: FakeDiscord
    adapter: DiscordAdapter
    store: Store
    dispatcher: Dispatcher

    async def ask(self, name: str, options: dict[str, Any] | None = None, **where: Any) -> str:
        """Run `/name options` and return what the user sees as text."""
        answer = await self.answer(name, options, **where)
        embeds = answer["embeds"]
        return str(answer["content"] or (embeds[0]["description"] if embeds else ""))

    async def answer(
        self, name: str, options: dict[str, Any] | None = None, **where: Any
    ) -> dict[str, Any]:
        return await self.fake.wait_answer(await self.fake.slash(name, options, **where))

    async def publish(self, *posts: Post) -> None:
        await self.store.ingest(SourceState("newsroom", initialized=True), list(posts))
        await self.dispatcher.drain()


def guilds() -> tuple[FakeGuild, ...]:
    thread = FakeThread(OPEN_THREAD, CHANNEL)
    return (FakeGuild(GUILD, "Newsroom", (CHANNEL, 700_002), forums=(FORUM,), threads=(thread,)),)


@asynccontextmanager
async def stack_with(tmp_path: Path, *, allow_private: bool) -> AsyncIterator[Stack]:
    settings = Settings(
        allow_private_sources=allow_private,
        sources=(SourceSettings(name="configured", path=tmp_path / "posts"),),
    )
    connector = guarded_connector(allow_private=allow_private)
    async with (
        open_store(f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}") as store,
        aiohttp.ClientSession(connector=connector) as session,
    ):
        await upgrade(store.engine)
        await store.ingest(SourceState("newsroom"), [])  # the first fetch alerts nothing
        catalog = SourceCatalog(settings, store, session)
        config = CommandsConfig(admins=frozenset({ADMIN}))
        commands = Commands(store, config, sources=catalog)
        async with FakeDiscord(guilds=guilds()) as fake, running_adapter(fake, commands) as adapter:
            dispatcher = Dispatcher(
                store, [adapter], DeliverySettings(), owner="test", rng=random.Random(1)
            )
            yield Stack(fake, adapter, store, dispatcher)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack_with(tmp_path, allow_private=False) as built:
        yield built


def headlines(stack: Stack, channel: int) -> list[str]:
    return [m["embeds"][0].get("title") or "" for m in stack.fake.messages.get(channel, [])]


# --- keyword filters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "reply"),
    [
        ({"action": "add", "word": "반도체"}, "키워드를 추가했습니다: 반도체"),
        ({"action": "add", "word": "금리 인하"}, "키워드를 추가했습니다: 금리 인하"),
        ({"action": "exclude", "word": "광고"}, "키워드를 추가했습니다: -광고"),
        ({"action": "remove", "word": "반도체"}, "없는 키워드입니다: 반도체"),
        ({"action": "list"}, "키워드 (제목·요약에 있어야 함): 없음\n제외 키워드: 없음"),
        ({"action": "clear"}, "키워드 0개를 모두 지웠습니다."),
        ({"action": "add"}, "사용법: /filter add 낱말"),
        ({"action": "add", "word": "가" * 500}, "키워드를 쓸 수 없습니다: keyword over 100"),
        ({"action": "add", "word": "a\x00b"}, "입력에 제어 문자가 들어 있습니다."),
        ({"action": "exclude", "word": "!!!"}, "키워드를 쓸 수 없습니다: keyword has no letters"),
    ],
)
async def test_each_filter_action_reaches_the_core_and_is_answered(
    stack: Stack, options: dict[str, str], reply: str
) -> None:
    assert (await stack.ask("filter", options)).startswith(reply)


async def test_a_filtered_channel_gets_only_posts_that_mention_the_keyword(stack: Stack) -> None:
    await stack.ask("subscribe", {"category": "all"})
    await stack.ask("filter", {"action": "add", "word": "반도체"})
    await stack.publish(
        make_post(1, title="삼성 반도체 실적 발표"),
        make_post(2, title="오늘의 날씨", excerpt="맑음"),
        make_post(3, title="수출 호조", excerpt="반도체수출이 늘었다"),
    )
    assert sorted(headlines(stack, CHANNEL)) == ["삼성 반도체 실적 발표", "수출 호조"]


async def test_an_excluded_word_blocks_the_post(stack: Stack) -> None:
    await stack.ask("subscribe", {"category": "all"})
    await stack.ask("filter", {"action": "exclude", "word": "광고"})
    await stack.publish(make_post(1, title="[광고] 특판 예금"), make_post(2, title="금리 동결"))
    assert headlines(stack, CHANNEL) == ["금리 동결"]
    listing = await stack.ask("filter", {"action": "list"})
    assert listing.splitlines()[1] == "제외 키워드: 광고"
    removed = await stack.ask("filter", {"action": "remove", "word": "-광고"})
    assert removed == "키워드를 지웠습니다: -광고"


async def test_a_member_without_manage_channels_cannot_set_filters(stack: Stack) -> None:
    answer = await stack.answer("filter", {"action": "add", "word": "반도체"}, permissions=MEMBER)
    assert "채널 관리 권한" in answer["content"]
    assert answer["flags"] & EPHEMERAL
    chat = await stack.store.find_chat("discord", str(CHANNEL))
    assert chat is not None and await stack.store.filters(chat) == []


# --- quiet hours and digests ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "reply"),
    [
        ({"hours": "23:00-07:00"}, "조용한 시간: 23:00-07:00 (Asia/Seoul)"),
        ({"hours": "23:00-07:00", "all": True}, "조용한 시간: 23:00-07:00 (Asia/Seoul)"),
        ({"hours": "off"}, "조용한 시간을 껐습니다."),
        ({"hours": "OFF", "all": True}, "조용한 시간을 껐습니다."),
        ({"hours": "25:00-07:00"}, "사용법: /quiet"),
        ({"hours": "abc"}, "사용법: /quiet"),
    ],
)
async def test_quiet_reaches_the_core_and_is_answered(
    stack: Stack, options: dict[str, Any], reply: str
) -> None:
    assert (await stack.ask("quiet", options)).startswith(reply)


async def test_quiet_all_holds_breaking_news_too(stack: Stack) -> None:
    await stack.ask("quiet", {"hours": "23:00-07:00", "all": True})
    chat = await stack.store.find_chat("discord", str(CHANNEL))
    assert chat is not None and chat.quiet is not None and chat.quiet.hold_breaking


async def test_quiet_hours_hold_alerts_then_release_one_digest_embed(stack: Stack) -> None:
    await stack.ask("subscribe", {"category": "all"})
    await stack.ask("quiet", {"hours": "23:00-07:00"})
    night = SEOUL_MIDNIGHT + timedelta(hours=2)
    await stack.store.ingest(
        SourceState("newsroom", initialized=True),
        [
            make_post(1, title="밤 기사", published_at=night),
            make_post(2, title="밤 속보", breaking=True, published_at=night),
        ],
    )
    await dispatcher_at(stack, night).drain()
    assert headlines(stack, CHANNEL) == ["밤 속보"], "breaking news still comes at once"
    morning = SEOUL_MIDNIGHT + timedelta(hours=7, minutes=1)
    assert await Digester(stack.store, clock=lambda: night).run_once() == 0
    assert await Digester(stack.store, clock=lambda: morning).run_once() == 1
    await dispatcher_at(stack, morning).drain()
    assert headlines(stack, CHANNEL) == ["밤 속보", "📰 뉴스 다이제스트 (1)"]
    digest = stack.fake.messages[CHANNEL][-1]["embeds"][0]["description"]
    assert digest.startswith("[밤 기사](https://news.example.kr/articles/1)")


def dispatcher_at(stack: Stack, now: datetime) -> Dispatcher:
    return Dispatcher(
        stack.store,
        [stack.adapter],
        DeliverySettings(),
        owner="test",
        rng=random.Random(1),
        clock=lambda: now,
    )


@pytest.mark.parametrize(
    ("time", "reply"),
    [
        ("08:00", "매일 08:00 (Asia/Seoul)에"),
        ("daily 07:30", "매일 07:30 (Asia/Seoul)에"),
        ("off", "다이제스트를 껐습니다."),
        (" Off ", "다이제스트를 껐습니다."),
        ("8시", "사용법: /digest"),
    ],
)
async def test_digest_reaches_the_core_and_is_answered(stack: Stack, time: str, reply: str) -> None:
    assert (await stack.ask("digest", {"time": time})).startswith(reply)


async def test_a_daily_digest_arrives_as_one_embed_of_linked_headlines(stack: Stack) -> None:
    await stack.ask("subscribe", {"category": "IT"})
    await stack.ask("digest", {"time": "08:00"})
    await stack.publish(*(make_post(n, title=f"IT 소식 {n}") for n in range(3)))
    assert CHANNEL not in stack.fake.messages, "no single alerts"
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert await Digester(stack.store, clock=lambda: tomorrow).run_once() == 1
    await stack.dispatcher.drain()
    [message] = await stack.fake.wait_messages(CHANNEL, 1)
    [embed] = message["embeds"]
    assert embed["title"] == "📰 뉴스 다이제스트 (3)"
    links = [line.split(" · ")[0] for line in embed["description"].splitlines()]
    assert links == [f"[IT 소식 {n}](https://news.example.kr/articles/{n})" for n in (2, 1, 0)]


# --- /settings ----------------------------------------------------------------------------------


def menus(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The message's select menus by custom id."""
    items = [item for row in message["components"] for item in row["components"]]
    return {item["custom_id"]: item for item in items if item["type"] == 3}


def option(menu: dict[str, Any], label: str) -> str:
    return str(next(o["value"] for o in menu["options"] if o["label"] == label))


async def choose(stack: Stack, message: dict[str, Any], menu: str, label: str) -> FakeInteraction:
    chosen = await stack.fake.choose(menu, option(menus(message)[menu], label), message)
    await stack.fake.wait_until(lambda: len(chosen.messages) >= 1, what="the redrawn settings")
    return chosen


async def test_settings_shows_select_menus_for_the_language_and_the_categories(
    stack: Stack,
) -> None:
    await stack.store.ingest(SourceState("newsroom"), [make_post(1, categories=("IT", "경제"))])
    await stack.ask("subscribe", {"category": "IT"})
    answer = await stack.answer("settings")
    assert answer["content"].splitlines()[:3] == ["이 채팅의 설정", "언어: 한국어", "구독: IT"]
    found = menus(answer)
    assert [o["label"] for o in found["nbm:lang"]["options"]] == ["한국어", "English"]
    assert [o["label"] for o in found["nbm:toggle"]["options"]] == ["✅ IT", "경제"]
    buttons = [i for row in answer["components"] for i in row["components"] if i["type"] == 2]
    assert buttons == [], "the language and categories buttons became menus"


async def test_choosing_english_in_settings_changes_the_language_and_redraws(
    stack: Stack,
) -> None:
    settings = await stack.answer("settings")
    chosen = await choose(stack, settings, "nbm:lang", "English")
    await stack.fake.wait_until(lambda: len(chosen.messages) == 2, what="the confirmation")
    redrawn, confirmation = chosen.messages
    assert redrawn["content"].splitlines()[1] == "Language: English"
    assert menus(redrawn)["nbm:lang"]["placeholder"] == "Change the language"
    assert confirmation["content"] == "I will answer in English now."
    assert confirmation["flags"] & EPHEMERAL
    chat = await stack.store.find_chat("discord", str(CHANNEL))
    assert chat is not None and chat.language == "en"


async def test_choosing_a_category_in_settings_toggles_it_in_place(stack: Stack) -> None:
    await stack.store.ingest(SourceState("newsroom"), [make_post(1, categories=("IT", "경제"))])
    settings = await stack.answer("settings")
    chosen = await choose(stack, settings, "nbm:toggle", "경제")
    [redrawn] = chosen.messages
    assert redrawn["content"].splitlines()[2] == "구독: 경제"
    assert [o["label"] for o in menus(redrawn)["nbm:toggle"]["options"]] == ["IT", "✅ 경제"]
    assert stack.fake.requests_to("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")


async def test_the_quiet_off_button_under_settings_redraws_them_in_place(stack: Stack) -> None:
    await stack.ask("quiet", {"hours": "23:00-07:00"})
    settings = await stack.answer("settings")
    assert settings["content"].splitlines()[4] == "조용한 시간: 23:00-07:00"
    buttons = [i for row in settings["components"] for i in row["components"] if i["type"] == 2]
    button = next(b for b in buttons if b["label"] == "조용한 시간 끄기")
    pressed = await stack.fake.press(button["custom_id"], settings)
    await stack.fake.wait_until(lambda: len(pressed.messages) == 2, what="redraw and answer")
    redrawn, confirmation = pressed.messages
    assert redrawn["content"].splitlines()[4] == "조용한 시간: 끔"
    labels = [i.get("label") for row in redrawn["components"] for i in row["components"]]
    assert "조용한 시간 끄기" not in labels
    assert confirmation["content"] == "조용한 시간을 껐습니다."
    assert confirmation["flags"] & EPHEMERAL


async def test_a_settings_menu_keeps_within_discords_25_options(stack: Stack) -> None:
    names = tuple(f"분야{n:02}" for n in range(40))
    await stack.store.ingest(SourceState("newsroom"), [make_post(1, categories=names)])
    answer = await stack.answer("settings")  # the fake refuses a menu over 25 options
    assert len(menus(answer)["nbm:toggle"]["options"]) == 25


# --- threads and forum posts ------------------------------------------------------------------


async def test_subscribing_inside_a_thread_delivers_into_that_thread(stack: Stack) -> None:
    await stack.ask("subscribe", {"category": "IT"}, channel_id=OPEN_THREAD)
    chat = await stack.store.find_chat("discord", str(CHANNEL), str(OPEN_THREAD))
    assert chat is not None, "the thread is a chat of its own under its parent channel"
    await stack.publish(make_post(1, title="스레드로 가는 기사"))
    [message] = await stack.fake.wait_messages(OPEN_THREAD, 1)
    assert message["embeds"][0]["title"] == "스레드로 가는 기사"
    assert CHANNEL not in stack.fake.messages


async def test_a_thread_opened_after_connecting_and_a_forum_post_work_alike(stack: Stack) -> None:
    thread = await stack.fake.start_thread(CHANNEL)
    post = await stack.fake.start_thread(FORUM)
    for where in (thread, post):
        await stack.ask("subscribe", {"category": "all"}, channel_id=where.id)
    await stack.publish(make_post(1, title="둘 다"))
    for where in (thread, post):
        assert headlines(stack, where.id) == ["둘 다"]


async def test_a_deleted_thread_falls_back_to_the_parent_channel_once_and_says_so(
    stack: Stack,
) -> None:
    await stack.ask("subscribe", {"category": "IT"}, channel_id=OPEN_THREAD)
    await stack.fake.delete_thread(OPEN_THREAD)
    await stack.publish(make_post(1, title="첫 기사"))
    assert sorted(headlines(stack, CHANNEL)) == ["", "첫 기사"]
    notice = next(m for m in stack.fake.messages[CHANNEL] if not m["embeds"][0].get("title"))
    assert "이제부터 이 채팅으로 보냅니다" in notice["embeds"][0]["description"]
    await stack.publish(make_post(2, title="둘째 기사"))
    assert headlines(stack, CHANNEL).count("둘째 기사") == 1
    posted = stack.fake.requests_to("POST", rf"/channels/{OPEN_THREAD}/messages")
    assert len(posted) == 1, "the gone thread is asked once, then never again"
    parent = await stack.store.find_chat("discord", str(CHANNEL))
    assert parent is not None and await stack.store.subscriptions(parent) == ["IT"]


async def test_an_archived_thread_still_gets_alerts_a_locked_one_falls_back(stack: Stack) -> None:
    await stack.ask("subscribe", {"category": "all"}, channel_id=OPEN_THREAD)
    await stack.fake.archive_thread(OPEN_THREAD)
    await stack.publish(make_post(1, title="보관된 스레드에"))
    assert headlines(stack, OPEN_THREAD) == ["보관된 스레드에"]
    await stack.fake.archive_thread(OPEN_THREAD, locked=True)
    await stack.publish(make_post(2, title="잠긴 뒤"))
    assert "잠긴 뒤" in headlines(stack, CHANNEL)


async def test_a_gone_forum_post_cannot_fall_back_so_the_forum_is_deactivated(
    stack: Stack,
) -> None:
    post = await stack.fake.start_thread(FORUM)
    await stack.ask("subscribe", {"category": "all"}, channel_id=post.id)
    await stack.fake.delete_thread(post.id)
    await stack.publish(make_post(1))
    forum = await stack.store.find_chat("discord", str(FORUM))
    assert forum is not None and not forum.active
    await stack.publish(make_post(2))
    assert len(stack.fake.requests_to("POST", rf"/channels/{FORUM}/messages")) == 1


# --- sources from the chat (admins) -----------------------------------------------------------


async def test_sources_lists_each_source_privately_for_an_admin(stack: Stack) -> None:
    answer = await stack.answer("sources")
    assert answer["content"].startswith("configured [")
    assert answer["flags"] & EPHEMERAL


@pytest.mark.parametrize("name", ["sources", "addsource", "removesource", "pausesource"])
async def test_a_non_admin_cannot_manage_sources(stack: Stack, name: str) -> None:
    options = {"addsource": {"url": "https://example.com/feed"}}.get(name, {"name": "configured"})
    answer = await stack.answer(name, {} if name == "sources" else options, user_id=USER_ID + 1)
    assert answer["content"] == "관리자만 쓸 수 있는 명령어입니다."
    assert answer["flags"] & EPHEMERAL
    assert await stack.store.added_sources() == []


async def test_addsource_refuses_a_private_address_with_the_reason(stack: Stack) -> None:
    reply = await stack.ask("addsource", {"url": "http://127.0.0.1/feed", "categories": "IT"})
    assert reply.startswith("거절했습니다: ") and "loopback" in reply
    assert await stack.store.added_sources() == []


async def test_an_admin_adds_pauses_resumes_and_removes_a_feed(
    tmp_path: Path, server: FeedServer
) -> None:
    url = server.url("news")
    server.feeds["news"].body = rss(("a1", "있던 기사", "IT"))
    async with stack_with(tmp_path, allow_private=True) as stack:
        added = await stack.ask("addsource", {"url": url, "categories": "IT 경제"})
        assert added.startswith("소스를 추가했습니다: 127-0-0-1-news")
        [source] = await stack.store.added_sources()
        assert source.categories == ("IT", "경제")
        name = {"name": source.name}
        assert await stack.ask("pausesource", name) == f"소스를 멈췄습니다: {source.name}"
        assert await stack.ask("resumesource", name) == f"소스를 다시 시작했습니다: {source.name}"
        assert await stack.ask("removesource", name) == f"소스를 지웠습니다: {source.name}"
        assert await stack.store.added_sources() == []
