"""`newsbot run` with a Telegram token, as an operator starts it, against the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.fakes.telegram_api import TOKEN, FakeTelegram

SECRET = TOKEN.split(":", 1)[1]
POST = """---
title: "속보 <단독> 반도체 & AI 투자 사상 최대"
date: {date}
categories:
  - IT
excerpt: 정부가 반도체 투자 계획을 발표했다.
---
<p>본문</p>
"""


def _config(tmp_path: Path, posts: Path) -> Path:
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'database_url = "sqlite+aiosqlite:///{tmp_path / "bot.db"}"\n'
        "[[sources]]\n"
        'name = "newsdao"\n'
        f'path = "{posts}"\n'
        'site_url = "https://newsdao.kr"\n'
        "interval = 1\n"
    )
    return config


async def _start(config: Path, api_url: str) -> asyncio.subprocess.Process:
    environ = {**os.environ, "NEWSBOT_TELEGRAM_TOKEN": TOKEN, "NEWSBOT_TELEGRAM_API_URL": api_url}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "-v", "run", "--config", str(config), env=environ,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _until_first_fetch(tg: FakeTelegram, chat_id: int) -> None:
    """Ask /latest until it lists the post that was there before the start.

    A post written before the source's first fetch is recorded without an alert.
    """
    for _ in range(30):
        count = len(tg.messages(chat_id))
        tg.push_message(chat_id, "/latest 1")
        if (await tg.wait_for_messages(chat_id, count + 1, within=30))[-1].links:
            return
    raise AssertionError("the source was never fetched")


async def test_run_answers_commands_delivers_a_new_post_and_stops_cleanly(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    old = POST.format(date="2026-01-02 09:00:00 +0900").replace("속보 <단독>", "지난 기사:")
    (posts / "2026-01-02-old.md").write_text(old, encoding="utf-8")
    async with FakeTelegram() as tg:
        process = await _start(_config(tmp_path, posts), tg.api_url)
        # Read its output all along: a full pipe would block its logging, and its event loop.
        output = asyncio.create_task(process.communicate())
        try:
            await tg.wait_until(lambda: tg.polls_waiting >= 1, within=60)
            tg.push_message(42, "/subscribe all", language_code="en")
            [answer] = await tg.wait_for_messages(42, 1, within=30)
            await _until_first_fetch(tg, 42)
            # Dated now: an alert for a post hours old would be dropped as stale.
            now = datetime.now(UTC)
            post = POST.format(date=now.strftime("%Y-%m-%d %H:%M:%S +0000"))
            seen = len(tg.messages(42))
            (posts / f"{now:%Y-%m-%d}-chips.md").write_text(post, encoding="utf-8")
            alert = (await tg.wait_for_messages(42, seen + 1, within=30))[-1]
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(output, 60)

    assert answer.text == "Subscribed to: all"
    assert alert.spans("bold") == ["속보 <단독> 반도체 & AI 투자 사상 최대"]
    assert "View on newsdao.kr" in alert.text
    assert process.returncode == 0
    # At DEBUG (-v) python-telegram-bot logs its base URL and every call it makes.
    assert b"telegram" in err and SECRET.encode() not in out + err
