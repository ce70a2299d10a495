"""CPU per sendMessage for python-telegram-bot's transports, against the fake Bot API.

Run: `.venv/bin/python -m bench.telegram_transport [messages] [concurrency] [rounds]`

The fake server runs in a child process (limits off) so only the client's CPU is
counted. Compares PTB's default httpx transport and newsbot's own transport, both
through `Bot.send_message` (which builds a `Message` from every answer), with
`handlers.telegram_request.call` over that transport (replies and edits),
`call_encoded` (alerts: the body encoded once per alert, only the chat added per
message), and `TelegramAdapter.send` itself (rendering and encoding cached per alert).
The modes take turns for several rounds; the median per mode is printed.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import SecretStr
from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import TelegramSettings
from bot.models import Alert, Chat
from handlers.telegram_adapter import TelegramAdapter
from handlers.telegram_request import TelegramRequest, call, call_encoded
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.fakes.telegram_harness import RecordingInbox

TEXT = (
    "🔴 속보\n<b>제목 &amp; 헤드라인</b>\n본문 요약 " * 3
    + '\n<a href="https://newsdao.kr/a">보기</a>'
)
Sender = Callable[[Bot, int], Awaitable[object]]
ADAPTER = "TelegramAdapter.send (cached body + call_encoded)"
ALERT = Alert(
    headline="반도체 수출 사상 최대 <속보> & 전망",
    excerpt="산업통상자원부는 29일 반도체 수출이 전년보다 크게 늘었다고 밝혔다. " * 3,
    link="https://newsdao.kr/news/2026/11/29/semiconductor.html",
    categories=("IT", "경제"),
    breaking=True,
)


def _serve(ready: Any) -> None:
    async def main() -> None:
        async with FakeTelegram(limits=False) as fake:
            ready.put(fake.api_url)
            await asyncio.Event().wait()

    asyncio.run(main())


def _via_bot(bot: Bot, i: int) -> Awaitable[object]:
    return bot.send_message(i + 1, TEXT, parse_mode="HTML")


def _via_call(bot: Bot, i: int) -> Awaitable[object]:
    params = {"chat_id": i + 1, "text": TEXT, "parse_mode": "HTML"}
    return call(bot.request, f"{bot.base_url}/sendMessage", params)


#: The text's part of the body, encoded once (what `AlertBodies` keeps per alert).
_TAIL = json.dumps({"text": TEXT, "parse_mode": "HTML"}, ensure_ascii=False).encode()[1:]


def _via_encoded(bot: Bot, i: int) -> Awaitable[object]:
    body = json.dumps({"chat_id": i + 1}).encode()[:-1] + b"," + _TAIL
    assert isinstance(bot.request, TelegramRequest)
    return call_encoded(bot.request, f"{bot.base_url}/sendMessage", body)


async def _measure(request: BaseRequest, send: Sender, api_url: str, n: int, width: int) -> float:
    """CPU seconds per message for `n` sends, `width` at a time."""
    async with Bot(TOKEN, base_url=api_url, request=request) as bot:
        gate = asyncio.Semaphore(width)

        async def one(i: int) -> None:
            async with gate:
                await send(bot, i)

        await asyncio.gather(*(one(i) for i in range(width)))  # fill the pool first
        cpu = time.process_time()
        await asyncio.gather(*(one(i) for i in range(n)))
        return (time.process_time() - cpu) / n


async def _measure_adapter(api_url: str, n: int, width: int) -> float:
    """CPU seconds per `TelegramAdapter.send`: rendering the alert plus `call`."""
    settings = TelegramSettings(token=SecretStr(TOKEN), api_url=api_url)
    adapter = TelegramAdapter(settings, poll_timeout=30)
    await adapter.start(RecordingInbox())
    try:
        gate = asyncio.Semaphore(width)

        async def one(i: int) -> None:
            async with gate:
                await adapter.send(Chat("telegram", str(i + 1)), ALERT)

        await asyncio.gather(*(one(i) for i in range(width)))
        cpu = time.process_time()
        await asyncio.gather(*(one(i) for i in range(n)))
        return (time.process_time() - cpu) / n
    finally:
        await adapter.stop()


async def main(n: int, width: int, rounds: int) -> None:
    spawn = multiprocessing.get_context("spawn")
    ready: Any = spawn.Queue()
    server = spawn.Process(target=_serve, args=(ready,))
    server.start()
    modes: dict[str, tuple[Callable[[], BaseRequest], Sender]] = {
        "httpx + Bot.send_message (PTB default)": (
            lambda: HTTPXRequest(connection_pool_size=width, pool_timeout=10.0),
            _via_bot,
        ),
        "newsbot http + Bot.send_message": (TelegramRequest, _via_bot),
        "newsbot http + call (replies, edits)": (TelegramRequest, _via_call),
        "newsbot http + call_encoded (alerts)": (TelegramRequest, _via_encoded),
    }
    results: dict[str, list[float]] = {name: [] for name in (*modes, ADAPTER)}
    try:
        api_url = await asyncio.to_thread(ready.get, True, 30)
        for _ in range(rounds):
            for name, (request, send) in modes.items():
                results[name].append(await _measure(request(), send, api_url, n, width))
            results[ADAPTER].append(await _measure_adapter(api_url, n, width))
    finally:
        server.terminate()
        server.join()
    print(f"{n} messages x {rounds} rounds, {width} in flight; median CPU per message:")
    for name, values in results.items():
        print(f"  {name:42} {statistics.median(values) * 1000:6.3f} ms")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:4]]
    asyncio.run(main(*(args + [2000, 64, 5][len(args) :])))
