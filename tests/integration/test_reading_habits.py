"""Keyword filters, quiet hours and digests: what each chat gets, with the clock injected."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.config import DeliverySettings
from bot.delivery import Dispatcher
from bot.digest import Digester, digest_due
from bot.models import Chat, Invocation, QuietHours, SourceState
from handlers.commands import Commands, CommandsConfig
from handlers.preferences import parse_quiet
from storage import Store
from tests.factories import make_chat, make_post
from tests.integration.test_dispatcher import RecordingSender

SEOUL_MIDNIGHT = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)  # 00:00 KST on the 30th


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def say(commands: Commands, chat: Chat, text: str) -> str:
    command, _, args = text.lstrip("/").partition(" ")
    return (await commands.command(Invocation(chat, command, args, user_id="1"))).text


@pytest.fixture
def commands(store: Store) -> Commands:
    return Commands(store, CommandsConfig())


async def publish(store: Store, *posts: object) -> None:
    await store.ingest(SourceState("newsroom"), [])
    await store.ingest(SourceState("newsroom", initialized=True), list(posts))  # type: ignore[arg-type]


async def delivered(store: Store, clock: Clock | None = None) -> list[tuple[str, str]]:
    sender = RecordingSender()
    dispatcher = Dispatcher(
        store,
        [sender],
        DeliverySettings(),
        owner="t",
        rng=random.Random(0),
        clock=clock or (lambda: datetime.now(UTC)),
    )
    await dispatcher.drain()
    return sender.delivered


async def test_an_included_keyword_lets_only_matching_posts_through(
    store: Store, commands: Commands
) -> None:
    chat = make_chat(1, language="en")
    await say(commands, chat, "/subscribe all")
    assert await say(commands, chat, "/filter add 반도체") == "Keyword added: 반도체"
    await publish(
        store,
        make_post(1, title="삼성 반도체 실적 발표"),
        make_post(2, title="오늘의 날씨", excerpt="맑음"),
        make_post(3, title="수출 호조", excerpt="반도체수출이 늘었다"),
    )
    assert sorted(h for _, h in await delivered(store)) == ["삼성 반도체 실적 발표", "수출 호조"]


async def test_hangul_matches_inside_words_latin_only_whole_words(
    store: Store, commands: Commands
) -> None:
    chat = make_chat(1)
    await say(commands, chat, "/subscribe all")
    await say(commands, chat, "/filter add 삼성")
    await say(commands, chat, "/filter add AI")
    await publish(
        store,
        make_post(1, title="삼성전자는 오늘"),
        make_post(2, title="New AI chip"),
        make_post(3, title="Said the chairman"),
    )
    assert sorted(h for _, h in await delivered(store)) == ["New AI chip", "삼성전자는 오늘"]


async def test_an_excluded_word_blocks_and_a_phrase_matches_whole(
    store: Store, commands: Commands
) -> None:
    chat = make_chat(1, language="en")
    await say(commands, chat, "/subscribe all")
    await say(commands, chat, '/filter add "금리 인하"')
    assert await say(commands, chat, "/filter add -광고") == "Keyword added: -광고"
    await publish(
        store,
        make_post(1, title="한은, 금리 인하 단행"),
        make_post(2, title="[광고] 금리 인하 특판"),
        make_post(3, title="금리 동결"),
    )
    assert [h for _, h in await delivered(store)] == ["한은, 금리 인하 단행"]
    listing = await say(commands, chat, "/filter list")
    assert listing.splitlines() == [
        "Keywords (must appear in headline or excerpt): 금리 인하",
        "Excluded: 광고",
    ]


async def test_a_chat_without_filters_gets_everything_it_follows(
    store: Store, commands: Commands
) -> None:
    filtered, plain = make_chat(1), make_chat(2)
    for chat in (filtered, plain):
        await say(commands, chat, "/subscribe all")
    await say(commands, filtered, "/filter add 반도체")
    await publish(store, make_post(1, title="날씨"))
    assert await delivered(store) == [(plain.chat_id, "날씨")]


@pytest.mark.parametrize(
    "text",
    ["/filter add " + "가" * 500, "/filter add ", '/filter add ""', "/filter add -", "/filter x"],
)
async def test_bad_keywords_are_refused_and_nothing_stored(
    store: Store, commands: Commands, text: str
) -> None:
    chat = make_chat(1, language="en")
    reply = await say(commands, chat, text)
    assert reply.startswith(("That keyword can't be used", "Usage: /filter", "That is too long"))
    stored = await store.find_chat("telegram", chat.chat_id)
    assert stored is not None and await store.filters(stored) == []


async def test_a_thousand_filters_are_refused_past_the_limit(
    store: Store, commands: Commands
) -> None:
    chat = make_chat(1, language="en")
    replies = [await say(commands, chat, f"/filter add word{n}") for n in range(55)]
    assert replies[49] == "Keyword added: word49"
    assert replies[50] == "That keyword can't be used: at most 50 keywords per chat"


@pytest.mark.parametrize("text", ["25:00-07:00", "abc", "23:00", "23:00-07:00 some", "07:00-07:00"])
def test_bad_quiet_hours_are_refused(text: str) -> None:
    from bot.errors import InvalidInput

    with pytest.raises(InvalidInput):
        parse_quiet(text)


async def test_quiet_hours_hold_alerts_then_release_one_digest(
    store: Store, commands: Commands
) -> None:
    chat = make_chat(1, language="en")
    await say(commands, chat, "/subscribe all")
    reply = await say(commands, chat, "/quiet 23:00-07:00")
    assert reply.startswith("Quiet hours: 23:00-07:00 (Asia/Seoul)")
    night = Clock(SEOUL_MIDNIGHT + timedelta(hours=2))  # 02:00 KST
    await publish(
        store,
        make_post(1, title="밤 기사 1", published_at=night.now),
        make_post(2, title="밤 속보", breaking=True, published_at=night.now),
        make_post(3, title="밤 기사 2", published_at=night.now),
    )
    assert await delivered(store, night) == [(chat.chat_id, "밤 속보")], "breaking still comes"
    digester = Digester(store, clock=night)
    assert await digester.run_once() == 0, "still quiet"
    morning = Clock(SEOUL_MIDNIGHT + timedelta(hours=7, minutes=1))
    assert await Digester(store, clock=morning).run_once() == 1
    sender = RecordingSender()
    dispatcher = Dispatcher(store, [sender], DeliverySettings(), owner="t", clock=morning)
    await dispatcher.drain()
    assert sender.delivered == [(chat.chat_id, "📰 News digest (2)")]
    assert await Digester(store, clock=morning).run_once() == 0, "once"


async def test_quiet_all_holds_breaking_news_too(store: Store, commands: Commands) -> None:
    chat = make_chat(1)
    await say(commands, chat, "/subscribe all")
    await say(commands, chat, "/quiet 23:00-07:00 all")
    night = Clock(SEOUL_MIDNIGHT + timedelta(hours=1))
    await publish(store, make_post(1, title="속보", breaking=True, published_at=night.now))
    assert await delivered(store, night) == []


async def test_a_daily_digest_arrives_once_a_day(store: Store, commands: Commands) -> None:
    chat = make_chat(1, language="en")
    await say(commands, chat, "/subscribe IT")
    set_at = Clock(SEOUL_MIDNIGHT - timedelta(hours=6))  # 18:00 KST the day before
    commands.store = Store(store.engine, clock=set_at)
    assert (await say(commands, chat, "/digest daily 08:00")).startswith("One digest")
    await publish(store, *(make_post(n, title=f"IT {n}") for n in range(25)))
    assert await delivered(store) == [], "no single alerts"
    seven = Clock(SEOUL_MIDNIGHT + timedelta(hours=7))
    assert await Digester(store, clock=seven).run_once() == 0
    eight = Clock(SEOUL_MIDNIGHT + timedelta(hours=8, minutes=1))
    digesting = Store(store.engine, clock=eight)
    assert await Digester(digesting, clock=eight).run_once() == 1
    assert await Digester(digesting, clock=eight).run_once() == 0
    sender = RecordingSender()
    await Dispatcher(digesting, [sender], DeliverySettings(), owner="t", clock=eight).drain()
    assert sender.delivered == [(chat.chat_id, "📰 News digest (newest 20 of 25)")]


def test_digest_due_follows_the_chats_clock() -> None:
    chat = Chat("telegram", "1", digest_at=time(8, 0))
    eight = SEOUL_MIDNIGHT + timedelta(hours=8)
    assert not digest_due(chat, eight - timedelta(minutes=1), eight - timedelta(hours=20))
    assert digest_due(chat, eight, eight - timedelta(hours=20))
    assert not digest_due(chat, eight + timedelta(hours=1), eight)
    quiet = Chat("telegram", "1", quiet=QuietHours(time(23), time(7)))
    assert not digest_due(quiet, SEOUL_MIDNIGHT, None)
    assert digest_due(quiet, SEOUL_MIDNIGHT + timedelta(hours=7), None)


async def test_settings_shows_everything_with_buttons_to_change_it(
    store: Store, commands: Commands
) -> None:
    chat = make_chat(1, language="en")
    await say(commands, chat, "/subscribe IT")
    await say(commands, chat, "/filter add -광고")
    await say(commands, chat, "/quiet 23:00-07:00 all")
    reply = await commands.command(Invocation(chat, "settings", "", user_id="1"))
    assert reply.text.splitlines() == [
        "This chat's settings",
        "Language: English",
        "Subscriptions: IT",
        "Keywords: -광고",
        "Quiet hours: 23:00-07:00 (all)",
        "Digest: off",
        "Topic: the main chat",
    ]
    assert [(b.command, b.args) for b in reply.buttons] == [
        ("lang", "ko"),
        ("categories", ""),
        ("quiet", "off"),
    ]


async def test_a_removed_group_takes_its_topics_with_it_a_removed_topic_only_itself(
    store: Store, commands: Commands
) -> None:
    group, other = make_chat(1, kind="supergroup"), make_chat(2, kind="supergroup")
    topics = [make_chat(1, kind="supergroup", thread_id=str(n)) for n in (7, 8)]
    for chat in (group, other, *topics):
        await say(commands, chat, "/subscribe all")
    await commands.chat_removed(topics[0])
    await publish(store, make_post(1, title="첫 기사"))
    assert sorted(chat for chat, _ in await delivered(store)) == ["1001", "1001#8", "1002"]
    await commands.chat_removed(group)  # the bot was removed from the whole group
    await store.ingest(SourceState("newsroom", initialized=True), [make_post(2, title="둘째")])
    assert [chat for chat, _ in await delivered(store)] == ["1002"]
