"""Alerts as embeds, and Discord's refusals as outcomes the dispatcher acts on."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from bot.models import (
    Alert,
    Button,
    Chat,
    ChatGone,
    Language,
    LinkItem,
    Outcome,
    Rejected,
    Reply,
    RetryAfter,
    Sent,
    ThreadGone,
    TransientFailure,
)
from tests.fakes.discord_api import DROP, FakeDiscord
from tests.fakes.discord_harness import running_adapter

KST = timezone(timedelta(hours=9))
CHANNEL = 700_001
MESSAGES = rf"/channels/{CHANNEL}/messages"
BREAKING = Alert(
    headline="[속보] 한국은행 기준금리 동결",
    excerpt="한국은행이 기준금리를 연 3.50%로 *동결*했다.",
    link="https://newsdao.kr/economy/2024/05/01/rate",
    categories=("경제", "금융 시장"),
    breaking=True,
    image="https://newsdao.kr/assets/img/newsdao_breakingnews.jpg",
    site="newsdao.kr",
    source="newsdao",
    published_at=datetime(2024, 5, 1, 10, 30, tzinfo=KST),
)


def channel(language: Language = "ko") -> Chat:
    return Chat(platform="discord", chat_id=str(CHANNEL), kind="channel", language=language)


async def test_an_alert_arrives_as_one_embed_that_pings_nobody() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        outcome = await adapter.send(channel(), BREAKING)
        [message] = await fake.wait_messages(CHANNEL, 1)
    assert outcome == Sent(message["id"])
    assert message["allowed_mentions"] == {"parse": []}
    [embed] = message["embeds"]
    assert embed["title"] == "[속보] 한국은행 기준금리 동결"
    assert embed["url"] == BREAKING.link
    assert embed["description"] == "한국은행이 기준금리를 연 3.50%로 \\*동결\\*했다."
    assert embed["color"] == 0xE74C3C
    assert embed["author"] == {"name": "🔴 속보"}
    assert embed["footer"] == {"text": "newsdao · #경제 #금융_시장"}
    assert datetime.fromisoformat(embed["timestamp"]) == BREAKING.published_at
    assert embed["thumbnail"] == {"url": BREAKING.image}


async def test_a_breaking_alert_in_an_english_chat_says_breaking() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        await adapter.send(channel("en"), BREAKING)
        [message] = await fake.wait_messages(CHANNEL, 1)
    assert message["embeds"][0]["author"] == {"name": "🔴 Breaking"}


async def test_a_regular_alert_has_no_breaking_line_and_is_not_red() -> None:
    regular = Alert("반도체 수출 증가", "수출이 늘었다.", "https://newsdao.kr/b", ("IT",), False)
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        await adapter.send(channel(), regular)
        [message] = await fake.wait_messages(CHANNEL, 1)
    [embed] = message["embeds"]
    assert "author" not in embed
    assert embed["color"] != 0xE74C3C
    assert embed["footer"] == {"text": "#IT"}


async def test_a_broadcast_has_no_title_and_its_text_is_the_description() -> None:
    notice = Alert(
        headline="", excerpt="오늘 밤 점검이 있습니다.", link=None, categories=(), breaking=False
    )
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        await adapter.send(channel(), notice)
        [message] = await fake.wait_messages(CHANNEL, 1)
    [embed] = message["embeds"]
    assert "title" not in embed
    assert embed["description"] == "오늘 밤 점검이 있습니다."


async def test_a_digest_lists_each_headline_as_a_link() -> None:
    digest = Alert(
        headline="📰 뉴스 다이제스트 (2)",
        excerpt="",
        link=None,
        categories=(),
        breaking=False,
        items=(
            LinkItem("밤사이 환율 급등", "https://newsdao.kr/a"),
            LinkItem("[속보] 지진", "https://newsdao.kr/b", breaking=True),
        ),
    )
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        await adapter.send(channel(), digest)
        [message] = await fake.wait_messages(CHANNEL, 1)
    [embed] = message["embeds"]
    assert embed["title"] == "📰 뉴스 다이제스트 (2)"
    assert embed["description"].splitlines() == [
        "[밤사이 환율 급등](https://newsdao.kr/a)",
        "🔴 \\[속보\\] 지진](https://newsdao.kr/b)".replace("🔴 \\[", "🔴 [\\["),
    ]


async def test_an_oversized_alert_stays_within_discords_embed_limits() -> None:
    huge = Alert(
        headline="제목" * 300,
        excerpt="본문" * 3000,
        link="https://newsdao.kr/x",
        categories=tuple(f"분야{i}" for i in range(400)),
        breaking=True,
        source="newsdao",
    )
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        outcome = await adapter.send(channel(), huge)
        [message] = await fake.wait_messages(CHANNEL, 1)
    assert isinstance(outcome, Sent)
    [embed] = message["embeds"]
    assert len(embed["title"]) <= 256 and embed["title"].endswith("…")
    assert len(embed["description"]) <= 4096
    assert len(embed["footer"]["text"]) <= 2048
    total = sum(len(embed[k]) for k in ("title", "description"))
    assert total + len(embed["footer"]["text"]) + len(embed["author"]["name"]) <= 6000


async def test_a_reply_the_core_sends_on_its_own_carries_its_buttons() -> None:
    reply = Reply(text="구독할 분야를 고르세요", buttons=(Button("IT", "subscribe", "IT"),))
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        outcome = await adapter.reply(channel(), reply)
        [message] = await fake.wait_messages(CHANNEL, 1)
    assert isinstance(outcome, Sent)
    assert message["content"] == "구독할 분야를 고르세요"
    assert message["components"][0]["components"][0]["custom_id"] == "nb:subscribe IT"


@pytest.mark.parametrize(
    ("status", "code"), [(403, 50001), (403, 50013), (404, 10003), (403, 50007)]
)
async def test_a_channel_the_bot_lost_is_gone_after_one_request(status: int, code: int) -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.fail("POST", MESSAGES, status, code=code, times=100)
        outcome = await adapter.send(channel(), BREAKING)
        assert len(fake.requests_to("POST", MESSAGES)) == 1  # no request wasted on it
    assert isinstance(outcome, ChatGone)
    assert str(code) in outcome.reason


async def test_content_discord_refuses_is_rejected_not_retried() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.fail("POST", MESSAGES, 400, code=50035, message="Invalid Form Body")
        outcome = await adapter.send(channel(), BREAKING)
    assert isinstance(outcome, Rejected)
    assert "50035" in outcome.reason


async def test_a_rate_limit_becomes_retry_after_at_once() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.rate_limit("POST", MESSAGES, retry_after=7.5)
        outcome = await adapter.send(channel(), BREAKING)
    assert outcome == RetryAfter(7.5, everywhere=False)


async def test_a_global_rate_limit_pauses_discord_everywhere() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.rate_limit("POST", MESSAGES, retry_after=5.0, everywhere=True)
        outcome = await adapter.send(channel(), BREAKING)
    assert outcome == RetryAfter(5.0, everywhere=True)


async def test_a_short_rate_limit_is_waited_out_and_nothing_is_lost() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.rate_limit("POST", MESSAGES, retry_after=0.05)
        outcome = await adapter.send(channel(), BREAKING)
        messages = await fake.wait_messages(CHANNEL, 1)
    assert outcome == Sent(messages[0]["id"])
    assert len(fake.requests_to("POST", MESSAGES)) == 2


async def test_a_429_without_via_is_cloudflare_pausing_the_whole_bot() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.fail("POST", MESSAGES, 429, headers={"Retry-After": "120"}, body="banned")
        outcome = await adapter.send(channel(), BREAKING)
    assert outcome == RetryAfter(120.0, everywhere=True)


async def test_a_server_error_is_transient() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.fail("POST", MESSAGES, 503, message="Service Unavailable")
        outcome = await adapter.send(channel(), BREAKING)
    assert outcome == TransientFailure("discord 503")


async def test_a_server_error_that_lasts_ends_the_send_within_its_timeout() -> None:
    async with FakeDiscord() as fake, running_adapter(fake, send_timeout=0.2) as adapter:
        fake.fail("POST", MESSAGES, 500, times=100)  # discord.py itself retries 500s
        outcome = await adapter.send(channel(), BREAKING)
    assert isinstance(outcome, TransientFailure)


async def test_a_token_reset_while_running_drops_no_alert() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.fail("POST", MESSAGES, 401, message="401: Unauthorized")
        outcome = await adapter.send(channel(), BREAKING)
    assert isinstance(outcome, TransientFailure)


async def test_a_dropped_connection_is_transient() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.fail("POST", MESSAGES, DROP)
        outcome: Outcome = await adapter.send(channel(), BREAKING)
    assert isinstance(outcome, TransientFailure)


async def test_a_chat_id_that_is_not_a_discord_id_is_rejected() -> None:
    bad = Chat(platform="discord", chat_id="general", kind="channel")
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        outcome = await adapter.send(bad, BREAKING)
    assert isinstance(outcome, Rejected)


async def test_buttons_discord_would_refuse_as_given_still_arrive() -> None:
    twice = Button("IT", "subscribe", "IT")
    many = tuple(Button(f"분야 {n}" * 20, "toggle", f"분야 {n}") for n in range(30))
    reply = Reply(text="고르세요", buttons=(twice, twice, *many))
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        outcome = await adapter.reply(channel(), reply)
        [message] = await fake.wait_messages(CHANNEL, 1)
    assert isinstance(outcome, Sent)  # the fake refuses duplicates, long labels, > 25 buttons
    buttons = [b for row in message["components"] for b in row["components"]]
    assert len(buttons) == 25
    assert buttons[0]["custom_id"] != buttons[1]["custom_id"]


async def test_a_corrected_alert_edits_the_message_in_place() -> None:
    corrected = replace(BREAKING, headline="[속보] 한국은행 기준금리 인하")
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        sent = await adapter.send(channel(), BREAKING)
        assert isinstance(sent, Sent) and sent.message_id is not None
        outcome = await adapter.edit(channel(), sent.message_id, corrected)
    assert outcome == sent
    [message] = fake.messages[CHANNEL]
    assert message["embeds"][0]["title"] == "[속보] 한국은행 기준금리 인하"
    assert message["allowed_mentions"] == {"parse": []}


async def test_a_recalled_message_is_deleted_and_a_missing_one_counts_as_deleted() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        sent = await adapter.send(channel(), BREAKING)
        assert isinstance(sent, Sent) and sent.message_id is not None
        assert await adapter.delete(channel(), sent.message_id) == sent
        assert fake.messages[CHANNEL] == []
        assert await adapter.delete(channel(), sent.message_id) == sent  # already gone


async def test_editing_a_message_that_is_gone_is_rejected_not_the_chat() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        outcome = await adapter.edit(channel(), "123456789", BREAKING)
    assert isinstance(outcome, Rejected)


async def test_editing_in_a_channel_the_bot_lost_is_gone() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.fail("PATCH", rf"{MESSAGES}/\d+", 403, code=50001)
        outcome = await adapter.edit(channel(), "123456789", BREAKING)
    assert isinstance(outcome, ChatGone)


THREAD = 710_001


def in_thread() -> Chat:
    return replace(channel(), thread_id=str(THREAD))


async def test_an_alert_for_a_thread_is_posted_in_the_thread() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        outcome = await adapter.send(in_thread(), BREAKING)
        [message] = await fake.wait_messages(THREAD, 1)
    assert outcome == Sent(message["id"])
    assert CHANNEL not in fake.messages


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, 10003, ThreadGone("discord 404/10003: unknown channel")),
        (400, 50083, ThreadGone("discord 400/50083: thread archived and locked")),
        (403, 50001, ThreadGone("discord 403/50001: missing access")),
        (400, 50035, Rejected("discord 400/50035: injected")),
    ],
)
async def test_a_thread_that_is_gone_is_thread_gone_not_chat_gone(
    status: int, code: int, expected: Outcome
) -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.fail("POST", rf"/channels/{THREAD}/messages", status, code=code)
        assert await adapter.send(in_thread(), BREAKING) == expected


async def test_an_unknown_channel_without_a_thread_is_still_chat_gone() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.fail("POST", MESSAGES, 404, code=10003)
        assert await adapter.send(channel(), BREAKING) == ChatGone(
            "discord 404/10003: unknown channel"
        )


async def test_a_forum_channel_that_refuses_messages_is_chat_gone() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.fail("POST", MESSAGES, 400, code=50008)
        outcome = await adapter.send(channel(), BREAKING)
    assert outcome == ChatGone("discord 400/50008: cannot send messages in a non-text channel")


async def test_a_forum_post_too_young_to_take_messages_is_tried_again_later() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        fake.fail("POST", rf"/channels/{THREAD}/messages", 400, code=40058)
        outcome = await adapter.send(in_thread(), BREAKING)
    assert outcome == TransientFailure("discord 400/40058: forum post not ready yet")


async def test_an_alert_in_a_thread_is_edited_and_deleted_in_the_thread() -> None:
    async with FakeDiscord() as fake, running_adapter(fake) as adapter:
        sent = await adapter.send(in_thread(), BREAKING)
        assert isinstance(sent, Sent) and sent.message_id is not None
        corrected = replace(BREAKING, headline="[속보] 바로잡음")
        assert await adapter.edit(in_thread(), sent.message_id, corrected) == sent
        assert fake.messages[THREAD][0]["embeds"][0]["title"] == "[속보] 바로잡음"
        assert await adapter.delete(in_thread(), sent.message_id) == sent
    assert fake.messages[THREAD] == []
