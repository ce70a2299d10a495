"""Atom 1.0 and 0.3 feeds and entries to records (jekyll-feed's output included)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from lxml import etree

from bot.feeds.xmltree import (
    ATOM03,
    ATOM10,
    IMAGE_RANKS,
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
    found = children([root], keys)[0]
    for key, value, child, attributes in found:
        if key == "title" and title is None:
            title = construct(child, value, attributes)
        elif key == "link" and link is None and _is_alternate(attributes):
            link = resolve(child, attributes.get("href"), url)
    entries = [child for key, _, child, _ in found if key == "entry"]
    return ParsedFeed(
        kind="atom",
        title=title,
        link=link,
        entries=tuple(_entry(parts, keys, url) for parts in children(entries, keys)),
    )


def construct(
    element: etree._Element, value: str | None, attributes: Mapping[str, str]
) -> str | None:
    """An Atom text construct (`element`, its text and attributes): xhtml flattened to
    markup, html and text as decoded."""
    kind = (attributes.get("type") or "").lower()
    if kind == "xhtml" or kind == "application/xhtml+xml":
        return xhtml(element)
    if (attributes.get("mode") or "").lower() == "base64":
        return _base64(element)
    return inner(element, value)


def _entry(found: list[Child], keys: TagKeys, url: str | None) -> Entry:
    """One `<entry>`, its `found` children read; the first HTML alternate link is the
    item's address, and the first value of any other field wins."""
    title = guid = summary = content = None
    published = updated = None
    categories: list[str] = []
    images: dict[int, str] = {}
    links: dict[str, str] = {}
    for key, value, child, attributes in found:
        if key == "title":
            title = title or construct(child, value, attributes)
        elif key == "link":
            _link(child, attributes, links, url, images)
        elif key == "id":
            guid = guid or clean(value)
        elif key == "summary":
            summary = summary or construct(child, value, attributes)
        elif key == "content":
            content = content or construct(child, value, attributes)
        elif key in _PUBLISHED:
            published = published or date_in(value)
        elif key in _UPDATED:
            updated = updated or date_in(value)
        elif key in _CATEGORIES:
            add_category(categories, attributes.get("term") or attributes.get("label") or value)
        elif key == "media:group":
            for media in children([child], keys)[0]:
                add_image(images, media, url)
        elif key in IMAGE_RANKS:
            add_image(images, (key, value, child, attributes), url)
    link = links.get("html") or links.get("other")
    image = best_image(images)
    # In field order, by position: see bot.models._quick_init.
    return Entry(guid, link, title, summary, content, tuple(categories), published, updated, image)


def _link(
    element: etree._Element,
    attributes: Mapping[str, str],
    links: dict[str, str],
    url: str | None,
    images: dict[int, str],
) -> None:
    """Note an entry link: the first HTML alternate, else any alternate; image enclosures."""
    rel = (attributes.get("rel") or "alternate").strip().lower()
    if rel == "enclosure" and (attributes.get("type") or "").startswith("image/"):
        href = resolve(element, attributes.get("href"), url)
        if href:
            images.setdefault(IMAGE_RANKS["enclosure"], href)
    if rel != "alternate":
        return
    kind = "html" if _is_alternate(attributes) else "other"
    if kind not in links:
        href = resolve(element, attributes.get("href"), url)
        if href:
            links[kind] = href


def _is_alternate(attributes: Mapping[str, str]) -> bool:
    """True for the attributes of a link to the HTML page."""
    rel = (attributes.get("rel") or "alternate").strip().lower()
    kind = (attributes.get("type") or "text/html").lower()
    return rel == "alternate" and ("html" in kind or kind.startswith("text/"))


def _base64(element: etree._Element) -> str | None:
    try:
        return base64.b64decode(element.text or "").decode("utf-8").strip() or None
    except (binascii.Error, UnicodeDecodeError):
        return None
