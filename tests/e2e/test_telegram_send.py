"""Alerts as a Telegram user sees them, and every platform refusal as an outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bot.config import TelegramSettings
from bot.models import (
    Alert,
    Button,
    Chat,
    ChatGone,
    ChatMoved,
    LinkItem,
    Rejected,
    Reply,
    RetryAfter,
    Sent,
    ThreadGone,
    TransientFailure,
)
from handlers.telegram_adapter import TelegramAdapter
from tests.fakes.telegram_api import TOKEN, Failure, FakeTelegram
from tests.fakes.telegram_harness import Clock, RecordingInbox, running_adapter, settings_for

USER = Chat("telegram", "201", "user", "ko")
GROUP = Chat("telegram", "-100201", "group", "ko")
TITLE = 'Tom & Jerry: "a < b" </b><i>not italic'
ALERT = Alert(
    headline=TITLE,
    excerpt="속보 <script>alert(1)</script> & 더 보기",
    link="https://www.newsdao.kr/news/2026/11/29/a.html?x=1&y=<2>",
    categories=("IT", "국제 뉴스"),
    breaking=True,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def tg(clock: Clock) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(clock=clock) as fake:
        yield fake


@pytest.fixture
async def adapter(tg: FakeTelegram) -> AsyncIterator[TelegramAdapter]:
    async with running_adapter(tg) as adapter:
        yield adapter


async def test_breaking_alert_shows_exactly_as_written(
    tg: FakeTelegram, adapter: TelegramAdapter
) -> None:
    outcome = await adapter.send(USER, ALERT)

    [message] = tg.messages(201)
    assert outcome == Sent(str(message.message_id))
    assert message.parse_mode == "HTML"
    assert message.text == (
        f"🔴 속보\n{TITLE}\n속보 <script>alert(1)</script> & 더 보기\n\n"
        "newsdao.kr에서 보기\n#IT #국제_뉴스"
    )
    assert message.spans("bold") == [TITLE]
    assert message.spans("italic") == []
    assert message.links == [("newsdao.kr에서 보기", ALERT.link)]


async def test_english_chat_and_site_name_from_the_alert(
    tg: FakeTelegram, adapter: TelegramAdapter
) -> None:
    alert = Alert("Headline", "", "https://example.com/a", (), breaking=True, site="Example")

    await adapter.send(Chat("telegram", "202", "user", "en"), alert)

    [message] = tg.messages(202)
    assert message.text == "🔴 Breaking\nHeadline\n\nView on Example"


async def test_broadcast_without_headline_or_link_is_just_its_text(
    tg: FakeTelegram, adapter: TelegramAdapter
) -> None:
    alert = Alert("", "점검 안내: 오늘 밤 <12시>", None, (), breaking=False)

    await adapter.send(USER, alert)

    [message] = tg.messages(201)
    assert message.text == "점검 안내: 오늘 밤 <12시>"
    assert message.spans("bold") == []


async def test_refused_html_is_resent_as_plain_text(
    tg: FakeTelegram, adapter: TelegramAdapter
) -> None:
    tg.fail_next(Failure(400, 'Bad Request: can\'t parse entities: Unsupported start tag "x"'))

    outcome = await adapter.send(USER, ALERT)

    [message] = tg.messages(201)
    assert outcome == Sent(str(message.message_id))
    assert message.parse_mode is None
    assert TITLE in message.text
    assert f"newsdao.kr에서 보기: {ALERT.link}" in message.text


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (Failure.blocked(), ChatGone("Forbidden: bot was blocked by the user")),
        (Failure.kicked(), ChatGone("Forbidden: bot was kicked from the supergroup chat")),
        (Failure.chat_not_found(), ChatGone("Chat not found")),
        (Failure(400, "Bad Request: user is deactivated"), ChatGone("User is deactivated")),
        (Failure.migrated(-100999), ChatMoved("-100999")),
        (Failure.flood(7), RetryAfter(7.0)),
        (Failure(400, "Bad Request: message is too long"), Rejected("Message is too long")),
        (
            Failure(400, "Bad Request: message thread not found"),
            ThreadGone("Message thread not found"),
        ),
    ],
)
async def test_platform_refusals_become_outcomes(
    tg: FakeTelegram, adapter: TelegramAdapter, failure: Failure, expected: object
) -> None:
    tg.fail_chat(201, failure)

    assert await adapter.send(USER, ALERT) == expected
    assert tg.messages(201) == []


@pytest.mark.parametrize(
    "failure",
    [
        Failure.blocked(),
        Failure.migrated(-100999),
        Failure.flood(7),
        Failure(400, "Bad Request: message is too long"),
        Failure(400, "Bad Request: message thread not found"),
        Failure.server_error(500),
        Failure.server_error(502),
    ],
)
async def test_an_alert_and_a_reply_meet_a_refusal_alike(
    tg: FakeTelegram, adapter: TelegramAdapter, failure: Failure
) -> None:
    """Alerts go by the lean path (their body encoded once per alert), replies by
    python-telegram-bot's own encoding: the platform's answer is judged the same."""
    tg.fail_chat(201, failure)

    assert await adapter.send(USER, ALERT) == await adapter.reply(USER, Reply("안내"))


async def test_with_paid_broadcasts_every_alert_goes_as_one(tg: FakeTelegram) -> None:
    adapter = TelegramAdapter(settings_for(tg, allow_paid_broadcast=True), poll_timeout=5)
    await adapter.start(RecordingInbox())
    try:
        await adapter.send(USER, ALERT)
        await adapter.send(GROUP, ALERT)
    finally:
        await adapter.stop()

    sent = [params for method, params in tg.calls if method == "sendmessage"]
    assert [params["allow_paid_broadcast"] for params in sent] == [True, True]
    assert [m.parse_mode for m in tg.messages(201) + tg.messages(-100201)] == ["HTML", "HTML"]


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_are_transient(
    tg: FakeTelegram, adapter: TelegramAdapter, status: int
) -> None:
    tg.fail_next(Failure.server_error(status))

    assert isinstance(await adapter.send(USER, ALERT), TransientFailure)
    assert isinstance(await adapter.send(USER, ALERT), Sent)


async def test_a_timeout_is_transient(tg: FakeTelegram) -> None:
    async with running_adapter(tg, request_timeout=0.3) as adapter:
        tg.fail_next(Failure.timeout())
        outcome = await adapter.send(USER, ALERT)

    assert outcome == TransientFailure("Timed out")


async def test_the_fakes_own_rate_limit_is_reported_with_its_retry_after(
    tg: FakeTelegram, adapter: TelegramAdapter, clock: Clock
) -> None:
    first = await adapter.send(USER, ALERT)
    second = await adapter.send(USER, ALERT)
    clock.now += 1.0
    third = await adapter.send(USER, ALERT)

    assert (type(first), second, type(third)) == (Sent, RetryAfter(1.0), Sent)
    assert tg.too_many_requests == 1
    assert len(tg.messages(201)) == 2


async def test_group_gets_twenty_a_minute(
    tg: FakeTelegram, adapter: TelegramAdapter, clock: Clock
) -> None:
    outcomes = []
    for _ in range(21):
        outcomes.append(await adapter.send(GROUP, ALERT))
        clock.now += 0.1

    assert all(isinstance(o, Sent) for o in outcomes[:20])
    assert outcomes[20] == RetryAfter(58.0)  # the first of the 20 leaves the window at +60 s


async def test_reply_renders_items_and_buttons(tg: FakeTelegram, adapter: TelegramAdapter) -> None:
    reply = Reply(
        "구독: <IT>",
        items=(LinkItem("기사 & 제목", "https://newsdao.kr/x"),),
        buttons=(
            Button("보내기", "broadcast", "send 17"),
            Button("취소", "broadcast", "cancel 17"),
        ),
    )

    outcome = await adapter.reply(USER, reply)

    [message] = tg.messages(201)
    assert isinstance(outcome, Sent)
    assert message.text == "구독: <IT>\n• 기사 & 제목"
    assert message.buttons == [[("보내기", "broadcast send 17"), ("취소", "broadcast cancel 17")]]


async def test_limits_follow_the_settings() -> None:
    paid = TelegramSettings(token=SecretStr(TOKEN), allow_paid_broadcast=True)
    free = TelegramSettings(token=SecretStr(TOKEN))

    assert TelegramAdapter(paid).limits.per_second == 1000
    limits = TelegramAdapter(free).limits
    assert (limits.text_length, limits.per_second, limits.per_chat_per_second) == (4096, 30, 1)
    assert limits.per_group_per_minute == 20


async def test_under_random_faults_every_chat_gets_its_alert_and_repeats_are_accounted(
    tg: FakeTelegram,
) -> None:
    tg.limits = False
    # Every kind once, but a single kind of timeout: each one costs the client's timeout.
    kinds = (*(f for f in Failure.every_kind() if not f.hang), Failure.timeout(delivered=True))
    tg.chaos(0.3, seed=7, failures=kinds)
    # Long enough that only the fake's held requests time out, even on a busy machine.
    retried = 0
    async with running_adapter(tg, request_timeout=0.5) as adapter:
        for chat_id in range(1, 26):
            chat = Chat("telegram", str(chat_id))
            while not isinstance(outcome := await adapter.send(chat, ALERT), Sent):
                assert isinstance(outcome, RetryAfter | TransientFailure), outcome
                retried += 1

    counts = [len(tg.messages(chat_id)) for chat_id in range(1, 26)]
    assert retried > 0 and tg.delivered_unanswered > 0 and all(n >= 1 for n in counts)
    # A second copy only where the first arrived but its answer was lost.
    assert sum(counts) - 25 == tg.delivered_unanswered


async def test_a_corrected_alert_is_edited_in_place(
    tg: FakeTelegram, adapter: TelegramAdapter
) -> None:
    sent = await adapter.send(USER, ALERT)
    assert isinstance(sent, Sent) and sent.message_id is not None
    corrected = Alert("정정된 제목 <2>", "", ALERT.link, (), breaking=False)

    first = await adapter.edit(USER, sent.message_id, corrected)
    again = await adapter.edit(USER, sent.message_id, corrected)
    missing = await adapter.edit(USER, "999", corrected)

    [message] = tg.messages(201)
    assert (first, again) == (sent, sent)
    assert (message.spans("bold"), message.edits) == (["정정된 제목 <2>"], 1)
    assert missing == Rejected("Message to edit not found")


async def test_a_recalled_alert_is_deleted_and_a_second_recall_is_harmless(
    tg: FakeTelegram, adapter: TelegramAdapter
) -> None:
    sent = await adapter.send(USER, ALERT)
    assert isinstance(sent, Sent) and sent.message_id is not None

    assert await adapter.delete(USER, sent.message_id) == sent
    assert await adapter.delete(USER, sent.message_id) == sent
    assert tg.messages(201) == []


async def test_alerts_for_a_forum_topic_go_to_that_topic(
    tg: FakeTelegram, adapter: TelegramAdapter
) -> None:
    await adapter.send(Chat("telegram", "-100777", "group", thread_id="15"), ALERT)

    [message] = tg.messages(-100777)
    assert message.message_thread_id == 15


async def test_a_digest_lists_its_headlines_linked(
    tg: FakeTelegram, adapter: TelegramAdapter
) -> None:
    digest = Alert(
        "오늘의 뉴스 (2)",
        "",
        None,
        (),
        breaking=False,
        items=(
            LinkItem("속보 <1>", "https://newsdao.kr/1", breaking=True),
            LinkItem("둘째 & 기사", "https://newsdao.kr/2"),
        ),
    )

    await adapter.send(USER, digest)

    [message] = tg.messages(201)
    assert message.text == "오늘의 뉴스 (2)\n🔴 속보 <1>\n• 둘째 & 기사"
    assert message.links == [
        ("속보 <1>", "https://newsdao.kr/1"),
        ("둘째 & 기사", "https://newsdao.kr/2"),
    ]


async def test_connected_while_started_and_a_stopped_adapter_starts_again(
    tg: FakeTelegram,
) -> None:
    adapter = TelegramAdapter(settings_for(tg), poll_timeout=5)
    await adapter.start(RecordingInbox())
    assert adapter.connected
    await adapter.stop()
    await adapter.stop()  # idempotent
    assert not adapter.connected

    await adapter.start(RecordingInbox())  # the receiver role came back to this process
    try:
        assert adapter.connected
        assert isinstance(await adapter.send(USER, ALERT), Sent)
    finally:
        await adapter.stop()
