"""Webhook mode: the fake Bot API pushes updates to the adapter's own server, secret checked."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from bot.config import TelegramSettings
from bot.errors import ConfigError
from handlers.telegram_adapter import TelegramAdapter
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.fakes.telegram_harness import RecordingInbox

SECRET = "s3cret_token-42"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _settings(api_url: str, **changes: object) -> TelegramSettings:
    port = _free_port()
    values: dict[str, object] = {
        "token": SecretStr(TOKEN),
        "api_url": api_url,
        "mode": "webhook",
        "webhook_url": f"http://127.0.0.1:{port}/telegram/hook",
        "webhook_listen": f"127.0.0.1:{port}",
        "webhook_secret": SecretStr(SECRET),
    }
    return TelegramSettings(**(values | changes))


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def test_updates_arrive_by_webhook_and_forged_ones_are_refused(tg: FakeTelegram) -> None:
    settings = _settings(tg.api_url)
    inbox = RecordingInbox()
    adapter = TelegramAdapter(settings)
    await adapter.start(inbox)
    try:
        tg.push_message(901, "/latest 2")
        [answer] = await tg.wait_for_messages(901)
        forged = {"update_id": 999, "message": {"message_id": 1, "date": 0, "text": "/stats",
                  "chat": {"id": 902, "type": "private"}}}  # fmt: skip
        statuses = [await _post(settings, forged, headers) for headers in
                    ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"})]  # fmt: skip
    finally:
        await adapter.stop()

    assert tg.webhook == {
        "url": settings.webhook_url,
        "secret_token": SECRET,
        "allowed_updates": ["message", "channel_post", "callback_query", "my_chat_member"],
    }
    assert answer.text == "echo /latest 2"
    assert tg.webhook_statuses == [200]
    assert statuses == [403, 403]
    assert inbox.commands == ["latest"]


async def _post(settings: TelegramSettings, body: object, headers: dict[str, str]) -> int:
    assert settings.webhook_url is not None
    async with (
        aiohttp.ClientSession() as session,
        session.post(settings.webhook_url, json=body, headers=headers) as answer,
    ):
        return answer.status


@pytest.mark.parametrize(
    "changes",
    [
        {"webhook_secret": None},
        {"webhook_url": None},
        {"webhook_secret": SecretStr("has spaces")},
        {"webhook_listen": "nowhere"},
    ],
)
def test_webhook_mode_without_its_settings_is_refused_up_front(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        TelegramAdapter(_settings("http://127.0.0.1:1/bot", **changes))
