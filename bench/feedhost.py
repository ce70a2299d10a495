"""A local feed server in its own process, for the polling and memory benches.

Kept apart from bench/common.py so the server process imports aiohttp and nothing
of newsbot: it starts fast, and its CPU never counts as the bot's.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KST = timezone(timedelta(hours=9))
CATEGORIES = ("정치", "경제", "사회", "IT", "국제", "문화", "스포츠")


def feed_body(number: int, generation: int, items: int = 10) -> bytes:
    """A small Korean RSS feed: `items` items, newest (this generation's) first."""
    category = CATEGORIES[number % len(CATEGORIES)]
    when = datetime(2026, 11, 29, 9, 0, tzinfo=KST)
    parts = []
    for age in range(items):
        serial = generation - age + items
        stamp = format_datetime(when + timedelta(minutes=serial))
        parts.append(
            f"<item><guid>feed{number}-{serial}</guid>"
            f"<title>[{category}] 반도체 수출 {serial}개월 연속 증가 소식 {number}</title>"
            f"<link>https://news{number}.example.kr/article/{serial}</link>"
            f"<category>{category}</category>"
            f"<description>정부는 오늘 반도체 수출이 늘었다고 발표했다. {serial}</description>"
            f"<pubDate>{stamp}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>뉴스 {number}</title><link>https://news{number}.example.kr/</link>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


async def serve(changing: int) -> None:
    """The feed host's process: print the port, serve until standard input closes."""
    from aiohttp import web

    generations: dict[int, int] = {}

    async def handle(request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        conditional = "If-None-Match" in request.headers
        # A changing feed has a new item each time it is asked again.
        if conditional and number < changing:
            generations[number] = generations.get(number, 0) + 1
        etag = f'"{number}-{generations.get(number, 0)}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        body = feed_body(number, generations.get(number, 0))
        headers = {"ETag": etag, "Content-Type": "application/rss+xml; charset=utf-8"}
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/feed/{number}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    # End of file on stdin (the bench is done, or gone) stops the server.
    await asyncio.to_thread(sys.stdin.buffer.read)
    await runner.cleanup()


@contextmanager
def feed_host(changing: int) -> Iterator[str]:
    """A feed server in its own process; yields its base URL (`{base}/feed/{n}`).

    Feeds numbered below `changing` gain a new item on every conditional request;
    the others answer 304 to their ETag.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.feedhost", "serve", str(changing)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    try:
        port = int(process.stdout.readline() or b"0")
        if not port:
            raise RuntimeError("the feed host did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    asyncio.run(serve(int(sys.argv[2])))
