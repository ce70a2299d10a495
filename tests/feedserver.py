"""A local HTTP server that serves feeds the test can change, and counts what it was asked."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime

from aiohttp import web

from bot.normalize import SEOUL
from tests.waiting import Changes


@dataclass
class Feed:
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    #: Answer with this status instead of the body (500, 404, …).
    status: int = 200
    #: While set, requests wait for `release` before answering.
    hang: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)
    requests: int = 0
    conditional: int = 0
    not_modified: int = 0
    in_flight: int = 0

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


class FeedServer:
    def __init__(self) -> None:
        self.feeds: dict[str, Feed] = {}
        self.base_url = ""
        self.changes = Changes()

    def url(self, name: str) -> str:
        self.feeds.setdefault(name, Feed())
        return f"{self.base_url}/{name}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        feed = self.feeds.get(request.match_info["name"])
        if feed is None:
            return web.Response(status=404)
        feed.requests += 1
        feed.in_flight += 1
        self.changes.mark()
        try:
            if feed.hang:
                await feed.release.wait()
            return self._answer(feed, request)
        finally:
            feed.in_flight -= 1
            self.changes.mark()

    def _answer(self, feed: Feed, request: web.Request) -> web.Response:
        if feed.status != 200:
            return web.Response(status=feed.status, text="server error")
        if "If-None-Match" in request.headers:
            feed.conditional += 1
            if request.headers["If-None-Match"] == feed.etag:
                feed.not_modified += 1
                return web.Response(status=304, headers={"ETag": feed.etag})
        headers = {"ETag": feed.etag, "Content-Type": feed.content_type}
        return web.Response(body=feed.body, headers=headers)


@asynccontextmanager
async def feed_server() -> AsyncIterator[FeedServer]:
    server = FeedServer()
    app = web.Application()
    app.router.add_get("/{name}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.base_url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        for feed in server.feeds.values():
            feed.release.set()
        await runner.cleanup()


def rss(*items: tuple[str, str, str], title: str = "뉴스다오") -> bytes:
    """An RSS 2.0 feed of (guid, title, category) items, newest first, dated now (KST)."""
    entries = "".join(
        f"<item><guid>{guid}</guid><title>{headline}</title>"
        f"<link>https://newsdao.kr/{guid}.html</link><category>{category}</category>"
        f"<description>{headline} 본문 요약입니다.</description>"
        f"<pubDate>{format_datetime(datetime.now(SEOUL))}</pubDate></item>"
        for guid, headline, category in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://newsdao.kr/</link>{entries}</channel></rss>"
    ).encode()
