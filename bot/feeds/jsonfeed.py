"""JSON Feed 1.0 and 1.1 to records.

The two versions differ only in fields newsbot does not read (`author` became
`authors`, `language` was added), so one reader serves both.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from bot.errors import ParseError
from bot.feeds.dates import parse_date
from bot.models import Entry, ParsedFeed

_VERSION_PREFIX = "https://jsonfeed.org/version/"


def read_json(text: str, url: str | None) -> ParsedFeed:
    """Read a JSON Feed document. Raises ParseError for other JSON or broken JSON."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"malformed JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ParseError("not a feed: JSON that is not a JSON Feed object")
    version = document.get("version")
    items = document.get("items")
    is_feed = isinstance(version, str) and version.startswith(_VERSION_PREFIX)
    if not is_feed and not isinstance(items, list):
        raise ParseError("not a feed: JSON without a JSON Feed version or items")
    home = _string(document.get("home_page_url"))
    base = url or _string(document.get("feed_url")) or home
    entries = tuple(_entry(item, base) for item in items or () if isinstance(item, dict))
    return ParsedFeed(
        kind="json",
        title=_string(document.get("title")),
        link=_absolute(home, base),
        entries=entries,
    )


def _entry(item: dict[str, Any], base: str | None) -> Entry:
    link = _absolute(_string(item.get("url")) or _string(item.get("external_url")), base)
    image = _string(item.get("image")) or _string(item.get("banner_image"))
    raw_id = item.get("id")
    guid = (str(raw_id).strip() or None) if isinstance(raw_id, str | int) else None
    return Entry(
        guid=guid,
        link=link,
        title=_string(item.get("title")),
        summary=_string(item.get("summary")),
        content=_string(item.get("content_html")) or _string(item.get("content_text")),
        categories=_tags(item.get("tags")),
        published=_date(item.get("date_published")),
        updated=_date(item.get("date_modified")),
        image=_absolute(image, base),
    )


def _string(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _tags(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    tags: list[str] = []
    for tag in value:
        name = _string(tag)
        if name and name not in tags:
            tags.append(name)
    return tuple(tags)


def _date(value: object) -> datetime | None:
    text = _string(value)
    return parse_date(text) if text else None


def _absolute(href: str | None, base: str | None) -> str | None:
    if href is None or base is None or href.startswith(("http://", "https://")):
        return href
    try:
        return urljoin(base, href)
    except ValueError:
        return href
