"""OPML 1.0/2.0 import and export of feed subscriptions; pure, no I/O.

`parse_opml` reads an OPML file from outside (an admin's upload) into proposed
sources plus one refusal per outline it will not propose, each with its reason; it
stores nothing and fetches nothing. The caller still runs every proposed URL through
the SSRF guard (`bot.netguard`) when it fetches it. `export_opml` writes sources back
out so that `parse_opml(export_opml(s))` gives `s` again.

The XML is read defensively: the size is checked before parsing, libxml2 loads no DTD,
reaches no network and refuses entity amplification (billion laughs), and a document
with a DOCTYPE is refused outright, since OPML needs none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lxml import etree
from yarl import URL

from bot.errors import FetchError, ParseError
from bot.netguard import check_url

MAX_BYTES = 5 * 1024 * 1024
MAX_SOURCES = 1000
#: As `SourceSettings.name` allows.
MAX_NAME = 100

# Characters XML 1.0 cannot carry, and the C0/C1 controls a name must not show.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class OpmlSource:
    """A source an OPML file proposes."""

    name: str
    url: str
    #: From the outline's `category` attribute and its enclosing folders, outermost first.
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OpmlRefusal:
    """An outline that is not proposed, and why, in one line."""

    #: The outline's name as the file gives it (may be empty).
    name: str
    #: Its `xmlUrl`, if it has one.
    url: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class OpmlImport:
    """What an OPML file proposes: sources in file order, and the outlines refused."""

    title: str | None
    sources: tuple[OpmlSource, ...]
    refused: tuple[OpmlRefusal, ...]


def parse_opml(
    body: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_sources: int = MAX_SOURCES,
    allow_private: bool = False,
) -> OpmlImport:
    """The sources an OPML document proposes, and the outlines it refuses with reasons.

    Raises `ParseError` with one line when the whole file is refused: over `max_bytes`
    (checked before any parsing), not XML, not OPML, or carrying a DOCTYPE. Outlines
    are refused one by one for: no `xmlUrl`, a scheme other than http(s), a forbidden
    address literal (unless `allow_private`), a URL seen earlier in the file, or
    coming after `max_sources` accepted ones. Linear in the number of outlines.
    """
    if len(body) > max_bytes:
        raise ParseError(f"the file is {len(body):,} bytes, over the {_size(max_bytes)} limit")
    root = _parse_xml(body)
    outlines = root.find("body")
    if outlines is None:
        raise ParseError("not OPML: <opml> without <body>")
    collector = _Collector(max_sources, allow_private)
    for outline in _outlines(outlines):
        collector.take(outline)
    title = _clean(root.findtext("head/title") or "") or None
    return OpmlImport(title, tuple(collector.sources), tuple(collector.refused))


def _size(limit: int) -> str:
    mib = 1024 * 1024
    return f"{limit // mib} MiB" if limit % mib == 0 else f"{limit:,} byte"


def _parse_xml(body: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not XML: {_first_line(str(exc))}") from exc
    if root is None or not isinstance(root.tag, str) or etree.QName(root).localname != "opml":
        raise ParseError(f"not OPML: the document is <{_tag(root)}>, not <opml>")
    if root.getroottree().docinfo.internalDTD is not None:
        raise ParseError("refused: the file has a DOCTYPE (OPML needs none; entities are unsafe)")
    return root


def _first_line(text: str) -> str:
    return (text.splitlines() or ["empty"])[0][:200]


def _tag(root: etree._Element | None) -> str:
    if root is None or not isinstance(root.tag, str):
        return "?"
    return etree.QName(root).localname[:50]


@dataclass(frozen=True, slots=True)
class _Outline:
    #: Attributes by lower-cased name (tools write xmlUrl, xmlURL, xmlurl), values stripped.
    attrs: dict[str, str]
    #: Outlines inside this one: it is a folder, unless it has an xmlUrl itself.
    has_children: bool
    #: Names of the folders around it, outermost first.
    folders: tuple[str, ...]

    @property
    def url(self) -> str | None:
        return self.attrs.get("xmlurl")

    @property
    def name(self) -> str:
        return _clean(self.attrs.get("title") or self.attrs.get("text") or "")


def _outlines(body: etree._Element) -> Iterator[_Outline]:
    """Every outline in document order, each read once.

    Iterative, so nesting depth costs no stack (libxml2 limits it anyway).
    """
    none: tuple[str, ...] = ()
    stack = [(child, none) for child in reversed(_children(body))]
    while stack:
        element, folders = stack.pop()
        children = _children(element)
        outline = _Outline(_attributes(element), bool(children), folders)
        yield outline
        inside = _folders_inside(outline)
        stack.extend((child, inside) for child in reversed(children))


def _children(element: etree._Element) -> list[etree._Element]:
    return [child for child in element if child.tag == "outline"]


def _attributes(element: etree._Element) -> dict[str, str]:
    return {str(key).lower(): str(value).strip() for key, value in element.attrib.items()}


def _folders_inside(outline: _Outline) -> tuple[str, ...]:
    name = outline.name if outline.url is None else ""
    return (*outline.folders, name) if name else outline.folders


class _Collector:
    """Accepts or refuses outlines one at a time; O(1) per outline."""

    def __init__(self, max_sources: int, allow_private: bool) -> None:
        self.max_sources = max_sources
        self.allow_private = allow_private
        self.sources: list[OpmlSource] = []
        self.refused: list[OpmlRefusal] = []
        self.seen: set[str] = set()

    def take(self, outline: _Outline) -> None:
        url = outline.url
        if url is None and outline.has_children:
            return  # a folder: its name is a category of the outlines inside
        reason, key = self._judge(url)
        if reason is not None or url is None:
            self.refused.append(OpmlRefusal(outline.name, url, reason or "no xmlUrl"))
            return
        self.seen.add(key)
        own = _categories(outline.attrs.get("category"))
        categories = tuple(dict.fromkeys((*outline.folders, *own)))
        self.sources.append(OpmlSource(outline.name or _host(url), url, categories))

    def _judge(self, url: str | None) -> tuple[str | None, str]:
        """Why `url` is refused (None if accepted), and its duplicate key."""
        if not url:
            return "no xmlUrl", ""
        # Before the URL checks, so outlines past the limit cost next to nothing.
        if len(self.sources) >= self.max_sources:
            return f"over the limit of {self.max_sources} sources per file", ""
        try:
            check_url(url, allow_private=self.allow_private)
        except FetchError as exc:
            return str(exc), ""
        key = _key(url)
        return ("duplicate of an earlier outline" if key in self.seen else None), key


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _NOT_XML.sub("", text)).strip()[:MAX_NAME]


def _categories(attribute: str | None) -> tuple[str, ...]:
    # OPML 2.0: comma-separated, slash-delimited paths ("/Tech/AI,/News"). A path is
    # kept whole ("IT/과학" is one section on Korean news sites), minus outer slashes.
    if not attribute:
        return ()
    return tuple(c for part in attribute.split(",") if (c := _clean(part.strip().strip("/"))))


def _key(url: str) -> str:
    """The URL for duplicate detection: scheme/host case, default port, fragment ignored."""
    parsed = URL(url)
    return f"{parsed.scheme}://{parsed.raw_host}:{parsed.port}{parsed.raw_path_qs}"


def _host(url: str) -> str:
    return URL(url).host or url[:MAX_NAME]


def export_opml(sources: Sequence[tuple[str, str, tuple[str, ...]]], title: str) -> bytes:
    """An OPML 2.0 document (UTF-8) listing `(name, url, categories)` sources in order.

    Each becomes `<outline type="rss" text= title= xmlUrl= category=>`, categories
    comma-separated. A comma inside a category cannot survive OPML's syntax and is
    written as a space; characters XML cannot carry are dropped.
    """
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _xml_text(title)
    body = etree.SubElement(root, "body")
    for name, url, categories in sources:
        outline = etree.SubElement(body, "outline", type="rss")
        outline.set("text", _xml_text(name))
        outline.set("title", _xml_text(name))
        outline.set("xmlUrl", _xml_text(url))
        if categories:
            outline.set("category", ",".join(_xml_text(c).replace(",", " ") for c in categories))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


__all__ = ["OpmlImport", "OpmlRefusal", "OpmlSource", "export_opml", "parse_opml"]
