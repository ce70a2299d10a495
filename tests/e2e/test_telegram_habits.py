"""Issue 9 on Telegram, end to end: keyword filters, forum topics and their fallback."""

from __future__ import annotations

from tests.e2e.test_telegram_end_to_end import Newsbot, bot  # noqa: F401 - the fixture
from tests.factories import make_post
from tests.fakes.telegram_wire import Failure

TOPIC = {"message_thread_id": 15, "is_topic_message": True}


async def test_a_filtered_chat_gets_only_the_posts_that_mention_its_keyword(
    bot: Newsbot,  # noqa: F811
) -> None:
    await bot.ask(501, "/subscribe all", language_code="en")
    assert await bot.ask(501, "/filter add 반도체", language_code="en") == "Keyword added: 반도체"
    assert await bot.ask(501, "/filter add -광고", language_code="en") == "Keyword added: -광고"
    before = len(bot.tg.messages(501))

    await bot.publish(
        make_post(2, title="반도체 수출 사상 최대"),
        make_post(3, title="오늘의 날씨"),
        make_post(4, title="[광고] 반도체 특가"),
    )

    alerts = bot.tg.messages(501)[before:]
    assert [m.spans("bold") for m in alerts] == [["반도체 수출 사상 최대"]]


async def test_a_topic_subscription_delivers_into_the_topic(
    bot: Newsbot,  # noqa: F811
) -> None:
    bot.tg.make_admin(-100700, 7)
    group = {"chat_type": "supergroup", "user_id": 7, "extra": TOPIC}
    assert await bot.ask(-100700, "/subscribe IT", **group) == "구독했습니다: IT"

    await bot.publish(make_post(5, categories=("IT",)))

    alert = bot.tg.messages(-100700)[-1]
    assert (alert.spans("bold"), alert.message_thread_id) == (["Headline 5"], 15)


async def test_a_deleted_topic_falls_back_to_the_group_once_and_says_so(
    bot: Newsbot,  # noqa: F811
) -> None:
    bot.tg.make_admin(-100800, 7)
    group = {"chat_type": "supergroup", "user_id": 7, "extra": TOPIC}
    await bot.ask(-100800, "/subscribe IT", **group)
    bot.tg.fail_next(Failure(400, "Bad Request: message thread not found"))

    await bot.publish(make_post(6, categories=("IT",)))
    await bot.publish(make_post(7, categories=("IT",)))

    main = [m for m in bot.tg.messages(-100800) if m.message_thread_id is None]
    texts = [m.text for m in main]
    assert "알림을 보내던 주제(토픽)가 없어져서, 이제부터 이 채팅으로 보냅니다." in texts
    assert [m.spans("bold") for m in main if m.spans("bold")] == [["Headline 6"], ["Headline 7"]]
