"""Every command's reply, through the platform-neutral command logic and a real database."""

from __future__ import annotations

import pytest

from bot.models import Chat, Invocation, Reply, SourceState
from handlers.commands import Commands, CommandsConfig
from storage import Store
from tests.factories import make_post

ADMIN = "telegram:42"


@pytest.fixture
async def commands(store: Store) -> Commands:
    await store.ingest(SourceState("newsroom"), [])
    posts = [
        make_post(1, categories=("IT",)),
        make_post(2, categories=("IT", "경제")),
        make_post(3, categories=("Sports",), breaking=True),
    ]
    await store.ingest(SourceState("newsroom"), posts)
    return Commands(store, CommandsConfig(admins=frozenset({ADMIN})))


async def run(
    commands: Commands,
    text: str,
    *,
    chat: Chat | None = None,
    user: str = "7",
    can_manage: bool = True,
) -> Reply:
    command, _, args = text.lstrip("/").partition(" ")
    chat = chat or Chat("telegram", "100", language="en")
    return await commands.command(
        Invocation(chat=chat, command=command, args=args, user_id=user, can_manage=can_manage)
    )


async def test_start_explains_and_offers_category_buttons(commands: Commands) -> None:
    reply = await run(commands, "/start")
    assert "subscribe" in reply.text
    assert [b.label for b in reply.buttons] == ["IT", "Sports", "경제"]


async def test_help_lists_every_command(commands: Commands) -> None:
    reply = await run(commands, "/help")
    for name in ("/latest", "/category", "/categories", "/subscribe", "/unsubscribe", "/lang"):
        assert name in reply.text


async def test_unknown_command_gets_the_help(commands: Commands) -> None:
    reply = await run(commands, "/frobnicate")
    assert "Unknown command: /frobnicate" in reply.text and "/latest" in reply.text


async def test_latest_lists_newest_first_and_checks_its_argument(commands: Commands) -> None:
    reply = await run(commands, "/latest 2")
    assert [i.title for i in reply.items] == ["Headline 3", "Headline 2"]
    assert reply.items[0].breaking
    assert len((await run(commands, "/latest")).items) == 3
    assert "Usage: /latest" in (await run(commands, "/latest 99")).text
    assert "Usage: /latest" in (await run(commands, "/latest abc")).text


async def test_category_matches_case_insensitively(commands: Commands) -> None:
    reply = await run(commands, "/category it")
    assert reply.text == "Latest in IT"
    assert [i.title for i in reply.items] == ["Headline 2", "Headline 1"]


async def test_unknown_category_lists_the_known_ones(commands: Commands) -> None:
    reply = await run(commands, "/category Weather")
    assert reply.text == "There is no category 'Weather'. Known categories: IT, Sports, 경제"


async def test_category_without_a_name_lists_categories(commands: Commands) -> None:
    reply = await run(commands, "/category")
    assert "IT — 2 posts" in reply.text


async def test_subscribe_then_categories_show_the_mark(commands: Commands) -> None:
    assert (await run(commands, "/subscribe it, 경제")).text == "Subscribed to: IT, 경제"
    reply = await run(commands, "/categories")
    assert "✅ IT — 2 posts" in reply.text
    assert [b.label for b in reply.buttons] == ["✅ IT", "Sports", "✅ 경제"]
    assert (await run(commands, "/subscriptions")).text == "This chat's subscriptions: IT, 경제"


async def test_subscribing_to_a_category_without_posts_is_allowed_and_said(
    commands: Commands,
) -> None:
    reply = await run(commands, "/subscribe Weather")
    assert reply.text.splitlines() == [
        "Subscribed to: Weather",
        "No posts in these categories yet: Weather (you will get them when they come). "
        "Known categories: IT, Sports, 경제",
    ]


async def test_subscribe_without_arguments_shows_usage(commands: Commands) -> None:
    reply = await run(commands, "/subscribe")
    assert reply.text.startswith("Usage: /subscribe")


async def test_unsubscribe_says_what_changed(commands: Commands) -> None:
    await run(commands, "/subscribe IT all")
    reply = await run(commands, "/unsubscribe it Sports")
    assert reply.text.splitlines() == ["Unsubscribed from: IT", "Not subscribed to: Sports"]
    assert (await run(commands, "/unsubscribe all")).text == "Unsubscribed from: all"


async def test_a_button_toggles_and_redraws_in_place(commands: Commands) -> None:
    reply = await run(commands, "/toggle Sports")
    assert reply.edit and "✅ Sports" in [b.label for b in reply.buttons]
    reply = await run(commands, "/toggle Sports")
    assert "Sports" in [b.label for b in reply.buttons]


async def test_lang_switches_the_replies(commands: Commands) -> None:
    chat = Chat("telegram", "555", language="ko")
    assert (await run(commands, "/lang en", chat=chat)).text == "I will answer in English now."
    assert (await run(commands, "/subscriptions", chat=chat)).text.startswith("No subscriptions")
    assert "사용법" in (await run(commands, "/lang xx", chat=Chat("telegram", "556"))).text


async def test_control_characters_and_huge_arguments_are_refused(commands: Commands) -> None:
    assert "control characters" in (await run(commands, "/subscribe IT\x00")).text
    assert "too long" in (await run(commands, "/subscribe " + "x" * 2000)).text
    assert "too long" in (await run(commands, "/subscribe " + "x" * 100)).text


async def test_without_manage_rights_subscriptions_do_not_change(commands: Commands) -> None:
    reply = await run(commands, "/subscribe IT", can_manage=False)
    assert reply.text == "Only this chat's admins can change its subscriptions and settings."
    assert (await run(commands, "/subscriptions")).text.startswith("No subscriptions")


async def test_non_admin_broadcast_is_refused_and_nothing_queued(
    commands: Commands, store: Store
) -> None:
    reply = await run(commands, "/broadcast hello", user="7")
    assert reply.text == "Only admins can use that command."
    assert await store.find_broadcast(1) is None


async def test_broadcast_previews_then_queues_once(commands: Commands, store: Store) -> None:
    await run(commands, "/subscribe IT", chat=Chat("telegram", "1"))
    await run(commands, "/subscribe all", chat=Chat("telegram", "2"))
    await run(commands, "/subscribe Sports", chat=Chat("telegram", "3"))
    preview = await run(commands, "/broadcast #IT 서버 점검 안내", user="42")
    assert preview.text.startswith("Broadcast #1 preview — goes to 2 chats")
    assert "서버 점검 안내" in preview.text
    send, cancel = preview.buttons
    assert (send.command, send.args, cancel.command) == ("broadcast_send", "1", "broadcast_cancel")
    queued = await run(commands, f"/{send.command} {send.args}", user="42")
    assert queued.text == "Broadcast #1 is going out to 2 chats." and queued.edit
    again = await run(commands, f"/{send.command} {send.args}", user="42")
    assert again.text == "Broadcast #1 was already sent or cancelled."


async def test_stats_for_admins(commands: Commands) -> None:
    await run(commands, "/subscribe IT")
    reply = await run(commands, "/stats", user="42")
    assert "Posts today: 3" in reply.text and "IT 1" in reply.text
