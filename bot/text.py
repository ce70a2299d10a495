"""Plain text from markup, and cutting text to length without breaking it.

Pure functions: no I/O, no state. Used by the normalizer (markup → text,
boilerplate off) and by the formatter (cut to a platform's limit).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import regex


def _native() -> Callable[[str], list[str] | None] | None:
    try:
        from bot._text import paragraphs
    except ImportError:  # installed without a C compiler: Python does all the work
        return None
    return paragraphs


#: `paragraphs` in C (bot/_text.c, built by `pip install`), or None; it returns None
#: itself for markup it leaves to `python_paragraphs`.
native_paragraphs = _native()

ELLIPSIS = "…"

_BLOCK = re.compile(
    r"</?(?:p|div|li|ul|ol|h[1-6]|blockquote|pre|table|tr|section|article|header|footer"
    r"|figure|figcaption|hr|dd|dt)\b[^>]*>",
    re.IGNORECASE,
)
_BREAK = re.compile(r"<br\b[^>]*>", re.IGNORECASE)
_DROP = re.compile(
    r"<(script|style|noscript|template|iframe|object|svg)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_DROP_START = re.compile(r"<(?:script|style|noscript|template|iframe|object|svg)\b", re.IGNORECASE)
_UNCLOSED_DROP = re.compile(r"<(?:script|style)\b.*\Z", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v\u00a0\u3000]*\n\s*")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
#: Trailing lines newsrooms append to every post; dropped from excerpts. The Korean
#: phrases and the signs are searched as written: Hangul has no case, and Ⓒ is the
#: only character `lower()` makes into any of theirs (tests/unit/test_text.py checks).
#: Lower-casing Korean text costs more than the search. Every English phrase has an
#: r, so only a text with one is lower-cased and searched for them; with IGNORECASE
#: the alternation runs ten times slower.
_BOILERPLATE_MARKS = re.compile(
    r"실시간\s*뉴스|무단\s*전재|재배포\s*금지|저작권자|ⓒ|Ⓒ|©|더\s*보기|기사\s*원문"
)
_BOILERPLATE_WORDS = re.compile(
    r"copyright|all rights reserved|appeared first on|read more|continue reading"
)
_SENTENCE_END = regex.compile(r"[.!?。！？…](?=[\s\"'”’)\]]|$)")
_TOKEN = regex.compile(r"https?://\S+|www\.\S+|[\d][\d.,:/%-]*\d|\S+")
_GRAPHEME = regex.compile(r"\X")
_TRAILING_JUNK = " \t\n,;:-–—(/[·"


def looks_like_html(text: str) -> bool:
    return "<" in text or "&" in text


def html_to_text(markup: str) -> str:
    """The text a reader would see: tags gone, entities decoded, paragraphs kept.

    Paragraphs are separated by a blank line; whitespace inside one is collapsed.
    Regular expressions rather than an HTML parser: this runs for every entry of
    every fetch, and only the visible text is wanted, not the tree.
    """
    return "\n\n".join(paragraphs(markup))


def paragraphs(markup: str) -> list[str]:
    """The paragraphs of `html_to_text`, each on one line, none empty."""
    if native_paragraphs is not None and (found := native_paragraphs(markup)) is not None:
        return found
    return python_paragraphs(markup)


def python_paragraphs(markup: str) -> list[str]:
    """`paragraphs` in Python: the definition `bot/_text.c` follows, and its fallback."""
    text = _visible(markup) if looks_like_html(markup) else markup
    if "\u200b" in text:
        text = text.replace("\u200b", "")
    return [line for part in _PARAGRAPH.split(text) if part and (line := one_line(part))]


def _visible(markup: str) -> str:
    """Markup's visible text, paragraph breaks as blank lines, whitespace untidy."""
    text = _COMMENT.sub("", markup) if "<!--" in markup else markup
    if "<" in text:
        if _DROP_START.search(text):
            text = _UNCLOSED_DROP.sub("", _DROP.sub("", text))
        text = _TAG.sub("", _BLOCK.sub("\n\n", _BREAK.sub("\n", text)))
    return html.unescape(text) if "&" in text else text


def single_line(text: str) -> str:
    """Markup off and every run of whitespace, newlines included, as one space."""
    # The paragraphs are the words of the visible text, cut only at whitespace.
    return " ".join(paragraphs(text))


def one_line(text: str) -> str:
    """Every run of whitespace as one space, none at the ends."""
    # `isprintable` is False for every whitespace character but the ASCII space, so a
    # text that passes it and has no double space is already tidy. One C-level pass:
    # splitting into words and joining them again costs ten times more on Korean text.
    if text.isprintable() and "  " not in text:
        return text.strip(" ")
    return " ".join(text.split())


def strip_boilerplate(text: str) -> str:
    """`text` (paragraphs as `html_to_text` gives them) without its site signature."""
    return "\n\n".join(without_boilerplate(text.split("\n\n")))


def without_boilerplate(paragraphs: list[str]) -> list[str]:
    """Drop trailing paragraphs that are a site's signature, not the story.

    A trailing paragraph goes when it is short and either names a known
    boilerplate phrase or is mostly a bare URL; at most three are dropped, and the
    first stays unless it is nothing but a link with a signature.
    """
    kept = paragraphs[:]
    while len(kept) > 1 and len(paragraphs) - len(kept) < 3 and _is_boilerplate(kept[-1]):
        kept.pop()
    if len(kept) == 1 and "://" in kept[0] and _is_boilerplate(kept[0]) and _URL.search(kept[0]):
        return []
    return kept


def _is_boilerplate(paragraph: str) -> bool:
    if len(paragraph) > 160:
        return False
    if _BOILERPLATE_MARKS.search(paragraph):
        return True
    if ("r" in paragraph or "R" in paragraph) and _BOILERPLATE_WORDS.search(paragraph.lower()):
        return True
    if "://" not in paragraph:
        return False  # no URL: not a bare link either
    without_urls = _URL.sub("", paragraph).strip(" ,.:;-|")
    return bool(_URL.search(paragraph)) and len(without_urls) < 30


def leading(paragraphs: list[str], limit: int) -> str:
    """Whole leading paragraphs up to about `limit` characters (at least one)."""
    size = -2
    for count, paragraph in enumerate(paragraphs):
        size += len(paragraph) + 2
        if count and size > limit:
            return "\n\n".join(paragraphs[:count])
    return "\n\n".join(paragraphs)


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
