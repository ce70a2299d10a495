"""The fake Discord itself, driven by discord.py's own HTTP client: what tests rely on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest

from handlers.discord_adapter import point_discord_at
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.discord_harness import settings_for

CHANNEL = 700_001


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    point_discord_at(settings_for(fake))
    bot = discord.Client(intents=discord.Intents.default())
    await bot.login(fake.token)
    try:
        yield bot
    finally:
        await bot.close()


async def test_messages_can_be_posted_edited_and_deleted(
    fake: FakeDiscord, client: discord.Client
) -> None:
    channel = client.get_partial_messageable(CHANNEL)
    message = await channel.send("첫 줄")
    await message.edit(content="고친 줄")
    [stored] = fake.messages[CHANNEL]
    assert stored["content"] == "고친 줄" and stored["edited_timestamp"] is not None
    await message.delete()
    assert fake.messages[CHANNEL] == []


async def test_a_dm_channel_is_opened_for_a_user(fake: FakeDiscord, client: discord.Client) -> None:
    dm = await client.http.start_private_message(600_000_001)
    assert dm["type"] == 1
    assert fake.requests_to("POST", "/users/@me/channels")[0].body == {"recipient_id": 600_000_001}


async def test_requests_carry_the_bot_token_and_errors_are_discords_json(
    fake: FakeDiscord, client: discord.Client
) -> None:
    fake.fail("POST", rf"/channels/{CHANNEL}/messages", 404, code=10003, message="Unknown Channel")
    with pytest.raises(discord.NotFound) as missing:
        await client.get_partial_messageable(CHANNEL).send("x")
    assert (missing.value.status, missing.value.code) == (404, 10003)
    assert all(r.authorization == f"Bot {fake.token}" for r in fake.requests)


async def test_bodies_discord_would_refuse_are_refused(
    fake: FakeDiscord, client: discord.Client
) -> None:
    channel = client.get_partial_messageable(CHANNEL)
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("가" * 2001)
    assert too_long.value.code == 50035
    view = discord.ui.View()
    for _ in range(2):
        view.add_item(discord.ui.Button(label="같은", custom_id="same"))
    with pytest.raises(discord.HTTPException, match="unique"):
        await channel.send("버튼", view=view)
    assert CHANNEL not in fake.messages
