"""Starting, stopping, syncing slash commands, and keeping the token out of every log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bot.config import DiscordSettings
from bot.errors import ConfigError
from bot.logs import setup_logging
from bot.models import Alert, Chat, Reply
from handlers.base import Adapter
from handlers.discord_adapter import DiscordAdapter
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.discord_harness import RecordingInbox, running_adapter, settings_for
from tests.fakes.discord_payloads import APPLICATION_ID, MANAGE_CHANNELS, FakeGuild

GLOBAL_COMMANDS = rf"/applications/{APPLICATION_ID}/commands"
COMMAND_NAMES = {
    "start",
    "help",
    "latest",
    "category",
    "categories",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "lang",
    "broadcast",
    "recall",
    "stats",
    "filter",
    "quiet",
    "digest",
    "settings",
    "sources",
    "addsource",
    "removesource",
    "pausesource",
    "resumesource",
}


def test_it_is_an_adapter_with_discords_limits() -> None:
    adapter: Adapter = DiscordAdapter(DiscordSettings(token=SecretStr("t")), admins=())
    assert adapter.platform == "discord"
    assert adapter.limits.text_length == 2000 and adapter.limits.headline_length == 256
    assert adapter.limits.per_second == 40.0  # below Discord's 50 requests/s


def test_without_a_token_there_is_no_adapter() -> None:
    with pytest.raises(ConfigError, match=r"discord\.token"):
        DiscordAdapter(DiscordSettings(), admins=())


async def test_start_returns_once_ready_and_stop_is_idempotent() -> None:
    async with FakeDiscord() as fake:
        adapter = DiscordAdapter(settings_for(fake), admins=(), guild_ready_timeout=0.05)
        assert not adapter.connected
        await adapter.start(RecordingInbox())
        assert fake.identified == 1
        assert adapter.connected
        await adapter.stop()
        assert not adapter.connected
        await adapter.stop()


async def test_a_refused_token_is_a_config_error() -> None:
    async with FakeDiscord() as fake:
        settings = settings_for(fake).model_copy(update={"token": SecretStr("a.wrong.token")})
        adapter = DiscordAdapter(settings, admins=())
        with pytest.raises(ConfigError, match="refused the bot token") as refused:
            await adapter.start(RecordingInbox())
        assert fake.identified == 0
    chain = [refused.value, refused.value.__cause__]
    assert all("a.wrong.token" not in str(error) for error in chain)


async def test_commands_are_registered_with_their_exact_names_and_options() -> None:
    async with FakeDiscord() as fake, running_adapter(fake):
        commands = {c["name"]: c for c in fake.commands[None]}
    assert set(commands) == COMMAND_NAMES
    options = {name: [o["name"] for o in c.get("options", [])] for name, c in commands.items()}
    assert options["latest"] == ["count"]
    assert options["category"] == ["name"]
    assert options["subscribe"] == options["unsubscribe"] == ["category"]
    assert options["lang"] == ["code"]
    assert options["broadcast"] == ["text", "category"]
    lang_choices = commands["lang"]["options"][0]["choices"]
    assert [c["value"] for c in lang_choices] == ["ko", "en"]
    assert commands["category"]["options"][0]["autocomplete"] is True
    assert commands["subscribe"]["options"][0]["autocomplete"] is True
    manage_channels = str(MANAGE_CHANNELS)
    assert commands["subscribe"]["default_member_permissions"] == manage_channels
    assert commands["unsubscribe"]["default_member_permissions"] == manage_channels
    assert commands["latest"]["default_member_permissions"] is None
    assert commands["latest"]["description"] == "Latest posts"
    assert commands["latest"]["description_localizations"] == {"ko": "최신 기사"}
    assert [c["name_localizations"] for c in lang_choices] == [{"ko": "한국어"}, {"ko": "영어"}]


async def test_reading_habit_and_source_commands_have_their_exact_options() -> None:
    async with FakeDiscord() as fake, running_adapter(fake):
        commands = {c["name"]: c for c in fake.commands[None]}
    options = {name: [o["name"] for o in c.get("options", [])] for name, c in commands.items()}
    assert options["filter"] == ["action", "word"]
    assert options["quiet"] == ["hours", "all"]
    assert options["digest"] == ["time"]
    assert options["settings"] == options["sources"] == []
    assert options["addsource"] == ["url", "categories"]
    for name in ("removesource", "pausesource", "resumesource"):
        assert options[name] == ["name"]
    actions = commands["filter"]["options"][0]["choices"]
    assert [c["value"] for c in actions] == ["add", "exclude", "remove", "list", "clear"]
    manage_channels = str(MANAGE_CHANNELS)
    for name in ("filter", "quiet", "digest"):
        assert commands[name]["default_member_permissions"] == manage_channels
    assert commands["settings"]["default_member_permissions"] is None


async def test_commands_are_synced_only_when_their_definitions_changed() -> None:
    async with FakeDiscord() as fake:
        async with running_adapter(fake):
            pass
        async with running_adapter(fake):
            pass
        fake.commands[None][0]["description"] = "an old description"
        async with running_adapter(fake):
            pass
    assert len(fake.requests_to("GET", GLOBAL_COMMANDS)) == 3
    assert len(fake.requests_to("PUT", GLOBAL_COMMANDS)) == 2


async def test_with_a_guild_configured_commands_go_to_that_guild_only() -> None:
    async with FakeDiscord() as fake:
        guild = fake.guilds[0].id
        async with running_adapter(fake, guild_id=guild):
            pass
    assert {c["name"] for c in fake.commands[guild]} == COMMAND_NAMES
    assert None not in fake.commands
    assert not fake.requests_to("PUT", GLOBAL_COMMANDS)


async def test_a_failed_sync_does_not_stop_the_bot() -> None:
    async with FakeDiscord() as fake:
        fake.fail("PUT", GLOBAL_COMMANDS, 403, code=50001)
        async with running_adapter(fake) as adapter:
            assert adapter.limits.per_second == 40.0
        assert fake.identified == 1


@pytest.fixture
def debug_logging(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


async def test_the_token_is_in_no_log_line_even_at_debug(
    debug_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    chat = Chat(platform="discord", chat_id="700001", kind="channel")
    alert = Alert("제목", "본문", "https://newsdao.kr/a", ("IT",), True)
    async with FakeDiscord() as fake:
        setup_logging([fake.token], level=logging.DEBUG)
        async with running_adapter(fake) as adapter:
            await fake.wait_answer(await fake.slash("latest", {"count": 2}))
            await adapter.send(chat, alert)
            fake.fail("POST", r"/channels/\d+/messages", 403, code=50013)
            await adapter.send(chat, alert)
    logged = capsys.readouterr().err
    assert "logging in using static token" in logged
    assert "WebSocket Event" in logged  # discord.py's DEBUG lines were on
    assert fake.token not in logged
    assert "[REDACTED]" not in logged  # nothing even needed redacting


async def test_the_gateway_heartbeat_is_acknowledged() -> None:
    async with FakeDiscord() as fake, running_adapter(fake):
        assert fake.heartbeats >= 1  # discord.py beats once right after HELLO


async def test_a_server_that_adds_the_bot_is_welcomed_in_its_system_channel() -> None:
    inbox = RecordingInbox(welcome=Reply(text="안녕하세요! /subscribe 로 구독하세요."))
    newcomer = FakeGuild(800_000_000_000_000_009, "새 서버", (710_001, 710_002), "ko", 710_002)
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        await fake.join_guild(newcomer)
        [welcome] = await fake.wait_messages(710_002, 1)
    assert welcome["content"] == "안녕하세요! /subscribe 로 구독하세요."
    assert welcome["allowed_mentions"] == {"parse": []}
    [chat] = inbox.added
    assert (chat.chat_id, chat.kind, chat.language) == ("710002", "channel", "ko")


async def test_a_server_that_removes_the_bot_loses_every_channel() -> None:
    inbox = RecordingInbox()
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        guild = fake.guilds[0]
        await fake.leave_guild(guild)
        await inbox.wait_until(lambda: len(inbox.removed) == len(guild.channels))
    assert {chat.chat_id for chat in inbox.removed} == {str(c) for c in guild.channels}


async def test_a_deleted_channel_is_removed() -> None:
    inbox = RecordingInbox()
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        await fake.delete_channel(fake.guilds[0].channels[1])
        await inbox.wait_until(lambda: bool(inbox.removed))
    assert [chat.chat_id for chat in inbox.removed] == [str(fake.guilds[0].channels[1])]


async def test_after_discord_asks_to_reconnect_the_session_resumes_and_commands_still_work() -> (
    None
):
    inbox = RecordingInbox()
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        await fake.reconnect()
        await fake.wait_until(lambda: fake.resumed == 1, what="a RESUME")
        answer = await fake.wait_answer(await fake.slash("latest"))
    assert answer["content"] == "did latest"
    assert fake.identified == 1  # resumed, not identified afresh


async def test_a_stopped_adapter_starts_again() -> None:
    inbox = RecordingInbox()
    async with FakeDiscord() as fake:
        adapter = DiscordAdapter(settings_for(fake), admins=(), guild_ready_timeout=0.05)
        await adapter.start(inbox)
        await adapter.stop()
        await adapter.start(inbox)
        try:
            answer = await fake.wait_answer(await fake.slash("help"))
        finally:
            await adapter.stop()
    assert answer["content"] == "did help"
    assert fake.identified == 2
