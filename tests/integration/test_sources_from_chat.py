"""Admins manage sources from the chat: added ones are guarded, fetched once, then watched."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.catalog import SourceCatalog
from bot.config import DeliverySettings, Settings, SourceSettings
from bot.delivery import Dispatcher
from bot.models import ALL, Chat, Invocation, Reply
from bot.netguard import guarded_connector
from bot.opml import export_opml
from bot.watcher import Watcher
from handlers.commands import Commands, CommandsConfig
from storage import Store
from tests.factories import make_chat
from tests.feedserver import FeedServer, rss
from tests.integration.test_dispatcher import RecordingSender

ADMIN = Chat("telegram", "42", language="en")


async def catalog_for(
    store: Store, *, allow_private: bool, exempt: tuple[tuple[str, int], ...] = ()
) -> AsyncIterator[SourceCatalog]:
    settings = Settings(
        allow_private_sources=allow_private,
        sources=(SourceSettings(name="configured", path=Path("/nonexistent")),),
    )
    connector = guarded_connector(allow_private=allow_private, exempt=exempt)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield SourceCatalog(settings, store, session)


@pytest.fixture
async def open_catalog(store: Store) -> AsyncIterator[SourceCatalog]:
    async for catalog in catalog_for(store, allow_private=True):
        yield catalog


@pytest.fixture
async def guarded_catalog(store: Store) -> AsyncIterator[SourceCatalog]:
    async for catalog in catalog_for(store, allow_private=False):
        yield catalog


def commands_for(store: Store, catalog: SourceCatalog) -> Commands:
    return Commands(store, CommandsConfig(admins=frozenset({"telegram:42"})), sources=catalog)


async def run(commands: Commands, text: str, user: str = "42") -> Reply:
    command, _, args = text.lstrip("/").partition(" ")
    return await commands.command(Invocation(ADMIN, command, args, user_id=user))


async def test_an_added_feed_records_what_it_holds_then_alerts_new_posts(
    store: Store, open_catalog: SourceCatalog, server: FeedServer
) -> None:
    commands = commands_for(store, open_catalog)
    reader = await store.ensure_chat(make_chat(1))
    await store.subscribe(reader, [ALL])
    url = server.url("news")
    server.feeds["news"].body = rss(("a1", "있던 기사", "IT"))
    reply = await run(commands, f"/addsource {url} IT")
    assert reply.text.startswith("Source added: 127-0-0-1-news")
    assert [i.name for i in await open_catalog.describe()][-1] == "127-0-0-1-news"

    server.feeds["news"].body = rss(("a2", "새 기사", "IT"), ("a1", "있던 기사", "IT"))
    watcher = Watcher(await open_catalog.sources(), store, rng=random.Random(0))
    await watcher.run_once()
    sender = RecordingSender()
    await Dispatcher(store, [sender], DeliverySettings(), owner="t").drain()
    assert sender.delivered == [(reader.chat_id, "새 기사")]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https are allowed"),
        ("http://127.0.0.1/feed", "loopback"),
        ("http://[::1]/feed", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("gopher://example.com/", "only http and https are allowed"),
    ],
)
async def test_private_and_non_http_urls_are_refused_and_nothing_stored(
    store: Store, guarded_catalog: SourceCatalog, url: str, reason: str
) -> None:
    reply = await run(commands_for(store, guarded_catalog), f"/addsource {url}")
    assert reply.text.startswith("Refused: ") and reason in reply.text
    assert await store.added_sources() == []


async def test_a_public_feed_that_redirects_to_a_private_address_is_refused(
    store: Store, server: FeedServer
) -> None:
    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://127.0.0.1:9/secret")

    app = web.Application()
    app.router.add_get("/feed", hop)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async for catalog in catalog_for(store, allow_private=False, exempt=(("127.0.0.1", port),)):
            reply = await run(
                commands_for(store, catalog), f"/addsource http://127.0.0.1:{port}/feed"
            )
            assert reply.text.startswith("Refused: ") and "127.0.0.1" in reply.text
    finally:
        await runner.cleanup()
    assert await store.added_sources() == []


async def test_an_unreadable_feed_is_refused_with_the_reason(
    store: Store, open_catalog: SourceCatalog, server: FeedServer
) -> None:
    url = server.url("broken")
    server.feeds["broken"].status = 500
    reply = await run(commands_for(store, open_catalog), f"/addsource {url}")
    assert reply.text == f"Refused: cannot read {url}: HTTP 500 Internal Server Error"


async def test_pause_resume_remove_and_refusals(
    store: Store, open_catalog: SourceCatalog, server: FeedServer
) -> None:
    commands = commands_for(store, open_catalog)
    url = server.url("news")
    server.feeds["news"].body = rss(("a1", "기사", "IT"))
    await run(commands, f"/addsource {url}")
    assert (
        await run(commands, "/pausesource 127-0-0-1-news")
    ).text == "Source paused: 127-0-0-1-news"
    watcher = Watcher(await open_catalog.sources(), store)
    before = server.feeds["news"].requests
    reports = {r.source: r for r in await watcher.run_once()}
    assert reports["127-0-0-1-news"].skipped and server.feeds["news"].requests == before
    assert (await run(commands, "/resumesource 127-0-0-1-news")).text.startswith("Source resumed")
    refused = await run(commands, "/removesource configured")
    assert refused.text == "Refused: configured is in the config file: pause it, or edit the file"
    assert (await run(commands, "/removesource nope")).text == "Refused: no source named nope"
    assert (await run(commands, "/removesource 127-0-0-1-news")).text.startswith("Source removed")
    assert await store.added_sources() == []
    listing = await run(commands, "/sources")
    assert listing.text.startswith("configured [failing] /nonexistent")
    assert "error: cannot read folder /nonexistent: No such file or directory" in listing.text


async def test_non_admins_cannot_touch_sources(store: Store, open_catalog: SourceCatalog) -> None:
    commands = commands_for(store, open_catalog)
    for text in ("/sources", "/addsource http://x.example/", "/pausesource configured"):
        assert (await run(commands, text, user="7")).text == "Only admins can use that command."


async def test_opml_round_trips_and_reports_what_it_did(
    store: Store, guarded_catalog: SourceCatalog
) -> None:
    body = export_opml(
        [
            ("연합뉴스 IT", "https://www.yna.co.kr/rss/it.xml", ("IT",)),
            ("Example", "https://example.com/feed.xml", ()),
        ],
        title="newsroom",
    )
    body = body.replace(b"</body>", b'<outline text="bad" xmlUrl="file:///etc/passwd"/></body>')
    commands = commands_for(store, guarded_catalog)
    reply = await commands.import_opml(Invocation(ADMIN, "opml", "", user_id="42"), body)
    assert reply.text.splitlines()[0] == (
        "OPML import: 2 added, 0 skipped as duplicates, 1 refused."
    )
    again = await commands.import_opml(Invocation(ADMIN, "opml", "", user_id="42"), body)
    assert again.text.splitlines()[0].startswith("OPML import: 0 added, 2 skipped")
    exported = await guarded_catalog.export_opml()
    assert b"https://www.yna.co.kr/rss/it.xml" in exported and b'category="IT"' in exported
