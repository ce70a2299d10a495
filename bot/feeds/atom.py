"""Atom 1.0 and 0.3 feeds and entries to records (jekyll-feed's output included)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from lxml import etree

from bot.feeds.dates import parse_date
from bot.feeds.xmltree import (
    ATOM03,
    ATOM10,
    IMAGE_RANKS,
    TagKeys,
    add_unique,
    image_of,
    inner,
    resolve,
    text,
    xhtml,
)
from bot.models import Entry, ParsedFeed

#: Atom 1.0 names first, then the Atom 0.3 names they replaced.
_PUBLISHED = frozenset({"published", "issued", "created", "dc:date", "dcterms:issued"})
_UPDATED = frozenset({"updated", "modified", "dcterms:modified"})
_CATEGORIES = frozenset({"category", "dc:subject"})


def read_atom(root: etree._Element, url: str | None) -> ParsedFeed:
    """Read a `<feed>` root; relative links resolve on xml:base, then `url`."""
    keys = TagKeys(("", ATOM10, ATOM03))
    title = link = None
    entries: list[Entry] = []
    for child in root:
        key = keys[child.tag]
        if key == "entry":
            entries.append(_entry(child, keys, url))
        elif key == "title" and title is None:
            title = construct(child)
        elif key == "link" and link is None and _is_alternate(child):
            link = resolve(child, child.get("href"), url)
    return ParsedFeed(kind="atom", title=title, link=link, entries=tuple(entries))


def construct(element: etree._Element) -> str | None:
    """An Atom text construct: xhtml flattened to markup, html and text as decoded."""
    kind = (element.get("type") or "").lower()
    if kind == "xhtml" or kind == "application/xhtml+xml":
        return xhtml(element)
    if (element.get("mode") or "").lower() == "base64":
        return _base64(element)
    return inner(element)


def _entry(entry: etree._Element, keys: TagKeys, url: str | None) -> Entry:
    """One `<entry>`; the first alternate link is the item's address."""
    title = guid = summary = content = None
    published: datetime | None = None
    updated: datetime | None = None
    categories: list[str] = []
    images: dict[int, str] = {}
    links: dict[str, str] = {}
    for child in entry:
        key = keys[child.tag]
        if key == "title":
            title = title or construct(child)
        elif key == "link":
            _link(child, links, url, images)
        elif key == "id":
            guid = guid or text(child)
        elif key == "summary":
            summary = summary or construct(child)
        elif key == "content":
            content = content or construct(child)
        elif key in _PUBLISHED:
            published = published or _date(child)
        elif key in _UPDATED:
            updated = updated or _date(child)
        elif key in _CATEGORIES:
            add_unique(categories, child.get("term") or child.get("label") or text(child))
        elif key == "media:group":
            for media in child:
                _add_image(media, keys[media.tag], url, images)
        elif key in IMAGE_RANKS:
            _add_image(child, key, url, images)
    return Entry(
        guid=guid,
        link=links.get("html") or links.get("other"),
        title=title,
        summary=summary,
        content=content,
        categories=tuple(categories),
        published=published,
        updated=updated,
        image=images[min(images)] if images else None,
    )


def _link(
    element: etree._Element, links: dict[str, str], url: str | None, images: dict[int, str]
) -> None:
    """Note an entry link: the first HTML alternate, else any alternate; image enclosures."""
    rel = (element.get("rel") or "alternate").strip().lower()
    if rel == "enclosure" and (element.get("type") or "").startswith("image/"):
        found = resolve(element, element.get("href"), url)
        if found:
            images.setdefault(IMAGE_RANKS["enclosure"], found)
    if rel != "alternate":
        return
    kind = "html" if _is_alternate(element) else "other"
    if kind not in links:
        found = resolve(element, element.get("href"), url)
        if found:
            links[kind] = found


def _is_alternate(element: etree._Element) -> bool:
    rel = (element.get("rel") or "alternate").strip().lower()
    kind = (element.get("type") or "text/html").lower()
    return rel == "alternate" and ("html" in kind or kind.startswith("text/"))


def _date(element: etree._Element) -> datetime | None:
    value = text(element)
    return parse_date(value) if value else None


def _add_image(element: etree._Element, key: str, url: str | None, images: dict[int, str]) -> None:
    rank = IMAGE_RANKS.get(key)
    if rank is not None and rank not in images:
        found = resolve(element, image_of(element, key), url)
        if found:
            images[rank] = found


def _base64(element: etree._Element) -> str | None:
    try:
        return base64.b64decode(element.text or "").decode("utf-8").strip() or None
    except (binascii.Error, UnicodeDecodeError):
        return None
