"""Push to first send: `POST /api/posts` → the alert's sendMessage at a fake Bot API.

Run: `python bench/ingest_latency.py` (or `python -m bench.ingest_latency`); `--json`
prints the report.

The real pieces `App` wires together: the push API (`bot.api`), a Store on a SQLite
file, the `Dispatcher` woken by the push, the `TelegramAdapter` (python-telegram-bot
over aiohttp) and the fake Bot API (tests/fakes/telegram_api.py, limits on), all in
this process's event loop. 200 posts are pushed one after another, each in its own
category with one subscribed chat, so no rate limit delays them; the latency of each
is from just before the POST is written to the moment the fake receives the
sendMessage. Goal (issue 7): p99 ≤ 100 ms.

The API allows 120 requests a minute per client address; the bench pushes from four
loopback addresses (127.0.0.1–4), as four newsroom systems would, to stay under it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from pydantic import SecretStr

from bench.fanout import TimedFake, _figure, _Nobody
from bot.api import build_api, serve
from bot.config import DeliverySettings, TelegramSettings
from bot.delivery import Dispatcher
from bot.metrics import Metrics
from bot.models import Chat
from handlers.telegram_adapter import TelegramAdapter
from storage import Store, open_store
from storage.migrate import upgrade
from tests.fakes.telegram_api import TOKEN

GOAL_P99_MS = 100.0
API_TOKEN = "bench-push-token"
CLIENTS = 4
FIRST_CHAT = 20_000_000


async def subscribe_one_chat_per_category(store: Store, count: int) -> None:
    for n in range(count):
        chat = await store.ensure_chat(Chat("telegram", str(FIRST_CHAT + n)))
        await store.subscribe(chat, [f"cat{n}"])


@asynccontextmanager
async def running_bot(store: Store, fake: TimedFake, port: int) -> AsyncIterator[None]:
    """API + dispatcher + adapter, as `App` runs them; stopped on the way out."""
    settings = TelegramSettings(token=SecretStr(TOKEN), api_url=fake.api_url)
    adapter = TelegramAdapter(settings, poll_timeout=30)
    await adapter.start(_Nobody())
    dispatcher = Dispatcher(store, [adapter], DeliverySettings(), owner="bench")
    app = build_api(store, token=API_TOKEN, metrics=Metrics(), health=_healthy,
                    on_planned=dispatcher.wake)  # fmt: skip
    runner = await serve(app, f"127.0.0.1:{port}")
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task
        await runner.cleanup()
        await adapter.stop()


async def _healthy() -> dict[str, bool]:
    return {"bench": True}


async def push_all(fake: TimedFake, port: int, count: int) -> list[float]:
    """Push `count` posts one at a time; each one's push → first send, in seconds."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with AsyncExitStack() as stack:
        sessions = [
            await stack.enter_async_context(aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(local_addr=(f"127.0.0.{k + 1}", 0)),
                headers=headers))
            for k in range(CLIENTS)
        ]  # fmt: skip
        for n in range(count):
            body = {"title": f"속보 {n}: 반도체 수출 사상 최대", "link": f"https://newsdao.kr/n/{n}",
                    "excerpt": "산업통상자원부 발표. " * 5, "categories": [f"cat{n}"],
                    "breaking": True}  # fmt: skip
            started = time.monotonic()
            async with sessions[n % CLIENTS].post(
                f"http://127.0.0.1:{port}/api/posts", json=body
            ) as answer:
                assert answer.status == 202, (answer.status, await answer.text())
            await fake.wait_until(arrived(fake, n + 1), within=10)
            latencies.append(fake.arrivals[n] - started)
    return latencies


def arrived(fake: TimedFake, count: int) -> Callable[[], bool]:
    return lambda: len(fake.arrivals) >= count


async def measure(count: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="newsbot-ingest-") as folder:
        async with open_store(f"sqlite+aiosqlite:///{Path(folder) / 'ingest.db'}") as store:
            await upgrade(store.engine)
            await subscribe_one_chat_per_category(store, count)
            fake = TimedFake()
            fake.arrivals = []
            async with fake:
                port = _free_port()
                async with running_bot(store, fake, port):
                    return await push_all(fake, port, count)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Push 200 posts; returns `{"bench", "figures", "details"}` (see bench/__main__.py)."""
    parser = argparse.ArgumentParser(prog="bench/ingest_latency.py")
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    latencies = [s * 1000 for s in asyncio.run(measure(args.posts))]
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    note = f"{args.posts} posts pushed one at a time, SQLite, one chat each"
    found = [
        _figure("push → first send p50", p50, "ms", None, "lower", None, note),
        _figure("push → first send p99", p99, "ms", GOAL_P99_MS, "lower", None, note),
    ]
    details = {"posts": args.posts, "mean_ms": round(statistics.mean(latencies), 2),
               "max_ms": round(max(latencies), 2)}  # fmt: skip
    result = {"bench": "ingest_latency", "figures": found, "details": details}
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(f"push → first send over {args.posts} posts: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
              f"(goal ≤ {GOAL_P99_MS:g} ms), max {max(latencies):.1f} ms")  # fmt: skip
    return result


if __name__ == "__main__":
    main()
