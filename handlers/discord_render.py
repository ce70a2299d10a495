"""Discord's markup for newsbot's records: an `Alert` as an embed, a `Reply` as message parts.

Pure apart from `ButtonIds`, which remembers the few button payloads too long
for a custom id. Every limit below is Discord's own.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import discord
from discord.utils import escape_markdown

from bot.models import Alert, Button, Language, LinkItem, Reply

CONTENT_LENGTH = 2000
TITLE_LENGTH = 256
DESCRIPTION_LENGTH = 4096
FOOTER_LENGTH = 2048
EMBED_TOTAL = 6000
BUTTON_LABEL_LENGTH = 80
CUSTOM_ID_LENGTH = 100
MAX_BUTTONS = 25
MAX_ROWS = 5
ROW_WIDTH = 5
MAX_OPTIONS = 25
OPTION_LABEL_LENGTH = 100
PLACEHOLDER_LENGTH = 150

BREAKING_COLOUR = discord.Colour.red()
NORMAL_COLOUR = discord.Colour.blurple()
BREAKING_LABEL: dict[Language, str] = {"ko": "🔴 속보", "en": "🔴 Breaking"}


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _http(url: str | None) -> str | None:
    return url if url and url.startswith(("https://", "http://")) and len(url) <= 2048 else None


def alert_embed(alert: Alert, language: Language) -> discord.Embed:
    """The alert as one embed: headline linking to the post, excerpt, breaking marks.

    A broadcast has no headline; its text is the description. The total stays
    within Discord's 6000 characters by shortening the description.
    """
    link = _http(alert.link)
    description = escape_markdown(alert.excerpt)
    if link and not alert.headline:
        description = f"{description}\n{link}".strip()
    for item in alert.items:  # a digest: one linked headline a line, as many as fit
        line = _item_line(item)
        if len(description) + len(line) + 1 > DESCRIPTION_LENGTH:
            break
        description = f"{description}\n{line}" if description else line
    embed = discord.Embed(
        title=cut(alert.headline, TITLE_LENGTH) or None,
        url=link if alert.headline else None,
        description=cut(description, DESCRIPTION_LENGTH) or None,
        colour=BREAKING_COLOUR if alert.breaking else NORMAL_COLOUR,
        timestamp=alert.published_at,
    )
    if alert.breaking:
        embed.set_author(name=BREAKING_LABEL[language])
    footer = _footer(alert)
    if footer:
        embed.set_footer(text=cut(footer, FOOTER_LENGTH))
    if _http(alert.image):
        embed.set_thumbnail(url=alert.image)
    return _within_total(embed)


def _footer(alert: Alert) -> str:
    tags = " ".join("#" + "_".join(c.split()) for c in alert.categories if c.strip())
    return " · ".join(part for part in (alert.source or alert.site or "", tags) if part)


def _within_total(embed: discord.Embed) -> discord.Embed:
    excess = len(embed) - EMBED_TOTAL
    if excess > 0 and embed.description:
        embed.description = cut(embed.description, max(len(embed.description) - excess, 1))
    return embed


def _item_line(item: LinkItem) -> str:
    title = escape_markdown(item.title).replace("[", "\\[").replace("]", "\\]")
    url = item.link.replace(" ", "%20").replace(")", "%29")
    line = f"{'🔴 ' if item.breaking else ''}[{cut(title, 200)}]({url})"
    if item.published_at is not None:
        line += f" · {_relative(item.published_at)}"
    return line


def _relative(when: datetime) -> str:
    # Discord shows this in each reader's own time zone and language.
    return f"<t:{int(when.timestamp())}:R>"


def reply_body(reply: Reply) -> tuple[str | None, discord.Embed | None]:
    """The reply's text and items as (content, embed): plain content when it fits, else an embed."""
    text = escape_markdown(reply.text)
    if not reply.items and len(text) <= CONTENT_LENGTH:
        return text or None, None
    description = text
    for item in reply.items:
        line = _item_line(item)
        if len(description) + len(line) + 1 > DESCRIPTION_LENGTH:
            break
        description = f"{description}\n{line}" if description else line
    return None, discord.Embed(
        description=cut(description, DESCRIPTION_LENGTH), colour=NORMAL_COLOUR
    )


