"""The fake Bot API behaves as Telegram does where newsbot's tests rely on it.

Driven by python-telegram-bot's own `Bot`, so the wire format is the real one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, InvalidToken, RetryAfter

from handlers.telegram_request import TelegramRequest
from tests.fakes.telegram_api import TOKEN, FakeTelegram, parse_html
from tests.fakes.telegram_harness import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(50.0)


@pytest.fixture
async def tg(clock: Clock) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(clock=clock) as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=tg.api_url, request=TelegramRequest()) as bot:
        yield bot


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<blink>x</blink>", 'Unsupported start tag "blink" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b><i>x</b></i>", "Unmatched end tag at byte offset 7"),
    ],
)
async def test_html_telegram_cannot_parse_is_refused(bot: Bot, text: str, error: str) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities: ") as caught:
        await bot.send_message(1, text, parse_mode="HTML")
    # python-telegram-bot drops "Bad Request: " and lower-cases what follows.
    assert error.lower() in caught.value.message.lower()


def test_html_is_shown_as_telegram_shows_it() -> None:
    text, entities = parse_html(
        '<b>a &lt;b&gt; &amp; &quot;</b> <a href="https://x.kr/?a=1&amp;b=2">link</a> & ok'
    )

    assert text == 'a <b> & " link & ok'
    assert [(e.type, e.text, e.url) for e in entities] == [
        ("bold", 'a <b> & "', None),
        ("text_link", "link", "https://x.kr/?a=1&b=2"),
    ]


async def test_thirty_messages_in_any_second_then_429(
    tg: FakeTelegram, bot: Bot, clock: Clock
) -> None:
    for chat_id in range(1, 31):
        await bot.send_message(chat_id, "hi")
        clock.now += 0.01
    with pytest.raises(RetryAfter):
        await bot.send_message(31, "hi")
    clock.now += 0.8  # the first message is a second old now
    await bot.send_message(31, "hi")

    assert (tg.sent_count(), tg.too_many_requests) == (31, 1)


async def test_paid_broadcast_lifts_the_overall_limit(tg: FakeTelegram, bot: Bot) -> None:
    for chat_id in range(1, 101):
        await bot.send_message(chat_id, "hi", allow_paid_broadcast=True)

    assert (tg.sent_count(), tg.too_many_requests) == (100, 0)


async def test_keyboard_callback_data_over_64_bytes_is_refused(bot: Bot) -> None:
    key = InlineKeyboardButton("x", callback_data="가" * 22)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(1, "hi", reply_markup=InlineKeyboardMarkup([[key]]))


async def test_edit_with_nothing_changed_is_refused(tg: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(1, "hi")
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("hi", chat_id=1, message_id=sent.message_id)
    await bot.edit_message_text("<i>new</i>", chat_id=1, message_id=sent.message_id,
                                parse_mode="HTML")  # fmt: skip

    [message] = tg.messages(1)
    assert (message.text, message.spans("italic"), message.edits) == ("new", ["new"], 1)


async def test_a_wrong_token_is_unauthorized(tg: FakeTelegram) -> None:
    request = TelegramRequest()
    try:
        with pytest.raises(InvalidToken):
            await Bot("1:wrong", base_url=tg.api_url, request=request).initialize()
    finally:
        await request.shutdown()


async def test_long_poll_is_held_until_an_update_arrives(tg: FakeTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await tg.wait_until(lambda: tg.polls_waiting == 1)
    tg.push_message(5, "/help")

    updates = await asyncio.wait_for(poll, 5)

    assert [u.effective_message.text for u in updates if u.effective_message] == ["/help"]


async def test_confirmed_and_unwanted_updates_are_not_sent_again(
    tg: FakeTelegram, bot: Bot
) -> None:
    first = tg.push_message(5, "/start")
    tg.push_member_change(5, "kicked")
    tg.push_message(5, "/help")

    updates = await bot.get_updates(offset=first["update_id"] + 1, allowed_updates=["message"])

    assert [u.effective_message.text for u in updates if u.effective_message] == ["/help"]


async def test_keyboards_commands_and_housekeeping_calls(tg: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(1, "hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="x 1")]])
    await bot.edit_message_reply_markup(chat_id=1, message_id=sent.message_id,
                                        reply_markup=keyboard)  # fmt: skip
    await bot.set_my_commands([("latest", "최신 기사")], language_code="ko")

    commands = await bot.get_my_commands(language_code="ko")

    assert tg.messages(1)[0].buttons == [[("a", "x 1")]]
    assert [(c.command, c.description) for c in commands] == [("latest", "최신 기사")]
    assert await bot.delete_webhook() and await bot.log_out() and await bot.close()
    assert await bot.delete_message(1, sent.message_id)
    assert tg.messages(1) == []
