"""Slash commands, autocompletes and buttons: the real discord.py client against a fake Discord.

The core is a recording stand-in (`RecordingInbox`): these tests pin down what
the adapter hands the core and what the user then sees.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from bot.models import Button, Invocation, LinkItem, Reply
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.discord_harness import RecordingInbox, running_adapter
from tests.fakes.discord_payloads import EPHEMERAL, MEMBER, FakeGuild, FakeThread


@pytest.mark.parametrize(
    ("name", "options", "command", "args"),
    [
        ("start", {}, "start", ""),
        ("help", {}, "help", ""),
        ("latest", {}, "latest", ""),
        ("latest", {"count": 3}, "latest", "3"),
        ("category", {"name": "IT"}, "category", "IT"),
        ("categories", {}, "categories", ""),
        ("subscribe", {"category": "IT"}, "subscribe", "IT"),
        ("subscribe", {"category": "breaking"}, "subscribe", "breaking"),
        ("unsubscribe", {"category": "경제"}, "unsubscribe", "경제"),
        ("subscribe", {"category": "World News"}, "subscribe", "World News,"),
        ("subscriptions", {}, "subscriptions", ""),
        ("lang", {"code": "en"}, "lang", "en"),
        ("broadcast", {"text": "점검 안내"}, "broadcast", "점검 안내"),
        ("broadcast", {"text": "점검 안내", "category": "IT"}, "broadcast", "#IT 점검 안내"),
        ("stats", {}, "stats", ""),
        ("recall", {"number": 12}, "recall", "12"),
        ("recall", {"number": 34, "post": True}, "recall", "post 34"),
    ],
)
async def test_each_slash_command_reaches_the_core_and_its_reply_is_the_followup(
    name: str, options: dict[str, str | int | bool], command: str, args: str
) -> None:
    inbox = RecordingInbox(replies={command: Reply(text=f"answer to {command}")})
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        interaction = await fake.slash(name, options)
        answer = await fake.wait_answer(interaction)
    [invocation] = inbox.invocations
    assert (invocation.command, invocation.args) == (command, args)
    assert interaction.callback is not None
    assert interaction.callback["type"] == 5  # deferred first: Discord's 3 s always met
    assert answer["content"] == f"answer to {command}"
    assert answer["allowed_mentions"] == {"parse": []}


async def test_a_guild_channel_command_names_the_channel_the_user_and_the_language() -> None:
    inbox = RecordingInbox()
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        channel = fake.guilds[0].channels[1]
        await fake.wait_answer(await fake.slash("subscriptions", channel_id=channel, user_id=42))
    [invocation] = inbox.invocations
    assert invocation.chat.platform == "discord"
    assert invocation.chat.chat_id == str(channel)
    assert invocation.chat.kind == "channel"
    assert invocation.chat.language == "ko"
    assert invocation.user_id == "42"
    assert invocation.can_manage is True


async def test_a_member_without_manage_channels_cannot_manage_the_channel() -> None:
    inbox = RecordingInbox(replies={"subscribe": Reply(text="권한이 없습니다", private=True)})
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        interaction = await fake.slash("subscribe", {"category": "IT"}, permissions=MEMBER)
        answer = await fake.wait_answer(interaction)
    assert inbox.invocations[0].can_manage is False
    assert answer["content"] == "권한이 없습니다"
    assert answer["flags"] & EPHEMERAL


async def test_a_dm_is_a_user_chat_the_user_always_manages() -> None:
    inbox = RecordingInbox()
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        interaction = await fake.slash("subscribe", {"category": "IT"}, dm=True, permissions=0)
        answer = await fake.wait_answer(interaction)
    [invocation] = inbox.invocations
    assert invocation.chat.kind == "user"
    assert invocation.chat.chat_id == str(interaction.channel_id)
    assert invocation.can_manage is True
    assert answer["content"] == "did subscribe IT"


async def test_an_english_speaking_user_gets_an_english_chat() -> None:
    inbox = RecordingInbox()
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        await fake.wait_answer(await fake.slash("help", dm=True, locale="en-US"))
    assert inbox.invocations[0].chat.language == "en"


async def test_admin_commands_are_answered_privately() -> None:
    async with FakeDiscord() as fake, running_adapter(fake):
        interaction = await fake.slash("stats")
        answer = await fake.wait_answer(interaction)
    assert interaction.callback is not None
    assert interaction.callback["data"]["flags"] & EPHEMERAL
    assert answer["content"] == "did stats"


async def test_a_private_reply_to_a_public_command_is_seen_only_by_the_asker() -> None:
    inbox = RecordingInbox(replies={"latest": Reply(text="only you", private=True)})
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        interaction = await fake.slash("latest")
        answer = await fake.wait_answer(interaction)
    assert interaction.deleted_original  # the public "thinking…" is gone
    assert answer["flags"] & EPHEMERAL
    assert answer["content"] == "only you"


async def test_latest_items_arrive_as_markdown_links_with_user_text_escaped() -> None:
    items = (
        LinkItem("[속보] 반도체 *수출* 급증", "https://newsdao.kr/a", breaking=True),
        LinkItem(
            "금리 동결", "https://newsdao.kr/b", published_at=datetime(2024, 5, 1, tzinfo=UTC)
        ),
    )
    inbox = RecordingInbox(replies={"latest": Reply(text="최신 기사", items=items)})
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        answer = await fake.wait_answer(await fake.slash("latest"))
    [embed] = answer["embeds"]
    lines = embed["description"].splitlines()
    assert lines[0] == "최신 기사"
    assert lines[1] == "🔴 [\\[속보\\] 반도체 \\*수출\\* 급증](https://newsdao.kr/a)"
    assert lines[2] == "[금리 동결](https://newsdao.kr/b) · <t:1714521600:R>"


async def test_buttons_run_their_command_when_pressed_and_can_edit_the_message() -> None:
    buttons = (Button("✅ IT", "subscribe", "IT"), Button("경제", "subscribe", "경제"))
    inbox = RecordingInbox(
        replies={
            "categories": Reply(text="분야를 고르세요", buttons=buttons),
            "subscribe": Reply(text="IT 구독", buttons=buttons[1:], edit=True),
        }
    )
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        message = await fake.wait_answer(await fake.slash("categories"))
        [row] = message["components"]
        assert [b["label"] for b in row["components"]] == ["✅ IT", "경제"]
        press = await fake.press(row["components"][0]["custom_id"], message)
        edited = await fake.wait_answer(press)
    assert press.callback == {"type": 6}  # acknowledged without a "thinking" message
    assert (inbox.invocations[-1].command, inbox.invocations[-1].args) == ("subscribe", "IT")
    assert fake.requests_to("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")
    assert edited["content"] == "IT 구독"
    assert [b["label"] for b in edited["components"][0]["components"]] == ["경제"]


async def test_a_button_too_long_for_a_custom_id_still_runs_its_command() -> None:
    text = "긴 공지 " * 40
    buttons = (Button("보내기", "broadcast", f"confirm {text}"),)
    inbox = RecordingInbox(replies={"broadcast": Reply(text="미리보기", buttons=buttons)})
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        message = await fake.wait_answer(await fake.slash("broadcast", {"text": text}))
        custom_id = message["components"][0]["components"][0]["custom_id"]
        assert len(custom_id) <= 100
        await fake.wait_answer(await fake.press(custom_id, message))
    assert inbox.invocations[-1].args == f"confirm {text}".strip()


async def test_the_core_failing_still_answers_the_user_privately() -> None:
    class Broken(RecordingInbox):
        async def command(self, invocation: Invocation) -> Reply:
            raise RuntimeError("database down")

    async with FakeDiscord() as fake, running_adapter(fake, Broken()):
        answer = await fake.wait_answer(await fake.slash("latest"))
    assert answer["flags"] & EPHEMERAL
    assert "다시 시도" in answer["content"]


async def test_an_unknown_command_gets_a_private_answer_not_silence() -> None:
    async with FakeDiscord() as fake, running_adapter(fake):
        answer = await fake.wait_answer(await fake.slash("nonsense"))
    assert answer["flags"] & EPHEMERAL


@pytest.mark.parametrize(
    ("command", "option", "typed", "expected"),
    [
        ("category", "name", "i", ["IT"]),
        ("category", "name", "", ["IT", "경제", "정치"]),
        ("subscribe", "category", "", ["all", "breaking", "IT", "경제", "정치"]),
        ("subscribe", "category", "b", ["breaking"]),
        ("unsubscribe", "category", "경", ["경제"]),
        ("broadcast", "category", "정", ["정치"]),
        ("category", "name", "x" * 500, []),
    ],
)
async def test_autocomplete_offers_the_known_categories(
    command: str, option: str, typed: str, expected: list[str]
) -> None:
    async with FakeDiscord() as fake, running_adapter(fake):
        data = await fake.wait_answer(await fake.autocomplete(command, option, typed))
    assert [choice["value"] for choice in data["choices"]] == expected


async def test_autocomplete_answers_even_when_the_core_cannot_list_categories() -> None:
    class NoCategories(RecordingInbox):
        async def categories(self) -> list[str]:
            raise RuntimeError("database down")

    async with FakeDiscord() as fake, running_adapter(fake, NoCategories()):
        data = await fake.wait_answer(await fake.autocomplete("subscribe", "category", ""))
    assert [choice["value"] for choice in data["choices"]] == ["all", "breaking"]


async def test_junk_gets_answers_and_leaves_no_traceback_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeDiscord() as fake, running_adapter(fake):
        unknown = await fake.wait_answer(await fake.slash("nonsense", {"x": 1}))
        bad_count = await fake.wait_answer(await fake.slash("latest", {"count": "abc"}))
        bad_choice = await fake.wait_answer(await fake.slash("lang", {"code": "fr"}))
        completion = await fake.wait_answer(await fake.autocomplete("nonsense", "x", "?"))
    for answer in (unknown, bad_choice):
        assert answer["flags"] & EPHEMERAL
    assert bad_count["content"] == "did latest abc"  # the core answers with the usage
    assert completion == {"choices": []}
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


async def test_a_command_in_a_thread_names_the_parent_channel_and_the_thread() -> None:
    thread = FakeThread(710_005, 700_002)
    guild = FakeGuild(800_000_000_000_000_001, "Newsroom", (700_001, 700_002), threads=(thread,))
    inbox = RecordingInbox()
    async with FakeDiscord(guilds=(guild,)) as fake, running_adapter(fake, inbox):
        late = await fake.start_thread(700_001)  # opened after the bot connected
        for where in (thread.id, late.id):
            await fake.wait_answer(
                await fake.slash("subscribe", {"category": "IT"}, channel_id=where)
            )
    chats = [(i.chat.chat_id, i.chat.thread_id, i.chat.kind) for i in inbox.invocations]
    assert chats == [("700002", "710005", "channel"), ("700001", str(late.id), "channel")]


async def test_a_select_menu_option_runs_its_command() -> None:
    menu_reply = Reply(text="설정", buttons=(Button("English로", "lang", "en"),))
    inbox = RecordingInbox(replies={"settings": menu_reply})
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        message = await fake.wait_answer(await fake.slash("settings"))
        [row] = message["components"]
        [select] = row["components"]
        assert select["type"] == 3 and select["custom_id"] == "nbm:lang"
        english = next(o["value"] for o in select["options"] if o["label"] == "English")
        chosen = await fake.choose("nbm:lang", english, message)
        await fake.wait_until(lambda: len(chosen.messages) == 2)
    commands = [(i.command, i.args) for i in inbox.invocations]
    assert commands == [("settings", ""), ("categories", ""), ("lang", "en"), *commands[3:]]
    assert ("settings", "") in commands[3:], "the settings are redrawn after the choice"
