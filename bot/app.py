"""The composition root: builds everything from `Settings` and runs it in one TaskGroup.

Nothing else in newsbot constructs adapters, sources or the store; no module
does work at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import TextIO

import aiohttp

from bot.api import build_api, serve
from bot.catalog import SourceCatalog
from bot.config import Settings
from bot.delivery import Dispatcher
from bot.digest import Digester
from bot.errors import StoreError
from bot.metrics import Metrics
from bot.models import ALL
from bot.netguard import guarded_connector
from bot.watcher import Watcher, stopped_within
from handlers.base import Adapter
from handlers.commands import Commands, CommandsConfig
from handlers.console import ConsoleAdapter
from handlers.discord_adapter import DiscordAdapter
from handlers.telegram_adapter import TelegramAdapter
from storage import Store, open_store
from storage.migrate import upgrade

log = logging.getLogger(__name__)

#: The role of the one process that receives updates and sends, among several.
RECEIVER_ROLE = "receiver"


#: Allocations between two young-generation collections (Python's default: 700).
YOUNG_COLLECTION_EVERY = 10_000


def settle_heap() -> None:
    """Take what startup and the first poll built out of the garbage collector's rounds,
    and let it run less often.

    Those objects (sessions, sources, states, modules) live as long as the process,
    yet every full collection walked them all again: 0.07-0.24 s of CPU per cycle
    over 1,000 sources (bench/poll.py). Frozen, they are never walked; what is made
    later is collected as before, but after 10,000 allocations rather than 700:
    what a send or a fetch makes is freed by reference counting, and collecting it
    every 700 allocations was ~4 % of a fan-out's CPU (bench/fanout.py).
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, old)


def secrets_of(settings: Settings) -> list[str]:
    """Every secret in the settings, for the log redactor."""
    found = [settings.telegram.token, settings.discord.token, settings.api.token]
    found.append(settings.telegram.webhook_secret)
    return [s.get_secret_value() for s in found if s is not None]


def build_adapters(settings: Settings, *, out: TextIO, interactive: bool) -> list[Adapter]:
    """One adapter per platform with a token; the console when there is none."""
    adapters: list[Adapter] = []
    if settings.telegram.token is not None:
        adapters.append(TelegramAdapter(settings.telegram))
    if settings.discord.token is not None:
        adapters.append(DiscordAdapter(settings.discord, admins=settings.admins))
    if not adapters:
        adapters.append(
            ConsoleAdapter(language=settings.language, out=out, interactive=interactive)
        )
    return adapters


async def prepare_console(store: Store, adapters: Sequence[Adapter]) -> None:
    """A new console chat starts subscribed to `all`, so a newcomer sees alerts at once."""
    for adapter in adapters:
        if not isinstance(adapter, ConsoleAdapter):
            continue
        if await store.find_chat("console", adapter.chat.chat_id) is None:
            chat = await store.ensure_chat(adapter.chat)
            await store.subscribe(chat, [ALL])


async def _start_adapters(stack: AsyncExitStack, parts: Parts) -> None:
    for adapter in parts.adapters:
        await adapter.start(parts.commands)
        stack.push_async_callback(adapter.stop)


@dataclass
class Parts:
    """Everything `App.run` assembled, for the running phase."""

    store: Store
    adapters: list[Adapter]
    watcher: Watcher
    dispatcher: Dispatcher
    commands: Commands
    metrics: Metrics
    catalog: SourceCatalog