@dataclass(frozen=True, slots=True)
class Menu:
    """A select menu under a reply: choosing an option runs that option's command.

    Each option is a `Button` (label, command, args), so choosing runs the very
    `Invocation` the same button would.
    """

    #: Unique within a message; the menu's custom id is `nbm:` + name.
    name: str
    placeholder: str
    options: tuple[Button, ...]


class ButtonIds:
    """Encodes a button's `command args` in its custom id, and back.

    Short payloads travel inside the id (`nb:latest 3`), so they survive a
    restart; the rare payload longer than Discord's 100 characters is kept here
    (`nb#7`), the newest `capacity` of them.
    """

    PREFIX = "nb:"
    KEPT = "nb#"
    #: A select menu's own custom id; its options' values are encoded like buttons.
    MENU = "nbm:"

    def __init__(self, capacity: int = 1024) -> None:
        self._kept: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._capacity = capacity
        self._next = 0

    def encode(self, button: Button, *, taken: frozenset[str] = frozenset()) -> str:
        """The button's custom id, unlike any in `taken` (Discord refuses duplicates)."""
        inline = f"{self.PREFIX}{button.command} {button.args}".rstrip()
        if len(inline) <= CUSTOM_ID_LENGTH and inline not in taken:
            return inline
        self._next += 1
        key = f"{self.KEPT}{self._next}"
        self._kept[key] = (button.command, button.args)
        while len(self._kept) > self._capacity:
            self._kept.popitem(last=False)
        return key

    def decode(self, custom_id: str) -> tuple[str, str] | None:
        """(command, args), or None for an id that is not ours or no longer kept."""
        if custom_id.startswith(self.PREFIX):
            command, _, args = custom_id[len(self.PREFIX) :].partition(" ")
            return (command, args) if command else None
        return self._kept.get(custom_id)

    def view(
        self, buttons: tuple[Button, ...], menus: tuple[Menu, ...] = ()
    ) -> discord.ui.View | None:
        """A view holding the menus (one row each, first) and the buttons (five to a row).

        Within Discord's limits: five rows, 25 options a menu, 25 buttons; what does
        not fit is left out. None when there is nothing to show.
        """
        menus = tuple(m for m in menus if m.options)[: MAX_ROWS - 1]
        if not buttons and not menus:
            return None
        view = discord.ui.View(timeout=None)
        for row, menu in enumerate(menus):
            view.add_item(self._select(menu, row))
        room = min(MAX_BUTTONS, (MAX_ROWS - len(menus)) * ROW_WIDTH)
        taken: set[str] = set()
        for button in buttons[:room]:
            custom_id = self.encode(button, taken=frozenset(taken))
            taken.add(custom_id)
            label = cut(button.label, BUTTON_LABEL_LENGTH) or "·"
            item: discord.ui.Button[Any] = discord.ui.Button(label=label, custom_id=custom_id)
            view.add_item(item)
        # The view only renders: presses come back through `on_interaction` by
        # custom id, so discord.py must not keep it in its view store.
        view.stop()
        return view

    def _select(self, menu: Menu, row: int) -> discord.ui.Select[Any]:
        values: set[str] = set()
        options = []
        for option in menu.options[:MAX_OPTIONS]:
            value = self.encode(option, taken=frozenset(values))
            values.add(value)
            label = cut(option.label, OPTION_LABEL_LENGTH) or "·"
            options.append(discord.SelectOption(label=label, value=value))
        return discord.ui.Select(
            custom_id=cut(f"{self.MENU}{menu.name}", CUSTOM_ID_LENGTH),
            placeholder=cut(menu.placeholder, PLACEHOLDER_LENGTH) or None,
            options=options,
            row=row,
        )
