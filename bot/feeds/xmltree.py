"""Small helpers the RSS and Atom readers share: tag keys, element text, links.

Elements are dispatched on a short key ("title", "dc:date", "media:thumbnail")
computed once per distinct tag and cached, so reading an item costs one dict lookup
per child instead of a namespace comparison. `children` hands the readers every
child of every item at once, with its key, text and attributes, from C when it can
(bot/feeds/_tree.c).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from types import MappingProxyType
from urllib.parse import urljoin

from lxml import etree

from bot.feeds.dates import parse_date
from bot.feeds.lift import MARK, lifted

ATOM10 = "http://www.w3.org/2005/Atom"
ATOM03 = "http://purl.org/atom/ns#"
RSS10 = "http://purl.org/rss/1.0/"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XHTML = "http://www.w3.org/1999/xhtml"

#: Namespaces we read, by the prefix their keys carry. Misspellings seen in the wild
#: (the media namespace without its trailing slash) are listed too.
PREFIXES = {
    "http://purl.org/dc/elements/1.1/": "dc:",
    "http://purl.org/dc/terms/": "dcterms:",
    "http://purl.org/rss/1.0/modules/content/": "content:",
    "http://search.yahoo.com/mrss/": "media:",
    "http://search.yahoo.com/mrss": "media:",
    "http://www.itunes.com/dtds/podcast-1.0.dtd": "itunes:",
    RDF: "rdf:",
    XHTML: "xhtml:",
    ATOM10: "atom:",
    ATOM03: "atom:",
}

_NS_DECL = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_PREFIXED_TAG = re.compile(r"<(/?)[A-Za-z_][\w.-]*:")

_IMAGE_FILE = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(?:[?#]|$)", re.IGNORECASE)

#: Image sources, best first.
IMAGE_RANKS = {"media:thumbnail": 0, "media:content": 1, "enclosure": 2, "itunes:image": 3}


class TagKeys(dict[object, str]):
    """Maps lxml tags to keys (`keys[element.tag]`); `core` namespaces map to bare
    local names. A dict, so a known tag costs one C-level lookup; `__missing__`
    computes and remembers each new tag once."""

    def __init__(self, core: Iterable[str]) -> None:
        super().__init__()
        self._prefixes = dict(PREFIXES)
        for namespace in core:
            self._prefixes[namespace] = ""

    def __missing__(self, tag: object) -> str:
        key = self[tag] = self._key(tag) if isinstance(tag, str) else ""
        return key

    def _key(self, tag: str) -> str:
        if tag[0] != "{":
            # No namespace, or a prefix the feed forgot to declare (recovered as-is).
            return tag
        namespace, _, local = tag[1:].partition("}")
        prefix = self._prefixes.get(namespace)
        return "" if prefix is None else prefix + local


#: A child element as the readers take it: its key, its text (`element.text`), itself,
#: and its attributes (`element.attrib`, read once: `element.get` is slow).
Child = tuple[str, str | None, etree._Element, Mapping[str, str]]
Children = Callable[[Sequence[etree._Element], TagKeys], list[list[Child]]]

_NO_ATTRIBUTES: Mapping[str, str] = MappingProxyType({})


def python_children(parents: Sequence[etree._Element], keys: TagKeys) -> list[list[Child]]:
    """`children` in Python: the definition bot/feeds/_tree.c follows, and its fallback."""
    return [
        [
            (keys[child.tag], child.text, child, _attributes(child))
            for child in parent
            if isinstance(child.tag, str)
        ]
        for parent in parents
    ]


def _attributes(element: etree._Element) -> Mapping[str, str]:
    # lxml gives str names and values (its stubs allow bytes).
    found = {str(name): str(value) for name, value in element.items()}
    return found or _NO_ATTRIBUTES


def _native() -> Children | None:
    try:
        from bot.feeds._tree import children
    except ImportError:  # built without a compiler or lxml's headers, or another lxml API
        return None
    return children


#: `children` in C, or None.
native_children = _native()


def children(parents: Sequence[etree._Element], keys: TagKeys) -> list[list[Child]]:
    """For each of `parents`, its child elements (comments and the like left out) as
    `Child`s, in document order."""
    read = native_children if native_children is not None else python_children
    return read(parents, keys)


def local_name(tag: object) -> str:
    """The tag without its namespace; "" for comments and entities."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def text(element: etree._Element) -> str | None:
    """The element's stripped text, None when empty."""
    return clean(element.text)


