"""Read a UTF-8 or CP949 feed with its long texts lifted out of libxml2's way.

libxml2 copies character data one character at a time, and a feed is mostly the text
of its summaries. `bot/feeds/_lift.c` takes each long summary out of the body, decodes
it as XML would, and leaves a mark in its place: U+E000 and the text's index, in a
body that holds no U+E000 of its own. libxml2 parses what is left, and the readers
read it as usual: `xmltree.clean`, through which every summary is read, swaps a mark
for its text (`lifted`). A mark anywhere else in what the readers return means they
took a summary's content some other way, and the body is read again, whole. The tests
compare both readings on every fixture. Without the C module, nothing is lifted.

What is left of a CP949 body comes back in UTF-8, and the same module rewrites a
whole CP949 body in UTF-8 (`utf8_from_cp949`): both faster than libxml2 decodes
CP949.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from lxml import etree

from bot.feeds.xmlsafe import parse_utf8_xml
from bot.models import ParsedFeed

MARK = "\ue000"

Reader = Callable[[etree._Element, str | None], ParsedFeed]

#: The texts lifted from the body being read, while `read_lifted` reads it.
_texts: ContextVar[list[str] | None] = ContextVar("lifted_texts", default=None)


Lift = Callable[[bytes, bool], tuple[bytes, list[str]] | None]
ToUtf8 = Callable[[bytes], bytes | None]


def _native() -> tuple[Lift, ToUtf8] | tuple[None, None]:
    try:
        from bot.feeds._lift import cp949_to_utf8, lift
    except ImportError:  # installed without a C compiler
        return None, None
    return lift, cp949_to_utf8


_lift, _to_utf8 = _native()


def utf8_from_cp949(body: bytes) -> bytes | None:
    """The CP949 `body` in UTF-8, for libxml2 to read as it would read the CP949; None
    without the C module or when the body holds bytes Python's CP949 does not read."""
    return _to_utf8(body) if _to_utf8 is not None else None


def read_lifted(
    body: bytes, url: str | None, read: Reader, encoding: str = "utf-8"
) -> ParsedFeed | None:
    """`read(parse_utf8_xml(body, url), url)` (for "cp949", of the body in UTF-8),
    sooner; None when lifting does not apply (nothing to lift, a body libxml2 rejects,
    a mark that reached the result)."""
    lifted = _lift(body, encoding == "cp949") if _lift is not None else None
    if lifted is None:
        return None
    rest, texts = lifted
    root = parse_utf8_xml(rest, url)
    if root is None:
        return None
    reading = _texts.set(texts)
    try:
        feed = read(root, url)
    except UnicodeDecodeError:
        return None  # what parse_feed does for the whole body too
    finally:
        _texts.reset(reading)
    return None if _marked(feed, texts) else feed


def lifted(value: str) -> str:
    """The text a mark stands for while a lifted body is read; else `value` itself."""
    texts = _texts.get()
    digits = value[1:]
    if texts is None or not (digits.isascii() and digits.isdigit()):
        return value
    index = int(digits)
    return texts[index] if index < len(texts) else value


def _marked(feed: ParsedFeed, texts: list[str]) -> bool:
    """True when a mark reached the result. The lifted texts themselves hold none (the
    scanner lifts nothing from a body holding U+E000), so they need no search."""
    if MARK in f"{feed.title}{feed.link}":
        return True
    plain = {id(text) for text in texts}
    for entry in feed.entries:
        fields = (entry.title, entry.link, entry.guid, entry.summary, entry.content, entry.image)
        for value in (*fields, *entry.categories):
            if value and id(value) not in plain and MARK in value:
                return True
    return False
