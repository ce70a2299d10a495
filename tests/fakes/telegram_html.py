"""Telegram's HTML parse mode, as the Bot API checks and shows it.

`parse_html` answers what a user would see (tags removed, the four entities
and numeric references decoded) and the formatted spans, or raises `HtmlError`
with the wording Telegram uses after "Bad Request: can't parse entities: ".
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass


class HtmlError(ValueError):
    """The text is not HTML as Telegram accepts it; the message is Telegram's."""


@dataclass(frozen=True)
class Entity:
    """One formatted span: `bold`, `italic`, `text_link` (with `url`), `code`, …"""

    type: str
    text: str
    url: str | None = None


_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "a": "text_link", "code": "code", "pre": "pre",
    "tg-spoiler": "spoiler", "span": "spoiler", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}  # fmt: skip
_TOKEN_RE = re.compile(r"(<[^<>]*>)|(&#?\w+;)|([^<&]+)|(<)|(&)")
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][\w-]*)(.*)>", re.S)
_ATTR_RE = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """The visible text and its entities, or `HtmlError` with Telegram's wording."""
    out: list[str] = []
    entities: list[Entity] = []
    open_tags: list[tuple[str, int, str | None]] = []
    for match in _TOKEN_RE.finditer(text):
        offset = len(text[: match.start()].encode())
        tag, entity, plain, stray_lt = match.group(1, 2, 3, 4)
        if stray_lt:
            raise HtmlError(f'Unsupported start tag "" at byte offset {offset}')
        if tag:
            _tag(tag, offset, out, open_tags, entities)
        elif entity:
            decoded = html.unescape(entity)
            out.append(decoded if entity[1:-1] in ("lt", "gt", "amp", "quot") or "#" in entity
                       else entity)  # fmt: skip
        else:
            out.append(plain or "&")
    if open_tags:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    return "".join(out), entities


def _tag(
    tag: str,
    offset: int,
    out: list[str],
    open_tags: list[tuple[str, int, str | None]],
    entities: list[Entity],
) -> None:
    match = _TAG_RE.fullmatch(tag)
    name = match.group(2).lower() if match else ""
    if not match or name not in _TAGS:
        raise HtmlError(f'Unsupported start tag "{name}" at byte offset {offset}')
    if not match.group(1):
        attrs = {m[0].lower(): html.unescape(m[1] or m[2] or m[3]) for m in
                 _ATTR_RE.findall(match.group(3))}  # fmt: skip
        open_tags.append((name, len("".join(out)), attrs.get("href")))
        return
    if not open_tags or open_tags[-1][0] != name:
        raise HtmlError(f"Unmatched end tag at byte offset {offset}, expected end tag")
    _, start, href = open_tags.pop()
    entities.append(Entity(_TAGS[name], "".join(out)[start:], href))
