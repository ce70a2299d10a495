"""Commands, buttons and membership changes: real python-telegram-bot against the fake Bot API.

The platform-neutral command logic is replaced by `RecordingInbox` (a fake at the
adapter seam); `test_telegram_end_to_end.py` runs the real one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import pytest

from bot.models import Button, Chat, Invocation, LinkItem, Reply
from handlers.telegram_adapter import TelegramAdapter
from tests.fakes.telegram_api import BOT_USERNAME, Failure, FakeTelegram
from tests.fakes.telegram_harness import RecordingInbox, running_adapter

CATEGORIES = ("IT", "경제", "국제 뉴스와 한반도 정세에 관한 아주 긴 분야 이름")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def inbox() -> RecordingInbox:
    return RecordingInbox(CATEGORIES)


@pytest.fixture
async def adapter(tg: FakeTelegram, inbox: RecordingInbox) -> AsyncIterator[TelegramAdapter]:
    async with running_adapter(tg, inbox) as adapter:
        yield adapter


async def test_private_command_reaches_the_core_and_its_reply_shows_as_linked_lines(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    inbox.replies["latest"] = Reply(
        "Latest <posts> & more",
        items=(
            LinkItem("A <b> title", "https://newsdao.kr/a?x=1&y=2", breaking=True),
            LinkItem("Second", "https://newsdao.kr/b"),
        ),
    )
    tg.push_message(111, "/latest 3", language_code="en-US")

    [message] = await tg.wait_for_messages(111)

    assert inbox.invocations == [
        Invocation(Chat("telegram", "111", "user", "en", title="Tester"), "latest", "3", "111")
    ]
    assert message.parse_mode == "HTML"
    assert message.text == "Latest <posts> & more\n🔴 A <b> title\n• Second"
    assert message.links == [
        ("A <b> title", "https://newsdao.kr/a?x=1&y=2"),
        ("Second", "https://newsdao.kr/b"),
    ]


async def test_two_quick_commands_in_one_chat_both_get_answers(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    tg.push_message(117, "/subscribe IT")
    tg.push_message(117, "/subscriptions")

    # The second answer (usually) meets the 1-per-second limit of a private chat: it
    # waits it out instead of being dropped.
    messages = await tg.wait_for_messages(117, 2)

    assert sorted(m.text for m in messages) == ["echo /subscribe IT", "echo /subscriptions"]


async def test_an_answer_refused_with_429_is_sent_after_retry_after(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    tg.fail_next(Failure.flood(1))
    tg.push_message(118, "/latest")

    [answer] = await tg.wait_for_messages(118)

    assert (answer.text, tg.too_many_requests) == ("echo /latest", 1)


async def test_korean_app_gives_a_korean_private_chat(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    tg.push_message(112, "/start", language_code="ko")
    await tg.wait_for_messages(112)
    assert inbox.invocations[0].chat.language == "ko"
    assert inbox.invocations[0].command == "start"


async def test_group_command_addressed_to_the_bot_by_name(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    tg.make_admin(-100200, 7)
    tg.push_message(-100200, f"/Subscribe@{BOT_USERNAME}  IT 경제", chat_type="supergroup",
                    user_id=7, language_code="en")  # fmt: skip
    typed = tg.push_message(-100201, f"/latest@{BOT_USERNAME}", chat_type="group", user_id=8)

    await tg.wait_for_messages(-100200)
    [answer] = await tg.wait_for_messages(-100201)

    by_chat = {i.chat.chat_id: i for i in inbox.invocations}
    assert by_chat["-100200"] == Invocation(
        Chat("telegram", "-100200", "group", "ko", title="Room"), "subscribe", "IT 경제", "7", True
    )
    # Not an administrator of the group: the core decides what that allows.
    assert by_chat["-100201"].can_manage is False
    # In a group the answer quotes the command, so everyone sees whom it answers.
    assert answer.reply_to == typed["message"]["message_id"]


async def test_a_command_in_a_forum_topic_belongs_to_that_topic(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    topic = {"message_thread_id": 15, "is_topic_message": True}
    tg.push_message(-100250, "/subscribe IT", chat_type="supergroup", user_id=7, extra=topic)

    [answer] = await tg.wait_for_messages(-100250)

    assert inbox.invocations[0].chat.thread_id == "15"
    assert answer.message_thread_id == 15


async def test_channel_post_command_is_run_for_the_channel(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    tg.push_message(-100300, f"/subscribe@{BOT_USERNAME} IT", chat_type="channel",
                    kind="channel_post")  # fmt: skip

    await tg.wait_for_messages(-100300)

    assert inbox.invocations == [
        Invocation(Chat("telegram", "-100300", "channel", "ko", title="Room"), "subscribe", "IT")
    ]


async def test_other_bots_commands_plain_text_stickers_and_edits_are_ignored(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    say = partial(tg.push_message, -100400, chat_type="supergroup", user_id=9)
    say("/latest@other_bot 3")
    say("/roll")  # not ours, and not addressed to us
    say("just chatting")
    say(None, extra={"sticker": _sticker()})
    say("/latest", kind="edited_message")
    say("/help")

    messages = await tg.wait_for_messages(-100400)

    assert [i.command for i in inbox.invocations] == ["help"]
    assert [m.text for m in messages] == ["echo /help"]


async def test_button_press_edits_the_keyboard_in_place(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    buttons = tuple(Button(name, "toggle", name) for name in CATEGORIES)
    inbox.replies["categories"] = Reply("분야를 고르세요", buttons=buttons)
    tg.push_message(113, "/categories")
    [message] = await tg.wait_for_messages(113)
    pressed = {"IT": "IT ✅"}
    toggled = tuple(Button(pressed.get(b.label, b.label), b.command, b.args) for b in buttons)
    inbox.replies["toggle"] = Reply("분야를 고르세요", buttons=toggled, edit=True)

    long_label, long_data = message.buttons[1][0]
    tg.push_callback(113, message.message_id, message.buttons[0][0][1], user_id=113)
    await tg.wait_until(lambda: message.edits == 1)
    tg.push_callback(113, message.message_id, long_data, user_id=113)
    await inbox.wait_until(lambda: len(inbox.invocations) == 3)

    assert [(i.command, i.args) for i in inbox.invocations] == [
        ("categories", ""), ("toggle", "IT"), ("toggle", long_label)
    ]  # fmt: skip
    assert [m.message_id for m in tg.messages(113)] == [message.message_id]
    assert message.buttons[0][0][0] == "IT ✅"
    assert len(tg.callback_answers) >= 1


async def test_a_long_category_button_still_works_after_a_restart(
    tg: FakeTelegram, inbox: RecordingInbox
) -> None:
    long_name = CATEGORIES[2]
    inbox.replies["categories"] = Reply("분야", buttons=(Button(long_name, "toggle", long_name),))
    async with running_adapter(tg, inbox):
        tg.push_message(116, "/categories")
        [message] = await tg.wait_for_messages(116)
    [[(_, data)]] = message.buttons

    async with running_adapter(tg, inbox):  # a new process: its table of long buttons is empty
        tg.push_callback(116, message.message_id, data, user_id=116)
        await inbox.wait_until(lambda: len(inbox.invocations) == 2)

    assert data.startswith("#") and len(data.encode()) <= 64
    assert (inbox.invocations[1].command, inbox.invocations[1].args) == ("toggle", long_name)


async def test_a_private_answer_to_a_button_in_a_group_pops_up_for_the_presser_only(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    inbox.replies["categories"] = Reply("분야", buttons=(Button("IT", "toggle", "IT"),))
    inbox.replies["toggle"] = Reply("관리자만 바꿀 수 있습니다.", private=True)
    tg.push_message(-100210, "/categories", chat_type="supergroup", user_id=9)
    [message] = await tg.wait_for_messages(-100210)

    tg.push_callback(-100210, message.message_id, "toggle IT", user_id=9)
    await tg.wait_until(lambda: bool(tg.callback_answers))

    [answer] = tg.callback_answers
    assert (answer["text"], answer["show_alert"]) == ("관리자만 바꿀 수 있습니다.", "true")
    assert [m.text for m in tg.messages(-100210)] == ["분야"]
    assert inbox.invocations[-1].can_manage is False


async def test_in_a_channel_only_its_administrators_manage_it_by_button(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    inbox.replies["categories"] = Reply("분야", buttons=(Button("IT", "toggle", "IT"),))
    tg.push_message(-100310, "/categories", chat_type="channel", kind="channel_post")
    [post] = await tg.wait_for_messages(-100310)
    tg.make_admin(-100310, 5)

    tg.push_callback(-100310, post.message_id, "toggle IT", user_id=6)  # a reader
    tg.push_callback(-100310, post.message_id, "toggle IT", user_id=5)  # an admin
    await inbox.wait_until(lambda: len(inbox.invocations) == 3)

    assert {(i.user_id, i.can_manage) for i in inbox.invocations[1:]} == {
        ("6", False), ("5", True)
    }  # fmt: skip


async def test_an_opml_file_sent_in_private_goes_to_the_core(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    opml = (
        b'<opml version="2.0"><body><outline xmlUrl="https://newsdao.kr/feed.xml"/></body></opml>'
    )
    tg.push_document(-100130, "feeds.opml", opml, chat_type="supergroup", user_id=7)
    tg.push_document(130, "photo.jpg", b"\xff\xd8", user_id=130)
    tg.push_document(130, "피드 목록.opml", opml, user_id=130)

    [answer] = await tg.wait_for_messages(130)

    assert inbox.files == [opml]
    assert (inbox.invocations[0].user_id, inbox.invocations[0].chat.chat_id) == ("130", "130")
    assert answer.text == f"imported {len(opml)} bytes"
    assert tg.messages(-100130) == []


async def test_an_opml_file_over_five_megabytes_is_refused_unread(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    tg.push_document(131, "huge.opml", b" " * (5 * 1024 * 1024 + 1), user_id=131)

    [answer] = await tg.wait_for_messages(131)

    assert answer.text == "파일이 너무 큽니다 (최대 5 MiB)."
    assert inbox.files == [] and ("getfile", {"file_id": "file-1"}) not in tg.calls


async def test_kicked_from_a_group_and_blocked_in_private_stop_the_chat(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    tg.push_member_change(-100500, "kicked", chat_type="supergroup")
    tg.push_member_change(114, "kicked", chat_type="private")

    await inbox.wait_until(lambda: len(inbox.removed) == 2)

    assert {(c.chat_id, c.kind) for c in inbox.removed} == {("-100500", "group"), ("114", "user")}


async def test_added_to_a_group_sends_the_welcome(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    tg.push_member_change(-100600, "member", old_status="left", chat_type="group")
    tg.push_member_change(-100601, "administrator", old_status="left", chat_type="channel")

    [welcome] = await tg.wait_for_messages(-100600)
    await tg.wait_for_messages(-100601)

    assert welcome.text == "안녕하세요! /help"
    assert sorted(c.kind for c in inbox.added) == ["channel", "group"]


async def test_group_upgraded_to_supergroup_moves_the_chat(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    tg.push_message(-700, None, chat_type="group", extra={"migrate_to_chat_id": -100700})

    await inbox.wait_until(lambda: bool(inbox.moved))

    assert [(c.chat_id, new) for c, new in inbox.moved] == [("-700", "-100700")]


async def test_a_failing_command_answers_with_the_help(
    tg: FakeTelegram, inbox: RecordingInbox, adapter: TelegramAdapter
) -> None:
    inbox.failing.add("latest")
    inbox.replies["help"] = Reply("도움말: /latest, /subscribe")
    tg.push_message(115, "/latest 3")

    [message] = await tg.wait_for_messages(115)

    assert message.text == "도움말: /latest, /subscribe"


async def test_command_menu_is_registered_in_korean_and_english(
    tg: FakeTelegram, adapter: TelegramAdapter
) -> None:
    names = ["start", "help", "latest", "category", "categories", "subscribe", "unsubscribe",
             "subscriptions", "filter", "quiet", "digest", "settings", "lang"]  # fmt: skip
    assert [c["command"] for c in tg.commands[""]] == names
    assert [c["command"] for c in tg.commands["en"]] == names
    assert tg.commands[""][1]["description"] == "도움말"
    assert tg.commands["en"][1]["description"] == "Help"


def _sticker() -> dict[str, object]:
    return {"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False}  # fmt: skip
