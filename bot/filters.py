"""Keyword filters, as plain substring tests that the database can run for 100,000 chats at once.

A post's text (headline and excerpt) is normalized to ` word word … ` (case-folded,
punctuation gone, one space between words, a space at each end). A Latin keyword
becomes ` keyword ` (so it matches whole words only); a keyword with Hangul stays
bare (so `삼성` matches inside `삼성전자는`, as Korean readers expect). No
user-supplied regular expression ever runs.
"""

from __future__ import annotations

import re

from bot.errors import InvalidInput

#: Longest keyword, and most keywords per chat.
MAX_TERM = 100
MAX_FILTERS = 50

_WORD = re.compile(r"\w+")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")


def normalized_text(text: str) -> str:
    """` word word … `: what filter patterns are matched against."""
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


def pattern_for(term: str) -> str:
    """The substring that stands for `term` inside a normalized text."""
    words = " ".join(_WORD.findall(term.casefold()))
    return words if _HANGUL.search(words) else f" {words} "


def matches(pattern: str, text: str) -> bool:
    return pattern in normalized_text(text)


def parse_term(raw: str) -> tuple[str, bool]:
    """`반도체`, `"금리 인하"`, `-광고` → (term, exclude); `InvalidInput` when unusable."""
    text = raw.strip()
    exclude = text.startswith("-")
    text = text.removeprefix("-").strip().strip("\"'“”").strip()
    if not text:
        raise InvalidInput("empty keyword")
    if len(text) > MAX_TERM:
        raise InvalidInput(f"keyword over {MAX_TERM} characters")
    if not _WORD.search(text):
        raise InvalidInput("keyword has no letters or digits")
    return " ".join(text.split()), exclude
