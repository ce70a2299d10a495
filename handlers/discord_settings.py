"""`/settings` on Discord: the core's settings reply with select menus instead of buttons.

The core offers a button to switch the language and one to open the category
toggles. Discord shows a language menu and a category menu instead, right under
the settings; choosing an option runs the same `Invocation` as the matching
button (`lang en`, `toggle IT`), then the settings message is redrawn in place.
The other buttons (quiet hours off, digest off) stay buttons.
"""

from __future__ import annotations

from bot.models import Button, Language, Reply
from handlers.discord_render import MAX_OPTIONS, Menu

#: The command whose reply gets menus, and the commands the menus take over.
SETTINGS = "settings"
LANGUAGE = "lang"
CATEGORIES = "categories"
TOGGLE = "toggle"

LANGUAGES: tuple[Button, ...] = (
    Button("한국어", LANGUAGE, "ko"),
    Button("English", LANGUAGE, "en"),
)
_PLACEHOLDERS: dict[Language, dict[str, str]] = {
    "ko": {LANGUAGE: "언어 바꾸기", TOGGLE: "분야 구독 켜기/끄기 (✅ 구독 중)"},
    "en": {LANGUAGE: "Change the language", TOGGLE: "Toggle a category (✅ subscribed)"},
}


def language_of_settings(reply: Reply) -> Language:
    """The language the settings reply is written in.

    The core's language button offers the *other* language, so it tells which one
    the reply uses; without it, Korean (the core's default).
    """
    offered = next((b.args for b in reply.buttons if b.command == LANGUAGE), "en")
    return "en" if offered == "ko" else "ko"


def settings_menus(
    reply: Reply, toggles: tuple[Button, ...]
) -> tuple[tuple[Menu, ...], tuple[Button, ...]]:
    """(menus, the buttons that stay) for the core's settings `reply`.

    `toggles` are the buttons of the core's categories reply (one `toggle NAME`
    each, ✅ on those followed); at most 25 fit a menu. Without categories the
    categories button stays a button.
    """
    placeholders = _PLACEHOLDERS[language_of_settings(reply)]
    commands = {b.command for b in reply.buttons}
    menus: list[Menu] = []
    replaced: set[str] = set()
    if LANGUAGE in commands:
        menus.append(Menu(LANGUAGE, placeholders[LANGUAGE], LANGUAGES))
        replaced.add(LANGUAGE)
    options = tuple(b for b in toggles if b.command == TOGGLE)[:MAX_OPTIONS]
    if CATEGORIES in commands and options:
        menus.append(Menu(TOGGLE, placeholders[TOGGLE], options))
        replaced.add(CATEGORIES)
    return tuple(menus), tuple(b for b in reply.buttons if b.command not in replaced)
