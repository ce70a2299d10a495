"""Turn feed text into an lxml tree, safely, whatever the CMS did to the XML.

The parser never loads a DTD, never touches the network and never expands an entity;
a DOCTYPE that declares entities (billion laughs, XXE) is refused outright. Before
parsing, HTML entity names the XML does not declare (`&middot;`, `&nbsp;`) become
numeric references and a bare `&` becomes `&amp;`, outside CDATA only. A strict
parse runs first; only when it fails does libxml2's recovery mode read what it can.
"""

from __future__ import annotations

import re
from html.entities import html5

from lxml import etree

from bot.errors import ParseError

_PROLOG = re.compile(
    r"\A\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*|<\?[^>]*>\s*)*"
    r"(?:<!DOCTYPE\s+(?P<name>[^\s\[>]+)[^\[>]*(?:\[(?P<subset>.*?)\]\s*)?>\s*)?",
    re.DOTALL | re.IGNORECASE,
)
#: An `&` that does not start one of the five XML entities or a character reference.
_BAD_AMP = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)")
_AMP_OR_CDATA = re.compile(
    r"<!\[CDATA\[.*?\]\]>|"
    r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)"
    r"(?:([A-Za-z][A-Za-z0-9]{0,31});)?",
    re.DOTALL,
)
#: Characters XML 1.0 forbids; CMSes paste them in from word processors.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_HTML_START = re.compile(r"<html[\s>]", re.IGNORECASE)
_CHAR_REF = re.compile(r"&#([0-9]{1,7}|[xX][0-9a-fA-F]{1,6});")
_CLOSED_ENTRY = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>")
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_DOCTYPE_BYTES = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


def parse_utf8_xml(body: bytes, url: str | None = None) -> etree._Element | None:
    """The fast path: UTF-8 (or undeclared) XML that parses strictly as it is.

    Returns None when the body needs the careful path of `parse_xml`: a DOCTYPE to
    inspect, bytes that are not UTF-8, undeclared entities, a bare `&`, any error.
    Control bytes are dropped first: no UTF-8 multibyte sequence contains one.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if _DOCTYPE_BYTES.search(body, 0, 4096):
        return None
    try:
        return _fromstring(body.translate(None, _CONTROL_BYTES), recover=False, url=url)
    except etree.XMLSyntaxError:
        return None


def parse_xml(text: str, url: str | None = None) -> tuple[etree._Element, int | None]:
    """Parse feed text into its root element, repairing what real feeds break.

    Returns the root and, when only recovery mode could read the text, how many
    entries were closed properly: the ones after that were cut off (a truncated
    body) and must not be shown with half a title or link. None means all are whole.
    Raises ParseError (one line) for an HTML page, a DOCTYPE declaring entities, or
    XML from which not even recovery mode can build a tree.
    """
    data = _prepare(text)
    try:
        return _fromstring(data, recover=False, url=url), None
    except etree.XMLSyntaxError as exc:
        strict_error = exc
    try:
        root: etree._Element | None = _fromstring(data, recover=True, url=url)
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        raise ParseError(_describe(strict_error)) from strict_error
    return root, len(_CLOSED_ENTRY.findall(text))


def _fromstring(data: bytes, *, recover: bool, url: str | None) -> etree._Element:
    if url is None:
        return etree.fromstring(data, _parser(recover=recover))
    return etree.fromstring(data, _parser(recover=recover), base_url=url)


def _parser(*, recover: bool) -> etree.XMLParser:
    # A parser is cheap to make and not safe to share between threads: one per parse.
    return etree.XMLParser(
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=recover,
    )


def _prepare(text: str) -> bytes:
    """Check the prolog, drop declaration and DOCTYPE, repair entities; UTF-8 out."""
    prolog = _PROLOG.match(text)
    assert prolog is not None  # every part of the pattern is optional
    name, subset = prolog["name"], prolog["subset"]
    if name is not None and name.lower() == "html":
        raise ParseError("not a feed: looks like an HTML page")
    if subset is not None and "<!ENTITY" in subset.upper():
        raise ParseError("refused: the DOCTYPE declares entities (entity expansion or XXE)")
    if _HTML_START.match(text, prolog.end()):
        raise ParseError("not a feed: looks like an HTML page")
    body = text[prolog.end() :]
    if _CONTROL.search(body):
        body = _CONTROL.sub("", body)
    if _BAD_AMP.search(body):
        body = _AMP_OR_CDATA.sub(_fix_amp, body)
    if "&#" in body:
        body = _CHAR_REF.sub(_fix_char_ref, body)
    return body.encode("utf-8")


def _fix_amp(match: re.Match[str]) -> str:
    found = match.group(0)
    if found[0] == "<":
        return found  # CDATA is text as written: an `&` in it is not markup
    name = match.group(1)
    if name is None:
        return "&amp;"
    chars = html5.get(name + ";")
    if chars is None:
        return "&amp;" + name + ";"
    return "".join(f"&#{ord(char)};" for char in chars)


def _fix_char_ref(match: re.Match[str]) -> str:
    # Recovery mode would pass `&#xD800;` through as bytes no decoder accepts.
    digits = match.group(1)
    code = int(digits[1:], 16) if digits[0] in "xX" else int(digits)
    return match.group(0) if _is_xml_char(code) else "&#xFFFD;"


def _is_xml_char(code: int) -> bool:
    if code < 0x20:
        return code in (0x9, 0xA, 0xD)
    return code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def _describe(exc: etree.XMLSyntaxError) -> str:
    message = str(exc.msg or exc).splitlines()[0] if (exc.msg or str(exc)) else "unreadable"
    message = re.sub(r",\s*line \d+, column \d+\s*$", "", message)
    if "Document is empty" in message or "Start tag expected" in message:
        return "not a feed: no XML element found"
    line = exc.lineno if exc.lineno else 1
    return f"malformed XML at line {line}: {message}"
