"""Plain text from markup, and cutting text to length without breaking it.

Pure functions: no I/O, no state. Used by the normalizer (markup → text,
boilerplate off) and by the formatter (cut to a platform's limit).
"""

from __future__ import annotations

import html
import re

import lxml.etree
import lxml.html
import regex

ELLIPSIS = "…"

_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    | {"pre", "table", "tr", "section", "article", "header", "footer", "figure"}
    | {"figcaption", "hr", "dd", "dt"}
)
_DROP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg"})
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b\u3000]+")
_PARAGRAPH_BREAK = re.compile(r"\s*\n\s*\n\s*")
_LINE_BREAK = re.compile(r" *\n *")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
#: Trailing lines newsrooms append to every post; dropped from excerpts.
_BOILERPLATE = re.compile(
    r"(실시간\s*뉴스|무단\s*전재|재배포\s*금지|저작권자|ⓒ|©|copyright|all rights reserved"
    r"|appeared first on|read more|continue reading|더\s*보기|기사\s*원문)",
    re.IGNORECASE,
)
_SENTENCE_END = regex.compile(r"[.!?。！？…](?=[\s\"'”’)\]]|$)")
_TOKEN = regex.compile(r"https?://\S+|www\.\S+|[\d][\d.,:/%-]*\d|\S+")
_GRAPHEME = regex.compile(r"\X")
_TRAILING_JUNK = " \t\n,;:-–—(/[·"


def looks_like_html(text: str) -> bool:
    return bool(_TAG.search(text)) or "&" in text


def html_to_text(markup: str) -> str:
    """The text a reader would see: tags gone, entities decoded, paragraphs kept.

    Paragraphs are separated by a blank line; whitespace inside one is collapsed.
    """
    if not looks_like_html(markup):
        return _tidy(markup)
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return _tidy(html.unescape(_TAG.sub(" ", markup)))
    parts: list[str] = []
    _walk(root, parts)
    return _tidy("".join(parts))


def _walk(element: lxml.html.HtmlElement, parts: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _DROP_TAGS:
        if element.tail:
            parts.append(element.tail)
        return
    block = tag in _BLOCK_TAGS
    if block:
        parts.append("\n\n" if tag != "br" else "\n")
    if element.text and isinstance(element.tag, str):
        parts.append(element.text)
    for child in element:
        _walk(child, parts)
    if block and tag != "br":
        parts.append("\n\n")
    if element.tail:
        parts.append(element.tail)


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", text)
    text = _PARAGRAPH_BREAK.sub("\n\n", text)
    text = _LINE_BREAK.sub("\n", text)
    return text.strip()


def single_line(text: str) -> str:
    """Markup off and every run of whitespace, newlines included, as one space."""
    return " ".join(html_to_text(text).split())


def strip_boilerplate(text: str) -> str:
    """Drop trailing paragraphs that are a site's signature, not the story.

    A trailing paragraph goes when it is short and either names a known
    boilerplate phrase or is mostly a bare URL; at most three are dropped.
    """
    paragraphs = [p for p in re.split(r"\n+", text) if p.strip()]
    for _ in range(3):
        if len(paragraphs) < 2 or not _is_boilerplate(paragraphs[-1]):
            break
        paragraphs.pop()
    if len(paragraphs) == 1 and _is_boilerplate(paragraphs[0]) and _URL.search(paragraphs[0]):
        return ""
    return "\n\n".join(paragraphs)


def _is_boilerplate(paragraph: str) -> bool:
    if len(paragraph) > 160:
        return False
    if _BOILERPLATE.search(paragraph):
        return True
    without_urls = _URL.sub("", paragraph).strip(" ,.:;-|")
    return bool(_URL.search(paragraph)) and len(without_urls) < 30


def first_paragraphs(text: str, limit: int) -> str:
    """Whole leading paragraphs up to about `limit` characters (at least one)."""
    chosen: list[str] = []
    size = 0
    for paragraph in text.split("\n\n"):
        if chosen and size + len(paragraph) > limit:
            break
        chosen.append(paragraph)
        size += len(paragraph) + 2
    return "\n\n".join(chosen)


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, `…` included when cut.

    The cut falls, by preference, after a sentence in the second half of the
    window, else between words; never inside a grapheme cluster, a URL or a number.
    """
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    window = text[: limit - 1]
    floor = limit // 2
    cut = _last_sentence_end(window, floor) or _last_space(window, floor)
    if cut is None:
        cut = _safe_hard_cut(text, limit - 1)
    return window[:cut].rstrip(_TRAILING_JUNK) + ELLIPSIS


def _last_sentence_end(window: str, floor: int) -> int | None:
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    good = [end for end in ends if end >= floor]
    return good[-1] if good else None


def _last_space(window: str, floor: int) -> int | None:
    cut = max(window.rfind(" "), window.rfind("\n"))
    return cut if cut >= floor else None


def _safe_hard_cut(text: str, budget: int) -> int:
    """The largest grapheme boundary ≤ budget that is not inside a URL or number."""
    cut = 0
    for match in _GRAPHEME.finditer(text):
        if match.end() > budget:
            break
        cut = match.end()
    for token in _TOKEN.finditer(text):
        if token.start() < cut < token.end() and not token.group().isalpha():
            return int(token.start())
        if token.start() >= cut:
            break
    return cut