def clean(value: str | None) -> str | None:
    """An element's text as the readers keep it: stripped, None when empty."""
    if value is None:
        return None
    if value[:1] == MARK:
        value = lifted(value)  # a long text bot/feeds/lift.py took out of the body
    return value.strip() or None


def inner(element: etree._Element, value: str | None = None) -> str | None:
    """Text plus any child markup, as the source wrote it (HTML left unescaped in a
    title). `value`: the element's text, when the caller has it already."""
    if len(element) == 0:
        return clean(element.text if value is None else value)
    parts = [escape(element.text or "", quote=False)]
    parts.extend(_serialize(child) for child in element)
    value = "".join(parts).strip()
    return value or None


def xhtml(element: etree._Element) -> str | None:
    """Flatten an Atom type="xhtml" construct: the wrapping div's content as markup."""
    children = list(element)
    if len(children) == 1 and local_name(children[0].tag) == "div" and not text(element):
        element = children[0]
    if len(element) == 0:
        value = escape(element.text or "", quote=False).strip()
        return value or None
    return inner(element)


def _serialize(child: etree._Element) -> str:
    markup = etree.tostring(child, encoding="unicode", with_tail=True)
    if "xmlns" in markup:
        markup = _PREFIXED_TAG.sub(r"<\1", _NS_DECL.sub("", markup))
    return markup


def resolve(element: etree._Element, href: str | None, fallback: str | None) -> str | None:
    """`href` made absolute on the element's xml:base / document URL, else on `fallback`."""
    if not href:
        return None
    href = href.strip()
    if "&amp;" in href:
        href = href.replace("&amp;", "&")  # escaped twice by the CMS template
    if href.startswith(("http://", "https://")):
        return href
    base = element.base or fallback
    if not base or not href:
        return href or None
    try:
        return urljoin(base, href)
    except ValueError:
        return href


def image_of(attributes: Mapping[str, str], key: str) -> str | None:
    """The image URL an RSS/Atom media element with these attributes points to, None if
    it is not an image."""
    if key == "media:thumbnail":
        return attributes.get("url")
    if key in ("media:content", "enclosure"):
        url = attributes.get("url")
        kind = attributes.get("type") or ""
        medium = attributes.get("medium") or ""
        if medium == "image" or kind.startswith("image/"):
            return url
        # Many CMSes leave out the type; an image file name is evidence enough.
        return url if not kind and not medium and url and _IMAGE_FILE.search(url) else None
    if key == "itunes:image":
        return attributes.get("href")
    return None


def add_category(categories: list[str], value: str | None) -> None:
    """Add a category once, stripped; empty values are ignored."""
    value = clean(value)
    if value and value not in categories:
        categories.append(value)


def add_image(images: dict[int, str], child: Child, base: str | None) -> None:
    """Note the image a media element points to, by its rank in `IMAGE_RANKS`, if it
    is one and no image of that rank came first."""
    key, _, element, attributes = child
    rank = IMAGE_RANKS.get(key)
    if rank is not None and rank not in images:
        found = resolve(element, image_of(attributes, key), base)
        if found:
            images[rank] = found


def best_image(images: dict[int, str]) -> str | None:
    """The best-ranked image `add_image` noted."""
    return images[min(images)] if images else None


def date_in(value: str | None) -> datetime | None:
    """An element's text (`Child`) as a date, None if empty or unreadable."""
    value = clean(value)
    return parse_date(value) if value else None
