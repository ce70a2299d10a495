"""Text repairs for feeds that are not well-formed XML, applied before a re-parse.

Only the careful path runs these (a feed that parses strictly never does), and each
is a single linear pass. They turn what CMS templates typically break into what the
author meant, so that libxml2's recovery mode is left with as little guessing as
possible: a guess there can silently swallow the next item's link.
"""

from __future__ import annotations

import re
from html.entities import html5

#: Elements whose content is text or escaped HTML in RSS and Atom (never XML).
_TEXT_OPEN = re.compile(
    r"<(title|description|summary|content:encoded|content|subtitle|dc:description)(\s[^>]*)?>"
)
#: Splits text into outside/inside CDATA (inside at odd indexes).
_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)
#: An `&` that starts no reference at all: the commonest repair, done without a callback.
_BARE_AMP = re.compile(r"&(?!(?:[A-Za-z][A-Za-z0-9]{0,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)")
#: A named reference XML does not predefine (`&middot;`).
_HTML_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z][A-Za-z0-9]{0,31});")
_LONE_LT = re.compile(r"<(?![A-Za-z_/!?])")
#: Something `_REPAIR` would change: an `&` that is not a reference, a `<` not a tag.
NEEDS_REPAIR = re.compile(
    r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)|<(?![A-Za-z_/!?])"
)
_CHAR_REF = re.compile(r"&#([0-9]{1,7}|[xX][0-9a-fA-F]{1,6});")
_FEED_START = re.compile(r"<\?xml|<(?:rss|feed|rdf:RDF|RDF)[\s>]")
_CLEAN_START = re.compile(r"\s*(?:<\?xml|<!--|(?i:<!DOCTYPE)|<(?:rss|feed|rdf:RDF|RDF)[\s>]|[{\[])")


def skip_junk(text: str) -> str:
    """Drop what a broken server printed before the feed (PHP warnings, a stray `<br />`)."""
    if _CLEAN_START.match(text):
        return text
    start = _FEED_START.search(text, 0, 8192)
    return text[start.start() :] if start else text


def wrap_markup(text: str) -> str:
    """Put raw markup inside text elements into CDATA: `<title>A<br>B</title>` stays
    one title instead of an unclosed `<br>` that swallows the rest of the item.

    Linear: once a closing tag is missing, that element name is not searched again.
    """
    out: list[str] = []
    position = 0
    missing: set[str] = set()
    for opening in _TEXT_OPEN.finditer(text):
        name, attributes = opening.group(1), opening.group(2) or ""
        if opening.start() < position or name in missing or "xhtml" in attributes:
            continue
        close = text.find(f"</{name}>", opening.end())
        if close < 0:
            missing.add(name)
            continue
        inner = text[opening.end() : close]
        if "<" not in inner or "<![CDATA[" in inner:
            continue
        out.append(text[position : opening.end()])
        out.append("<![CDATA[" + inner.replace("]]>", "]]]]><![CDATA[>") + "]]>")
        position = close
    out.append(text[position:])
    return "".join(out)


def fix_references(text: str) -> str:
    """Undeclared HTML entities become character references, a bare `&` becomes
    `&amp;`, a `<` that starts no tag becomes `&lt;`; CDATA is left as written."""
    if "<![CDATA[" not in text:
        return _fix_outside_cdata(text)
    parts = _CDATA.split(text)
    parts[::2] = [_fix_outside_cdata(part) for part in parts[::2]]
    return "".join(parts)


def _fix_outside_cdata(text: str) -> str:
    text = _BARE_AMP.sub("&amp;", text)
    text = _HTML_ENTITY.sub(_entity, text)
    return _LONE_LT.sub("&lt;", text)


def _entity(match: re.Match[str]) -> str:
    chars = html5.get(match.group(1) + ";")
    if chars is None:
        return "&amp;" + match.group(1) + ";"  # not an entity anywhere: literal text
    return "".join(f"&#{ord(char)};" for char in chars)


def fix_char_refs(text: str) -> str:
    """Replace references to characters XML forbids (`&#xD800;`, `&#1;`) with U+FFFD,
    which recovery mode would otherwise pass on as bytes no decoder accepts."""
    return _CHAR_REF.sub(_fix_char_ref, text) if "&#" in text else text


def _fix_char_ref(match: re.Match[str]) -> str:
    digits = match.group(1)
    code = int(digits[1:], 16) if digits[0] in "xX" else int(digits)
    return match.group(0) if _is_xml_char(code) else "&#xFFFD;"


def _is_xml_char(code: int) -> bool:
    if code < 0x20:
        return code in (0x9, 0xA, 0xD)
    return code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