class App:
    """newsbot, assembled. `run` returns the process's exit status."""

    def __init__(
        self, settings: Settings, *, out: TextIO | None = None, interactive: bool = True
    ) -> None:
        self.settings = settings
        self._out = out or sys.stdout
        self._interactive = interactive
        self.stop = asyncio.Event()
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        #: True while this process holds the receiver role.
        self.receiving = False

    async def run(self, *, once: bool = False) -> int:
        async with AsyncExitStack() as stack:
            parts = await self._assemble(stack, interactive=self._interactive and not once)
            if once:
                await _start_adapters(stack, parts)
                await parts.watcher.run_once()
                await parts.dispatcher.drain()
                return 0
            await self._serve_api(stack, parts)
            self._handle_signals()
            async with asyncio.TaskGroup() as group:
                group.create_task(parts.watcher.run(self.stop, discover=parts.catalog.sources))
                group.create_task(self._receive_and_send(parts))
        return 0

    async def _assemble(self, stack: AsyncExitStack, *, interactive: bool) -> Parts:
        settings = self.settings
        store = await stack.enter_async_context(open_store(settings.database_url))
        await upgrade(store.engine)
        # Every source fetch goes through the SSRF guard (private addresses refused).
        connector = guarded_connector(allow_private=settings.allow_private_sources)
        session = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
        metrics = Metrics()
        adapters = build_adapters(settings, out=self._out, interactive=interactive)
        dispatcher = Dispatcher(
            store, adapters, settings.delivery, owner=self.owner, metrics=metrics
        )
        catalog = SourceCatalog(settings, store, session)
        watcher = Watcher(
            await catalog.sources(),
            store,
            on_planned=dispatcher.wake,
            metrics=metrics,
            owner=self.owner,
            on_first_cycle=settle_heap,
        )
        catalog.on_change = watcher.rediscover
        admins = CommandsConfig(admins=frozenset(settings.admins))
        commands = Commands(store, admins, on_planned=dispatcher.wake, sources=catalog)
        await prepare_console(store, adapters)
        log.info(
            "newsbot %s: %d sources, platforms: %s",
            self.owner,
            len(settings.sources),
            ", ".join(a.platform for a in adapters),
        )
        return Parts(store, adapters, watcher, dispatcher, commands, metrics, catalog)

    async def _receive_and_send(self, parts: Parts) -> None:
        """Take the receiver role when free and serve the platforms while holding it.

        Platforms allow one update consumer per bot (Telegram answers a second
        getUpdates with 409; Discord one gateway session), and one sender keeps
        each platform's rate limits whole: so of several processes on one
        database exactly one connects the platforms; the others fetch sources
        and take over within `receiver_lease_seconds` when it dies.
        """
        lease = timedelta(seconds=self.settings.delivery.receiver_lease_seconds)
        while not self.stop.is_set():
            if await self._try_role(parts.store, lease):
                self.receiving = True
                try:
                    await self._serve_platforms(parts, lease)
                finally:
                    self.receiving = False
            else:
                await stopped_within(self.stop, lease.total_seconds() / 3)
        with contextlib.suppress(StoreError):  # it lapses by itself otherwise
            await parts.store.drop_lease(RECEIVER_ROLE, self.owner)

    async def _try_role(self, store: Store, lease: timedelta) -> bool:
        try:
            return await store.hold_lease(RECEIVER_ROLE, self.owner, lease)
        except StoreError as exc:
            log.warning("could not take the receiver role: %s", exc)
            return False

    async def _serve_platforms(self, parts: Parts, lease: timedelta) -> None:
        serving = asyncio.Event()
        async with AsyncExitStack() as stack:
            await _start_adapters(stack, parts)
            log.info("this process now receives and sends for the platforms")
            digester = Digester(parts.store, on_planned=parts.dispatcher.wake)
            async with asyncio.TaskGroup() as group:
                group.create_task(parts.dispatcher.run(serving))
                group.create_task(digester.run(serving))
                group.create_task(self._keep_role(parts.store, lease, serving))

    async def _keep_role(self, store: Store, lease: timedelta, serving: asyncio.Event) -> None:
        """Renew the role until stopping or until it is lost; then end the serving."""
        while not await stopped_within(self.stop, lease.total_seconds() / 3):
            try:
                held = await store.hold_lease(RECEIVER_ROLE, self.owner, lease)
            except StoreError as exc:
                log.warning("could not renew the receiver role: %s", exc)
                held = False
            if not held:
                log.warning("lost the receiver role; stopping sending and receiving")
                break
        serving.set()

    async def _serve_api(self, stack: AsyncExitStack, parts: Parts) -> None:
        """The push API, health and metrics, when `NEWSBOT_API_TOKEN` is set."""
        token = self.settings.api.token
        if token is None:
            return

        async def health() -> dict[str, bool]:
            # A standby process (another one receives) is healthy without platforms.
            checks: dict[str, bool] = {}
            if self.receiving:
                checks |= {a.platform: a.connected for a in parts.adapters}
            try:
                await parts.store.ping()
                checks["database"] = True
            except StoreError:
                checks["database"] = False
            return checks

        app = build_api(
            parts.store,
            token=token.get_secret_value(),
            metrics=parts.metrics,
            health=health,
            on_planned=parts.dispatcher.wake,
        )
        runner = await serve(app, self.settings.api.listen)
        stack.push_async_callback(runner.cleanup)
        log.info("API listening on %s", self.settings.api.listen)

    def _handle_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._request_stop, sig)

    def _request_stop(self, sig: signal.Signals) -> None:
        log.info("%s: finishing what is in flight, then stopping", sig.name)
        self.stop.set()
