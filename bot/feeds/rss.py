"""RSS 0.9x, 2.0 and RSS 1.0 / 0.90 (RDF) channels and items to records."""

from __future__ import annotations

from lxml import etree

from bot.feeds.xmltree import (
    IMAGE_RANKS,
    RDF,
    RSS090,
    RSS10,
    Child,
    TagKeys,
    add_category,
    add_image,
    best_image,
    children,
    clean,
    date_in,
    inner,
    resolve,
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
    # RSS 2.0 keeps items in <channel>; RSS 1.0 beside it; a few 0.9x feeds in both.
    containers = children([root] if channel is None else [channel, root], keys)
    title, link = _channel(containers[0], url) if channel is not None else (None, None)
    base = url or link
    items = [item for found in containers for key, _, item, _ in found if key == "item"]
    entries = tuple(
        _entry(item, found, keys, base)
        for item, found in zip(items, children(items, keys), strict=True)
    )
    return ParsedFeed(kind="rdf" if is_rdf else "rss", title=title, link=link, entries=entries)


def _channel(found: list[Child], url: str | None) -> tuple[str | None, str | None]:
    """The channel's title and link, from its `found` children."""
    title = link = None
    for key, value, child, _ in found:
        if key == "title" and title is None:
            title = inner(child, value)
        elif key == "link" and link is None:
            link = resolve(child, clean(value), url)
    return title, link


def _entry(item: etree._Element, found: list[Child], keys: TagKeys, base: str | None) -> Entry:
    """One `<item>`, its `found` children read, as an Entry; missing parts stay None.
    The first value of each field wins, but the last guid."""
    title = link = guid = summary = content = None
    published = updated = None
    categories: list[str] = []
    images: dict[int, str] = {}
    permalink = True
    for key, value, child, attributes in found:
        if key == "title":
            title = title or inner(child, value)
        elif key == "link":
            link = link or resolve(child, clean(value), base)
        elif key == "guid":
            guid = clean(value)
            permalink = (attributes.get("isPermaLink") or "true").strip().lower() != "false"
        elif key == "description":
            summary = summary or inner(child, value)
        elif key == "content:encoded":
            content = content or inner(child, value)
        elif key in _PUBLISHED:
            published = published or date_in(value)
        elif key in _UPDATED:
            updated = updated or date_in(value)
        elif key in _CATEGORIES:
            add_category(categories, value)
        elif key == "media:group":
            for media in children([child], keys)[0]:
                add_image(images, media, base)
        elif key in IMAGE_RANKS:
            add_image(images, (key, value, child, attributes), base)
    if guid is None:
        guid = item.get(f"{{{RDF}}}about")
    elif link is None and permalink and guid.startswith(("http://", "https://")):
        link = guid  # RSS 2.0: a permalink guid is the item's address
    image = best_image(images)
    # In field order, by position: see bot.models._quick_init.
    return Entry(guid, link, title, summary, content, tuple(categories), published, updated, image)
