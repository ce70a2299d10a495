"""HTTP sources against a local server: gzip, caps, redirects, timeouts, validators."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from bot.config import SourceSettings
from bot.errors import FetchError, ParseError
from bot.models import SourceState
from bot.sources import HttpSource
from tests.feedserver import rss

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[dict[str, Handler]], Awaitable[str]]]:
    runners: list[web.AppRunner] = []

    async def start(routes: dict[str, Handler]) -> str:
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def fetch(url: str, state: SourceState | None = None, **settings: object):
    async with aiohttp.ClientSession() as session:
        source = HttpSource(SourceSettings(name="s", url=url, **settings), session)
        return await source.fetch(state or SourceState("s"))


async def test_a_gzipped_feed_is_read(serve) -> None:
    async def handler(request: web.Request) -> web.Response:
        assert "gzip" in request.headers["Accept-Encoding"]
        body = gzip.compress(rss(("a1", "압축된 기사", "IT")))
        return web.Response(body=body, headers={"Content-Encoding": "gzip"})

    base = await serve({"/feed": handler})
    result = await fetch(base + "/feed")
    assert [e.title for e in result.entries] == ["압축된 기사"]


async def test_validators_are_sent_back(serve) -> None:
    seen: list[tuple[str | None, str | None]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(
            (request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since"))
        )
        return web.Response(status=304)

    base = await serve({"/feed": handler})
    state = SourceState("s", etag='"v1"', last_modified="Sun, 29 Nov 2026 05:00:00 GMT")
    result = await fetch(base + "/feed", state)
    assert result.unchanged and result.etag == '"v1"'
    assert seen == [('"v1"', "Sun, 29 Nov 2026 05:00:00 GMT")]


async def test_a_body_over_the_cap_is_refused_without_reading_it_all(serve) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"x" * 65536)
        return response

    base = await serve({"/big": handler})
    with pytest.raises(FetchError, match="over the 100000 byte cap"):
        await fetch(base + "/big", max_bytes=100_000)


async def test_more_than_five_redirects_is_an_error(serve) -> None:
    async def hop(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/hop/{n + 1}")

    async def loop_handler(request: web.Request) -> web.Response:
        return await hop(request)

    base = await serve({"/hop/{n}": loop_handler})
    with pytest.raises(FetchError, match="more than 5 redirects"):
        await fetch(base + "/hop/0")


async def test_a_redirected_feed_resolves_links_against_its_final_address(serve) -> None:
    async def old(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/new/feed.xml")

    async def new(request: web.Request) -> web.Response:
        body = (
            b'<rss version="2.0"><channel><title>t</title><item><title>a</title>'
            b"<link>story.html</link></item></channel></rss>"
        )
        return web.Response(body=body, content_type="application/rss+xml")

    base = await serve({"/old": old, "/new/feed.xml": new})
    result = await fetch(base + "/old")
    assert result.base_url == base + "/new/feed.xml"
    assert result.entries[0].link in (base + "/new/story.html", "story.html")


async def test_a_slow_server_times_out(serve) -> None:
    never = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    base = await serve({"/slow": handler})
    try:
        with pytest.raises(FetchError, match=r"timed out after 0\.2 s"):
            await fetch(base + "/slow", timeout=0.2)
    finally:
        never.set()


async def test_errors_and_non_feeds_are_one_line(serve) -> None:
    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404)

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>hello</body></html>", content_type="text/html")

    async def empty(request: web.Request) -> web.Response:
        return web.Response(body=b"")

    base = await serve({"/missing": missing, "/page": page, "/empty": empty})
    with pytest.raises(FetchError, match=r"^HTTP 404 Not Found$"):
        await fetch(base + "/missing")
    for path in ("/page", "/empty"):
        with pytest.raises(ParseError) as caught:
            await fetch(base + path)
        assert "\n" not in str(caught.value)
