"""Sources: where entries come from. Each `fetch` returns entries plus the validators for next time.

Kinds: an HTTP feed (`HttpSource`) and a folder of front-matter posts
(`FolderSource`); the push API hands posts in directly. A fetch raises
`SourceError` with a one-line reason; it never raises anything else for bad input.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import aiohttp

from bot.config import SourceSettings
from bot.errors import FetchError, ParseError, SourceError
from bot.feeds import parse_feed, parse_post
from bot.models import Entry, SourceState
from bot.netguard import refusal_behind

log = logging.getLogger(__name__)

USER_AGENT = "newsbot/0.1 (+https://github.com/newsbot)"
MAX_REDIRECTS = 5
#: Parse bodies this large in a worker thread so the event loop keeps serving.
_THREAD_PARSE_BYTES = 512 * 1024
POST_SUFFIXES = frozenset({".md", ".markdown", ".html", ".htm", ".txt"})


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One fetch: the entries (none when unchanged) and what to send next time."""

    entries: tuple[Entry, ...]
    #: True when the source said 304 or the body hashed the same as last time.
    unchanged: bool = False
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    #: Base for relative links (the final URL after redirects, or the site).
    base_url: str | None = None
    #: One line per entry that could not be read (the others still count).
    problems: tuple[str, ...] = field(default=())


class Source(Protocol):
    """A configured place posts come from."""

    settings: SourceSettings

    async def fetch(self, state: SourceState) -> FetchResult:
        """Fetch once; raises `SourceError` with a one-line reason."""


class HttpSource:
    """An RSS, Atom or JSON feed over HTTP, fetched conditionally."""

    def __init__(self, settings: SourceSettings, session: aiohttp.ClientSession) -> None:
        assert settings.url is not None
        self.settings = settings
        self._url = settings.url
        self._session = session

    async def fetch(self, state: SourceState) -> FetchResult:
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        try:
            async with self._session.get(
                self._url,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
                max_redirects=MAX_REDIRECTS,
            ) as response:
                return await self._read(response, state)
        except TimeoutError as exc:
            raise FetchError(f"timed out after {self.settings.timeout:g} s") from exc
        except aiohttp.TooManyRedirects as exc:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects") from exc
        except aiohttp.ClientError as exc:
            refused = refusal_behind(exc)  # the SSRF guard's reason, not aiohttp's wrapping
            raise refused or FetchError(f"{type(exc).__name__}: {exc}".splitlines()[0]) from exc

    async def _read(self, response: aiohttp.ClientResponse, state: SourceState) -> FetchResult:
        etag = response.headers.get("ETag") or state.etag
        modified = response.headers.get("Last-Modified") or state.last_modified
        if response.status == 304:
            return FetchResult((), True, etag, modified, state.content_hash)
        if response.status >= 400:
            raise FetchError(f"HTTP {response.status} {response.reason or ''}".strip())
        body = await _read_capped(response, self.settings.max_bytes)
        digest = hashlib.sha256(body).hexdigest()
        if digest == state.content_hash and state.initialized:
            return FetchResult((), True, etag, modified, digest)
        content_type = response.headers.get("Content-Type")
        base = str(response.url)
        if len(body) > _THREAD_PARSE_BYTES:
            feed = await asyncio.to_thread(parse_feed, body, content_type=content_type, url=base)
        else:
            feed = parse_feed(body, content_type=content_type, url=base)
        return FetchResult(feed.entries, False, etag, modified, digest, base_url=base)


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The (decompressed) body, refusing it as soon as it passes `limit` bytes."""
    if response.content_length is not None and response.content_length > limit:
        raise FetchError(f"body of {response.content_length} bytes is over the {limit} byte cap")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise FetchError(f"body is over the {limit} byte cap")
        chunks.append(chunk)
    return b"".join(chunks)


class FolderSource:
    """A directory of Jekyll-style posts (YAML front matter + Markdown or HTML)."""

    def __init__(self, settings: SourceSettings) -> None:
        assert settings.path is not None
        self.settings = settings
        self._path = settings.path

    async def fetch(self, state: SourceState) -> FetchResult:
        return await asyncio.to_thread(self.read_all, state)

    def read_all(self, state: SourceState) -> FetchResult:
        """The blocking part of `fetch`: scan the folder and parse what changed."""
        files = _post_files(self._path)
        digest = _listing_hash(files)
        if digest == state.content_hash and state.initialized:
            return FetchResult((), True, content_hash=digest)
        entries: list[Entry] = []
        problems: list[str] = []
        for file in files:
            try:
                entries.append(self._read(file))
            except (OSError, ParseError) as exc:
                problems.append(f"{file.name}: {_reason(exc)}")
        if problems and not entries:
            raise ParseError(problems[0])
        return FetchResult(
            tuple(entries),
            False,
            content_hash=digest,
            base_url=self.settings.site_url,
            problems=tuple(problems),
        )

    def _read(self, file: Path) -> Entry:
        return parse_post(
            file.read_bytes(),
            name=file.name,
            site_url=self.settings.site_url,
            permalink=self.settings.permalink,
        )


def _post_files(folder: Path) -> list[Path]:
    try:
        children = sorted(folder.iterdir())
    except OSError as exc:
        raise FetchError(f"cannot read folder {folder}: {exc.strerror}") from exc
    return [
        f
        for f in children
        if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in POST_SUFFIXES
    ]


def _listing_hash(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(f"{file.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)


def build_source(settings: SourceSettings, session: aiohttp.ClientSession) -> Source:
    if settings.url is not None:
        return HttpSource(settings, session)
    return FolderSource(settings)


__all__ = ["FetchResult", "FolderSource", "HttpSource", "Source", "SourceError", "build_source"]
