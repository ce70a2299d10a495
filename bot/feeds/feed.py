"""`parse_feed`: any feed body to a ParsedFeed, or one ParseError line saying why not."""

from __future__ import annotations

import re
from dataclasses import replace

from lxml import etree

from bot.errors import ParseError
from bot.feeds.atom import read_atom
from bot.feeds.encoding import declared_encoding, decode
from bot.feeds.jsonfeed import read_json
from bot.feeds.lift import read_lifted, utf8_from_cp949
from bot.feeds.repair import skip_junk
from bot.feeds.rss import read_rss
from bot.feeds.xmlsafe import has_doctype, parse_cp949_xml, parse_utf8_xml, parse_xml
from bot.feeds.xmltree import local_name
from bot.models import ParsedFeed

_JSON_TYPES = ("application/feed+json", "application/json")
_XML_START = re.compile(rb"(?:\xef\xbb\xbf)?\s*<")
_HTML_ROOTS = frozenset({"html", "head", "body", "div", "p", "br", "b", "table", "script"})
_BLANK = " \t\r\n\ufeff\x00"


def parse_feed(
    body: bytes, *, content_type: str | None = None, url: str | None = None
) -> ParsedFeed:
    """Read RSS 0.9x/1.0/2.0, Atom 0.3/1.0 or JSON Feed 1.0/1.1 from `body`.

    `content_type` is the HTTP header (its charset is one piece of encoding evidence);
    `url` is the feed's address, the base for relative links where the feed sets no
    xml:base. Raises ParseError with a one-line reason when no feed can be read.
    """
    fast_path = _fast_path(body, content_type)
    if fast_path is not None and (feed := _read_as_is(body, url, fast_path)) is not None:
        return feed
    text = skip_junk(decode(body, content_type))
    head = text[:4096].lstrip(_BLANK)
    if not head and not text.strip(_BLANK):
        raise ParseError("empty body")
    first = head[:1]
    if first in ("{", "[") or (_is_json_type(content_type) and first != "<"):
        return read_json(text, url)
    if first != "<":
        raise ParseError(f"not a feed: starts with {head[:20]!r}")
    parsed = parse_xml(text, url, as_is_first=fast_path != "utf-8")
    feed = _read(parsed.root, url)
    if parsed.whole_entries is None:
        return feed
    if parsed.whole_entries < len(feed.entries):
        # A cut-off body: entries past the last closing tag may hold half a title.
        feed = replace(feed, entries=feed.entries[: parsed.whole_entries])
    if not feed.entries and parsed.error:
        raise ParseError(parsed.error)  # recovery found nothing: say what was wrong
    return feed


def _read_as_is(body: bytes, url: str | None, encoding: str) -> ParsedFeed | None:
    """The fast paths: libxml2 reads the body without repairs (a CP949 one rewritten in
    UTF-8, when the C module is there). None when it rejects it (and `parse_xml` must
    repair it)."""
    feed = read_lifted(body, url, _read, encoding)
    if feed is not None:
        return feed
    if encoding == "cp949":
        utf8 = utf8_from_cp949(body)
        if utf8 is None:
            root = parse_cp949_xml(body, url)
            return None if root is None else _read(root, url)
        body = utf8
    root = parse_utf8_xml(body, url)
    if root is None:
        return None
    try:
        return _read(root, url)
    except UnicodeDecodeError:
        return None  # libxml2 passed an encoded surrogate; Python's decoder will not


def _read(root: etree._Element, url: str | None) -> ParsedFeed:
    name = local_name(root.tag)
    if name in ("rss", "RDF", "rdf"):
        return read_rss(root, url)
    if name == "feed":
        return read_atom(root, url)
    if name.lower() in _HTML_ROOTS:
        raise ParseError("not a feed: looks like an HTML page")
    raise ParseError(f"not a feed: the root element is <{name}>")


def _fast_path(body: bytes, content_type: str | None) -> str | None:
    """How libxml2 may try the bytes as they are: "utf-8", "cp949", or None (decode first).

    Only XML without a DOCTYPE qualifies. Valid UTF-8 wins over any label (see
    `decode`) and libxml2 rejects invalid UTF-8, so any label but another multibyte
    one makes UTF-8 worth a try; a Korean label on bytes that are not UTF-8 is CP949.
    """
    if not _XML_START.match(body) or b"\x00" in body[:4] or has_doctype(body):
        return None
    declared = declared_encoding(body, content_type)
    if declared in (None, "utf-8", "cp1252"):
        return "utf-8"
    if declared != "cp949" or body.isascii():
        return None
    try:
        body.decode("utf-8")  # fails within the first Hangul syllable of a CP949 body
    except UnicodeDecodeError:
        return "cp949"
    return None  # UTF-8 labelled Korean: `decode` reads it as UTF-8


def _is_json_type(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";")[0].strip().lower() in _JSON_TYPES
