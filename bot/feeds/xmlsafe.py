"""Turn feed text into an lxml tree, safely, whatever the CMS did to the XML.

The parser never loads a DTD, never touches the network and never expands an entity;
a DOCTYPE that declares entities (billion laughs, XXE) is refused outright. Well-formed
UTF-8 is parsed as it is (`parse_utf8_xml`). Anything else is decoded, repaired
(`bot.feeds.repair`: undeclared HTML entities, bare `&`, raw markup in titles) and
parsed strictly; only when that fails does libxml2's recovery mode read what it can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from bot.errors import ParseError
from bot.feeds.repair import NEEDS_REPAIR, fix_char_refs, fix_references, wrap_markup

_PROLOG = re.compile(
    r"\A\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*|<\?[^>]*>\s*)*"
    r"(?:<!DOCTYPE\s+(?P<name>[^\s\[>]+)[^\[>]*(?:\[(?P<subset>.*?)\]\s*)?>\s*)?",
    re.DOTALL | re.IGNORECASE,
)
_HTML_START = re.compile(r"<html[\s>]", re.IGNORECASE)
_CLOSED_ENTRY = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>")
#: Characters XML 1.0 forbids; CMSes paste them in from word processors.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))


def has_doctype(body: bytes) -> bool:
    """True when the body's prolog holds a DOCTYPE, which only `parse_xml` may inspect.

    The prolog is everything before the root element, however long its comments: a
    DOCTYPE after them is still one libxml2 would read. A DOCTYPE anywhere later is a
    syntax error, so the (long) rest of the body need not be searched.
    """
    return b"<!doctype" in body[: _prolog_end(body)].lower()


def _prolog_end(body: bytes) -> int:
    """Where the root element starts (past any `<!` that is not a comment), or the end."""
    at = 0
    while (at := body.find(b"<", at)) >= 0:
        if body.startswith(b"<!--", at):
            closing, skip = b"-->", 4
        elif body.startswith(b"<?", at):
            closing, skip = b"?>", 2
        else:
            # The root element, or a DOCTYPE: keep enough of it for the search.
            return at + len(b"<!doctype") if body.startswith(b"<!", at) else at
        at = body.find(closing, at + skip)
        if at < 0:
            break
    return len(body)


def parse_utf8_xml(body: bytes, url: str | None = None) -> etree._Element | None:
    """The fast path: UTF-8 XML without a DOCTYPE that parses strictly as it is.

    Returns None when the body needs the careful path of `parse_xml`: bytes that are
    not UTF-8, undeclared entities, a bare `&`, any other error.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        return _strict(body, url)
    except etree.XMLSyntaxError:
        return None


def parse_cp949_xml(body: bytes, url: str | None = None) -> etree._Element | None:
    """The fast path for Korean legacy feeds: CP949 bytes decoded by libxml2 itself.

    libxml2 is told CP949 whatever the declaration says (EUC-KR lacks syllables real
    feeds use), which saves decoding to text and encoding back to UTF-8. Returns None
    when the body needs `parse_xml`: bytes that are not CP949, any syntax error.
    """
    try:
        return _strict(body, url, encoding="cp949")
    except etree.XMLSyntaxError:
        return None


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed tree, and what recovery mode (if it was needed) says about it."""

    root: etree._Element
    #: When only recovery mode could read the text: how many entries were closed
    #: properly. Those after were cut off (a truncated body) and must not be shown
    #: with half a title. None when the text parsed strictly.
    whole_entries: int | None = None
    #: The strict parser's one-line complaint, when recovery was needed.
    error: str | None = None


def parse_xml(text: str, url: str | None = None, *, as_is_first: bool = True) -> Parsed:
    """Parse feed text into a tree, repairing what real feeds break.

    With `as_is_first`, the text is first parsed strictly without repairs (most
    legacy-encoded feeds are well-formed); callers that already saw that fail pass
    False. Raises ParseError (one line) for an HTML page, a DOCTYPE declaring
    entities, or XML from which not even recovery mode can build a tree.
    """
    body = _without_prolog(text)
    if as_is_first:
        try:
            return Parsed(_strict(_utf8(body), url))
        except etree.XMLSyntaxError:
            pass
    data = _utf8(_repair(body)).translate(None, _CONTROL_BYTES)
    try:
        return Parsed(_strict(data, url))
    except etree.XMLSyntaxError as exc:
        strict_error = exc
    try:
        root: etree._Element | None = _fromstring(data, recover=True, url=url)
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        raise ParseError(_describe(strict_error)) from strict_error
    return Parsed(root, len(_CLOSED_ENTRY.findall(text)), _describe(strict_error))


def _strict(data: bytes, url: str | None, *, encoding: str = "utf-8") -> etree._Element:
    try:
        return _fromstring(data, recover=False, url=url, encoding=encoding)
    except etree.XMLSyntaxError:
        # Control bytes pasted from word processors are the commonest cause; dropping
        # them is safe because no UTF-8 or CP949 multibyte sequence contains one.
        cleaned = data.translate(None, _CONTROL_BYTES)
        if len(cleaned) == len(data):
            raise
        return _fromstring(cleaned, recover=False, url=url, encoding=encoding)


def _utf8(text: str) -> bytes:
    if "\ufffe" in text or "\uffff" in text:
        text = text.replace("\ufffe", "").replace("\uffff", "")
    return text.encode("utf-8")


def _fromstring(
    data: bytes, *, recover: bool, url: str | None, encoding: str = "utf-8"
) -> etree._Element:
    parser = _parser(recover=recover, encoding=encoding)
    if url is None:
        return etree.fromstring(data, parser)
    return etree.fromstring(data, parser, base_url=url)


def _parser(*, recover: bool, encoding: str) -> etree.XMLParser:
    # A parser is cheap to make and not safe to share between threads: one per parse.
    return etree.XMLParser(
        encoding=encoding,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        collect_ids=False,  # no feed needs xml:id lookups; the hash table costs a third
        remove_comments=True,
        remove_pis=True,
        recover=recover,
    )


def _without_prolog(text: str) -> str:
    """Check the prolog and drop it (declaration, DOCTYPE); refuse HTML and entities."""
    prolog = _PROLOG.match(text)
    assert prolog is not None  # every part of the pattern is optional
    name, subset = prolog["name"], prolog["subset"]
    if name is not None and name.lower() == "html":
        raise ParseError("not a feed: looks like an HTML page")
    if subset is not None and "<!ENTITY" in subset.upper():
        raise ParseError("refused: the DOCTYPE declares entities (entity expansion or XXE)")
    if _HTML_START.match(text, prolog.end()):
        raise ParseError("not a feed: looks like an HTML page")
    return text[prolog.end() :]


def _repair(body: str) -> str:
    body = wrap_markup(body)
    if NEEDS_REPAIR.search(body):
        body = fix_references(body)
    return fix_char_refs(body)


def _describe(exc: etree.XMLSyntaxError) -> str:
    message = (exc.msg or str(exc) or "unreadable").splitlines()[0]
    message = re.sub(r",\s*line \d+, column \d+\s*$", "", message)
    if "Document is empty" in message or "Start tag expected" in message:
        return "not a feed: no XML element found"
    line = exc.lineno if exc.lineno else 1
    return f"malformed XML at line {line}: {message}"
