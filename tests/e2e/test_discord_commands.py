"""Slash commands reach the core with the right command and arguments, and its reply arrives."""

from __future__ import annotations

from tests.fakes.discord_api import FakeDiscord, RecordingInbox, running_adapter


async def test_latest_reaches_the_core_and_its_reply_arrives_as_the_followup() -> None:
    inbox = RecordingInbox()
    async with FakeDiscord() as fake, running_adapter(fake, inbox):
        interaction = await fake.slash("latest", {"count": 3})
        answer = await fake.wait_answer(interaction)
    assert interaction.callback is not None and interaction.callback["type"] == 5
    assert answer["content"] == "did latest 3"
    [invocation] = inbox.invocations
    assert invocation.command == "latest" and invocation.args == "3"
