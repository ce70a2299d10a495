"""RSS 0.9x, 2.0 and RSS 1.0 / 0.90 (RDF) channels and items to records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from lxml import etree

from bot.feeds.dates import parse_date
from bot.feeds.xmltree import (
    IMAGE_RANKS,
    RDF,
    RSS090,
    RSS10,
    TagKeys,
    add_unique,
    image_of,
    inner,
    resolve,
    text,
)
from bot.models import Entry, ParsedFeed

_PUBLISHED = frozenset({"pubDate", "dc:date", "dcterms:issued", "dcterms:created", "pubdate"})
_UPDATED = frozenset({"dcterms:modified", "atom:updated", "lastBuildDate"})
_CATEGORIES = frozenset({"category", "dc:subject"})


def read_rss(root: etree._Element, url: str | None) -> ParsedFeed:
    """Read an `<rss>` or `<rdf:RDF>` root; `url` is the base for relative links."""
    keys = TagKeys(("", RSS10, RSS090))
    is_rdf = keys[root.tag] == "rdf:RDF"
    channel = next((c for c in root if keys[c.tag] == "channel"), None)
    title = link = None
    if channel is not None:
        title, link = _channel(channel, keys, url)
    base = url or link
    containers = [root] if channel is None else [channel, root]
    entries = tuple(_entry(item, keys, base) for item in _items(containers, keys))
    return ParsedFeed(kind="rdf" if is_rdf else "rss", title=title, link=link, entries=entries)


def _channel(
    channel: etree._Element, keys: TagKeys, url: str | None
) -> tuple[str | None, str | None]:
    title = link = None
    for child in channel:
        key = keys[child.tag]
        if key == "title" and title is None:
            title = inner(child)
        elif key == "link" and link is None:
            link = resolve(child, text(child), url)
    return title, link


def _items(containers: list[etree._Element], keys: TagKeys) -> Iterator[etree._Element]:
    # RSS 2.0 keeps items in <channel>; RSS 1.0 beside it; a few 0.9x feeds in both.
    for container in containers:
        for child in container:
            if keys[child.tag] == "item":
                yield child


def _entry(item: etree._Element, keys: TagKeys, base: str | None) -> Entry:
    """One `<item>` as an Entry; missing parts stay None."""
    title = link = guid = summary = content = None
    published: datetime | None = None
    updated: datetime | None = None
    categories: list[str] = []
    images: dict[int, str] = {}
    permalink = True
    for child in item:
        key = keys[child.tag]
        if key == "title":
            title = title or inner(child)
        elif key == "link":
            link = link or resolve(child, text(child), base)
        elif key == "guid":
            guid = text(child)
            permalink = (child.get("isPermaLink") or "true").strip().lower() != "false"
        elif key == "description":
            summary = summary or inner(child)
        elif key == "content:encoded":
            content = content or inner(child)
        elif key in _PUBLISHED:
            published = published or _date(child)
        elif key in _UPDATED:
            updated = updated or _date(child)
        elif key in _CATEGORIES:
            add_unique(categories, text(child))
        elif key == "media:group":
            _group_images(child, keys, base, images)
        elif key in IMAGE_RANKS:
            _add_image(child, key, base, images)
    if guid is None:
        guid = item.get(f"{{{RDF}}}about")
    elif link is None and permalink and guid.startswith(("http://", "https://")):
        link = guid  # RSS 2.0: a permalink guid is the item's address
    return Entry(
        guid=guid,
        link=link,
        title=title,
        summary=summary,
        content=content,
        categories=tuple(categories),
        published=published,
        updated=updated,
        image=images[min(images)] if images else None,
    )


def _date(element: etree._Element) -> datetime | None:
    value = text(element)
    return parse_date(value) if value else None


def _group_images(
    group: etree._Element, keys: TagKeys, base: str | None, images: dict[int, str]
) -> None:
    for child in group:
        key = keys[child.tag]
        if key in IMAGE_RANKS:
            _add_image(child, key, base, images)


def _add_image(element: etree._Element, key: str, base: str | None, images: dict[int, str]) -> None:
    rank = IMAGE_RANKS[key]
    if rank not in images:
        found = resolve(element, image_of(element, key), base)
        if found:
            images[rank] = found
