"""Sources → posts stored once → alerts planned and delivered, with feeds on a local HTTP server."""

from __future__ import annotations

import asyncio
import io
import random
from pathlib import Path

import aiohttp

from bot.app import App
from bot.config import DeliverySettings, Settings, SourceSettings
from bot.delivery import Dispatcher
from bot.models import ALL
from bot.sources import build_source
from bot.watcher import Watcher
from storage import Store
from tests.conftest import EXAMPLES
from tests.factories import make_chat
from tests.feedserver import FeedServer, rss
from tests.integration.test_dispatcher import RecordingSender


async def subscribe(store: Store, n: int, *names: str) -> None:
    chat = await store.ensure_chat(make_chat(n))
    await store.subscribe(chat, list(names))


def pipeline(
    store: Store, session: aiohttp.ClientSession, sources: list[SourceSettings]
) -> tuple[Watcher, Dispatcher, RecordingSender]:
    sender = RecordingSender()
    dispatcher = Dispatcher(store, [sender], DeliverySettings(), owner="t", rng=random.Random(0))
    built = [build_source(s, session) for s in sources]
    watcher = Watcher(built, store, on_planned=dispatcher.wake, rng=random.Random(0))
    return watcher, dispatcher, sender


async def test_a_new_entry_gives_one_alert_per_subscribed_chat(
    store: Store, server: FeedServer, session: aiohttp.ClientSession
) -> None:
    source = SourceSettings(name="newsdao", url=server.url("feed"))
    server.feeds["feed"].body = rss(("a1", "첫 기사", "IT"))
    for n, names in enumerate([("IT",), ("it",), (ALL,), ("Sports",)]):
        await subscribe(store, n, *names)
    watcher, dispatcher, sender = pipeline(store, session, [source])

    await watcher.run_once()
    assert await dispatcher.drain() == 0, "the first fetch records what is there, alerts nothing"

    server.feeds["feed"].body = rss(("a2", "[속보] 새 기사", "IT"), ("a1", "첫 기사", "IT"))
    await watcher.run_once()
    await dispatcher.drain()
    assert sorted(sender.delivered) == [
        ("1000", "[속보] 새 기사"),
        ("1001", "[속보] 새 기사"),
        ("1002", "[속보] 새 기사"),
    ]


async def test_unchanged_feed_is_answered_304_and_alerts_nothing(
    store: Store, server: FeedServer, session: aiohttp.ClientSession
) -> None:
    source = SourceSettings(name="newsdao", url=server.url("feed"))
    server.feeds["feed"].body = rss(("a1", "첫 기사", "IT"))
    await subscribe(store, 1, ALL)
    watcher, dispatcher, _ = pipeline(store, session, [source])
    for _ in range(3):
        await watcher.run_once()
    feed = server.feeds["feed"]
    assert (feed.requests, feed.conditional, feed.not_modified) == (3, 2, 2)
    assert await dispatcher.drain() == 0


async def test_a_restarted_process_repeats_nothing(
    database_url: str, server: FeedServer, session: aiohttp.ClientSession
) -> None:
    from storage import open_store

    source = SourceSettings(name="newsdao", url=server.url("feed"))
    server.feeds["feed"].body = rss(("a1", "첫 기사", "IT"))
    delivered: list[tuple[str, str]] = []
    for body in (rss(("a1", "첫 기사", "IT")), rss(("a2", "둘째", "IT"), ("a1", "첫 기사", "IT"))):
        server.feeds["feed"].body = body
        for _restart in range(2):
            async with open_store(database_url) as store:
                from storage.migrate import upgrade

                await upgrade(store.engine)
                await subscribe(store, 1, ALL)
                watcher, dispatcher, sender = pipeline(store, session, [source])
                await watcher.run_once()
                await dispatcher.drain()
                delivered += sender.delivered
    assert delivered == [("1001", "둘째")]


async def test_a_failing_or_hanging_source_does_not_delay_the_others(
    store: Store, server: FeedServer, session: aiohttp.ClientSession
) -> None:
    broken = SourceSettings(name="broken", url=server.url("broken"), interval=1)
    hanging = SourceSettings(name="hanging", url=server.url("hanging"), interval=1, timeout=60)
    good = SourceSettings(name="good", url=server.url("good"), interval=1)
    server.feeds["broken"].status = 500
    server.feeds["hanging"].hang = True
    server.feeds["good"].body = rss(("g1", "정상 기사", "IT"))
    await subscribe(store, 1, ALL)
    watcher, dispatcher, sender = pipeline(store, session, [broken, hanging, good])
    sender.changes = server.changes
    until = server.changes.until
    stop = asyncio.Event()
    running = asyncio.gather(watcher.run(stop), dispatcher.run(stop))
    try:
        # Change the feed only once the first answer (the baseline) has gone out.
        await until(
            lambda: server.feeds["good"].requests >= 1 and not server.feeds["good"].in_flight
        )
        server.feeds["good"].body = rss(("g2", "새 정상 기사", "IT"), ("g1", "정상 기사", "IT"))
        await until(lambda: sender.delivered == [("1001", "새 정상 기사")])
        assert server.feeds["hanging"].in_flight == 1, "the hanging fetch is still waiting"
        state = await store.source_state("broken")
        assert state.failures >= 1 and state.last_error == "HTTP 500 Internal Server Error"
    finally:
        stop.set()
        server.feeds["hanging"].release.set()
        await running


async def test_make_run_once_shows_the_seed_alert_in_the_terminal(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        sources=(
            SourceSettings(
                name="newsdao", path=EXAMPLES, site_url="https://newsdao.kr", backfill=10
            ),
        ),
    )
    out = io.StringIO()
    assert await App(settings, out=out, interactive=False).run(once=True) == 0
    shown = out.getvalue()
    assert "🔴 속보\nAI 투자 막대한 비용에도 결과는 뚜렷하지 않다!" in shown
    assert "AI 투자에 쏟아진 6000억 달러" in shown
    assert "#IT" in shown
    again = io.StringIO()
    await App(settings, out=again, interactive=False).run(once=True)
    assert again.getvalue() == "", "a restart repeats nothing"
