"""Discord's slash commands for reading habits and sources: /filter, /quiet, /digest,
/settings, and the admins' /sources, /addsource, /removesource, /pausesource, /resumesource.

Each turns its options into the core's argument text (shared with Telegram), so the
core does all the checking. How a Discord option maps to the core's syntax:

- `/filter action:add word:반도체` → `add 반도체`; `action:exclude word:광고` → `add -광고`;
  `action:remove word:광고` removes the keyword (type `-광고` to remove an exclusion);
  `list` and `clear` need no word. A word is one keyword even with spaces in it
  (`금리 인하`): the core reads everything after the action as one term.
- `/quiet hours:23:00-07:00 [all:True]` → `23:00-07:00 [all]`; `hours:off` → `off`.
- `/digest time:08:00` → `daily 08:00`; `time:off` → `off`.
- `/addsource url [categories]` → `URL category…`.
"""

from __future__ import annotations

from typing import Any

from discord import app_commands

from handlers.discord_commands import Interaction, Interactions, menu_text

_t = menu_text

#: `/filter` actions as Discord shows them (value → English, Korean label).
FILTER_ACTIONS: dict[str, tuple[str, str]] = {
    "add": ("add a keyword (only posts with it)", "키워드 추가 (있는 기사만)"),
    "exclude": ("exclude a word (no posts with it)", "제외할 낱말 추가"),
    "remove": ("remove a keyword", "키워드 지우기"),
    "list": ("list keywords", "키워드 목록"),
    "clear": ("remove all keywords", "키워드 모두 지우기"),
}


def filter_args(action: str, word: str | None) -> str:
    """The core's `/filter` arguments for a Discord action and word (see the module doc)."""
    term = " ".join((word or "").split())
    if action == "exclude":
        return f"add -{term.removeprefix('-')}" if term else "add"
    if action in ("list", "clear"):
        return action
    return f"{action} {term}".strip()


def quiet_args(hours: str, hold_breaking: bool) -> str:
    """`23:00-07:00` plus ` all` when breaking news must wait too; `off` stays `off`."""
    text = " ".join(hours.split())
    if text.lower() == "off":
        return "off"
    return f"{text} all" if hold_breaking else text


def digest_args(at: str) -> str:
    """`08:00` → `daily 08:00`; `off` and an already written `daily 08:00` stay as they are."""
    text = " ".join(at.split())
    if text.lower() == "off" or text.lower().startswith("daily"):
        return text.lower()
    return f"daily {text}"


def define_habits(tree: app_commands.CommandTree[Any], on: Interactions) -> None:
    """Register /filter, /quiet, /digest, /settings and the admins' source commands."""
    _define_preferences(tree, on)
    _define_sources(tree, on)


def _define_preferences(tree: app_commands.CommandTree[Any], on: Interactions) -> None:
    @tree.command(name="filter", description=_t("Keyword filters", "키워드 필터"))
    @app_commands.describe(
        action=_t("What to do", "할 일"),
        word=_t("The keyword (spaces allowed)", "키워드 (띄어쓰기 가능)"),
    )
    @app_commands.choices(
        action=[
            app_commands.Choice(name=_t(english, korean), value=value)
            for value, (english, korean) in FILTER_ACTIONS.items()
        ]
    )
    @app_commands.default_permissions(manage_channels=True)
    async def filter_(
        interaction: Interaction,
        action: app_commands.Choice[str],
        word: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await on.command(interaction, "filter", filter_args(action.value, word))

    @tree.command(name="quiet", description=_t("Quiet hours", "조용한 시간"))
    @app_commands.describe(
        hours=_t("Like 23:00-07:00, or off", "예: 23:00-07:00, 또는 off"),
        hold_all=_t("Hold breaking news too", "속보도 모아 받기"),
    )
    @app_commands.rename(hold_all="all")
    @app_commands.default_permissions(manage_channels=True)
    async def quiet(
        interaction: Interaction, hours: app_commands.Range[str, 1, 40], hold_all: bool = False
    ) -> None:
        await on.command(interaction, "quiet", quiet_args(hours, hold_all))

    @tree.command(name="digest", description=_t("One digest a day", "하루 한 번 모아 받기"))
    @app_commands.describe(time=_t("Like 08:00, or off", "예: 08:00, 또는 off"))
    @app_commands.default_permissions(manage_channels=True)
    async def digest(interaction: Interaction, time: app_commands.Range[str, 1, 40]) -> None:
        await on.command(interaction, "digest", digest_args(time))

    @tree.command(name="settings", description=_t("This chat's settings", "이 채팅의 설정"))
    async def settings(interaction: Interaction) -> None:
        await on.command(interaction, "settings")


def _define_sources(tree: app_commands.CommandTree[Any], on: Interactions) -> None:
    @tree.command(name="sources", description=_t("Sources (admins)", "소스 목록 (관리자)"))
    async def sources(interaction: Interaction) -> None:
        await on.command(interaction, "sources")

    @tree.command(name="addsource", description=_t("Add a feed (admins)", "소스 추가 (관리자)"))
    @app_commands.describe(
        url=_t("The feed's address", "피드 주소"),
        categories=_t("Categories for its posts (optional)", "기사에 붙일 분야 (선택)"),
    )
    async def addsource(
        interaction: Interaction,
        url: app_commands.Range[str, 1, 500],
        categories: app_commands.Range[str, 1, 300] | None = None,
    ) -> None:
        args = f"{url.strip()} {categories or ''}"
        await on.command(interaction, "addsource", args)

    by_name = _t("The source's name (from /sources)", "소스 이름 (/sources 참고)")

    @tree.command(name="removesource", description=_t("Remove a source", "소스 지우기"))
    @app_commands.describe(name=by_name)
    async def removesource(interaction: Interaction, name: app_commands.Range[str, 1, 100]) -> None:
        await on.command(interaction, "removesource", name)

    @tree.command(name="pausesource", description=_t("Pause a source", "소스 멈추기"))
    @app_commands.describe(name=by_name)
    async def pausesource(interaction: Interaction, name: app_commands.Range[str, 1, 100]) -> None:
        await on.command(interaction, "pausesource", name)

    @tree.command(name="resumesource", description=_t("Resume a source", "소스 다시 시작"))
    @app_commands.describe(name=by_name)
    async def resumesource(interaction: Interaction, name: app_commands.Range[str, 1, 100]) -> None:
        await on.command(interaction, "resumesource", name)
