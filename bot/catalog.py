"""The catalog of sources: the config file's, plus those admins add from a chat or OPML.

`SourceCatalog` is what `/sources`, `/addsource`, `/removesource`, `/pausesource`
and `newsbot sources import|export` act on. An added URL passes the SSRF guard
and one real fetch before it is kept, so a bad URL is refused with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp

from bot.config import Settings, SourceSettings
from bot.errors import InvalidInput, SourceError
from bot.models import AddedSource, ImportReport, SourceInfo, SourceState
from bot.netguard import check_url
from bot.normalize import unique_categories
from bot.opml import export_opml, parse_opml
from bot.sources import HttpSource, Source, build_source
from bot.watcher import posts_from, rules_for
from storage import Store

_SLUG = re.compile(r"[^a-z0-9가-힣]+")
MAX_URL = 2000


def name_for(url: str, taken: set[str]) -> str:
    """A short readable name for a feed URL: `newsdao-kr-feed`, unique among `taken`."""
    parts = urlsplit(url)
    base = _SLUG.sub("-", f"{parts.hostname or 'feed'} {parts.path}".lower()).strip("-")[:60]
    base = base.removesuffix("-xml").removesuffix("-rss") or "feed"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


class SourceCatalog:
    """Config sources and added sources, as one list; adding one checks it first."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        session: aiohttp.ClientSession,
        *,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._session = session
        #: Called when sources were added or removed (the watcher looks again).
        self.on_change = on_change

    @property
    def configured(self) -> tuple[SourceSettings, ...]:
        return self._settings.sources

    async def all_settings(self) -> list[SourceSettings]:
        added = [_settings_for(a) for a in await self._store.added_sources()]
        return [*self.configured, *added]

    async def sources(self) -> list[Source]:
        """Every source to watch now (the watcher's `discover`)."""
        return [build_source(s, self._session) for s in await self.all_settings()]

    async def describe(self) -> list[SourceInfo]:
        states = {s.name: s for s in await self._store.source_states()}
        added = {a.name for a in await self._store.added_sources()}
        return [
            _info(
                s, states.get(s.name, SourceState(s.name)), "chat" if s.name in added else "config"
            )
            for s in await self.all_settings()
        ]

    async def add(self, url: str, categories: Sequence[str], author: str) -> str:
        """Check, fetch once and keep `url`; returns its name. `InvalidInput` says why not."""
        url = url.strip()
        if len(url) > MAX_URL:
            raise InvalidInput(f"URL over {MAX_URL} characters")
        try:
            check_url(url, allow_private=self._settings.allow_private_sources)
        except SourceError as exc:
            raise InvalidInput(str(exc)) from exc
        everything = await self.all_settings()
        if any(s.url == url for s in everything):
            raise InvalidInput("that feed is already watched")
        name = name_for(url, {s.name for s in everything})
        settings = SourceSettings(name=name, url=url, categories=unique_categories(categories))
        source = HttpSource(settings, self._session)
        try:
            result = await source.fetch(SourceState(name))
        except SourceError as exc:
            raise InvalidInput(f"cannot read {url}: {exc}") from exc
        if not await self._store.add_source(AddedSource(name, url, settings.categories, author)):
            raise InvalidInput("that feed is already watched")
        # What the feed holds now is the baseline: only later posts are alerted.
        posts, _ = posts_from(result, rules_for(source, result.base_url), _now())
        await self._store.ingest(SourceState(name, etag=result.etag, content_hash=None), posts)
        self.on_change()
        return name

    async def remove(self, name: str) -> None:
        if any(s.name == name for s in self.configured):
            raise InvalidInput(f"{name} is in the config file: pause it, or edit the file")
        if not await self._store.remove_source(name):
            raise InvalidInput(f"no source named {name}")
        self.on_change()

    async def pause(self, name: str, paused: bool) -> None:
        if not any(s.name == name for s in await self.all_settings()):
            raise InvalidInput(f"no source named {name}")
        await self._store.pause_source(name, paused)

    async def import_opml(self, body: bytes, author: str) -> ImportReport:
        """Add every feed an OPML file lists (checked, not fetched); says what and why."""
        parsed = parse_opml(body, allow_private=self._settings.allow_private_sources)
        everything = await self.all_settings()
        urls = {s.url for s in everything if s.url}
        names = {s.name for s in everything}
        added: list[str] = []
        skipped: list[tuple[str, str]] = []
        for item in parsed.sources:
            if item.url in urls:
                skipped.append((item.url, "already watched"))
                continue
            name = name_for(item.url, names)
            source = AddedSource(name, item.url, unique_categories(item.categories), author)
            if await self._store.add_source(source):
                added.append(name)
                names.add(name)
                urls.add(item.url)
            else:
                skipped.append((item.url, "already watched"))
        refused = tuple((r.url or r.name or "?", r.reason) for r in parsed.refused)
        if added:
            self.on_change()
        return ImportReport(tuple(added), tuple(skipped), refused)

    async def export_opml(self) -> bytes:
        feeds = [(s.name, s.url, s.categories) for s in await self.all_settings() if s.url]
        return export_opml(feeds, title="newsbot sources")


def _settings_for(added: AddedSource) -> SourceSettings:
    return SourceSettings(name=added.name, url=added.url, categories=added.categories)


def _info(settings: SourceSettings, state: SourceState, origin: str) -> SourceInfo:
    if state.paused:
        status = "paused"
    elif state.last_fetch_at is None:
        status = "never fetched"
    else:
        status = "failing" if state.failures else "ok"
    return SourceInfo(
        name=settings.name,
        location=settings.url or str(settings.path),
        origin=origin,
        paused=state.paused,
        status=status,
        last_fetch_at=state.last_fetch_at,
        next_fetch_at=state.next_fetch_at,
        error=state.last_error,
    )


def _now() -> datetime:
    return datetime.now(UTC)
