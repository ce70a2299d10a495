"""Atom 1.0 and 0.3 feeds and entries to records (jekyll-feed's output included)."""

from __future__ import annotations

import base64
import binascii

from lxml import etree

from bot.feeds.xmltree import (
    ATOM03,
    ATOM10,
    IMAGE_RANKS,
    Found,
    TagKeys,
    date_of,
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
    """One `<entry>`; the first HTML alternate link is the item's address."""
    found = Found()
    links: dict[str, str] = {}
    for child in entry:
        key = keys[child.tag]
        if key == "title":
            found.title = found.title or construct(child)
        elif key == "link":
            _link(child, links, url, found)
        elif key == "id":
            found.guid = found.guid or text(child)
        elif key == "summary":
            found.summary = found.summary or construct(child)
        elif key == "content":
            found.content = found.content or construct(child)
        elif key in _PUBLISHED:
            found.published = found.published or date_of(child)
        elif key in _UPDATED:
            found.updated = found.updated or date_of(child)
        elif key in _CATEGORIES:
            found.category(child.get("term") or child.get("label") or text(child))
        elif key == "media:group":
            for media in child:
                found.image(media, keys[media.tag], url)
        elif key in IMAGE_RANKS:
            found.image(child, key, url)
    found.link = links.get("html") or links.get("other")
    return found.entry()


def _link(element: etree._Element, links: dict[str, str], url: str | None, found: Found) -> None:
    """Note an entry link: the first HTML alternate, else any alternate; image enclosures."""
    rel = (element.get("rel") or "alternate").strip().lower()
    if rel == "enclosure" and (element.get("type") or "").startswith("image/"):
        href = resolve(element, element.get("href"), url)
        if href:
            found.images.setdefault(IMAGE_RANKS["enclosure"], href)
    if rel != "alternate":
        return
    kind = "html" if _is_alternate(element) else "other"
    if kind not in links:
        href = resolve(element, element.get("href"), url)
        if href:
            links[kind] = href


def _is_alternate(element: etree._Element) -> bool:
    rel = (element.get("rel") or "alternate").strip().lower()
    kind = (element.get("type") or "text/html").lower()
    return rel == "alternate" and ("html" in kind or kind.startswith("text/"))


def _base64(element: etree._Element) -> str | None:
    try:
        return base64.b64decode(element.text or "").decode("utf-8").strip() or None
    except (binascii.Error, UnicodeDecodeError):
        return None
