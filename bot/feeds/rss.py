"""RSS 0.9x, 2.0 and RSS 1.0 / 0.90 (RDF) channels and items to records."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from bot.feeds.xmltree import (
    IMAGE_RANKS,
    RDF,
    RSS090,
    RSS10,
    Found,
    TagKeys,
    date_of,
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
    found = Found()
    permalink = True
    for child in item:
        key = keys[child.tag]
        if key == "title":
            found.title = found.title or inner(child)
        elif key == "link":
            found.link = found.link or resolve(child, text(child), base)
        elif key == "guid":
            found.guid = text(child)
            permalink = (child.get("isPermaLink") or "true").strip().lower() != "false"
        elif key == "description":
            found.summary = found.summary or inner(child)
        elif key == "content:encoded":
            found.content = found.content or inner(child)
        elif key in _PUBLISHED:
            found.published = found.published or date_of(child)
        elif key in _UPDATED:
            found.updated = found.updated or date_of(child)
        elif key in _CATEGORIES:
            found.category(text(child))
        elif key == "media:group":
            for media in child:
                found.image(media, keys[media.tag], base)
        elif key in IMAGE_RANKS:
            found.image(child, key, base)
    if found.guid is None:
        found.guid = item.get(f"{{{RDF}}}about")
    elif found.link is None and permalink and found.guid.startswith(("http://", "https://")):
        found.link = found.guid  # RSS 2.0: a permalink guid is the item's address
    return found.entry()
