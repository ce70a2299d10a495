"""The adapter seam: what the core needs from a platform, and what a platform may ask of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.models import (
    Alert,
    Chat,
    ImportReport,
    Invocation,
    Outcome,
    Platform,
    PlatformLimits,
    Reply,
    SourceInfo,
)

__all__ = ["Adapter", "Inbox", "PlatformLimits", "SourceAdmin"]


class SourceAdmin(Protocol):
    """The source catalog as admins' commands see it (`bot.catalog.SourceCatalog`).

    Every method raises `bot.errors.InvalidInput` with a one-line reason when it
    refuses; nothing is stored then.
    """

    async def describe(self) -> list[SourceInfo]: ...

    async def add(self, url: str, categories: Sequence[str], author: str) -> str: ...

    async def remove(self, name: str) -> None: ...

    async def pause(self, name: str, paused: bool) -> None: ...

    async def import_opml(self, body: bytes, author: str) -> ImportReport: ...


class Inbox(Protocol):
    """What an adapter may ask of the core: implemented by `handlers.commands.Commands`."""

    async def command(self, invocation: Invocation) -> Reply:
        """Run one command (typed, or a button pressed) and return the answer.

        Never raises for bad input: a malformed command gets the help as its reply.
        """

    async def chat_added(self, chat: Chat) -> Reply | None:
        """The bot was added to a group or channel; returns a welcome, if any."""

    async def chat_removed(self, chat: Chat) -> None:
        """The bot was blocked, kicked, or the chat was deleted: stop sending there."""

    async def chat_moved(self, chat: Chat, new_chat_id: str) -> None:
        """The platform gave the chat a new id (Telegram group → supergroup)."""

    async def categories(self) -> list[str]:
        """Known categories, for autocomplete and keyboards."""

    async def import_opml(self, invocation: Invocation, body: bytes) -> Reply:
        """An admin sent an OPML file (at most 5 MiB): add its feeds, say what happened."""


class Adapter(Protocol):
    """One platform. Built by `bot.app` with its part of the settings.

    `send` and `reply` never raise for a platform's refusal or a network error:
    they return an `Outcome` the dispatcher acts on. They raise only for
    programming errors.
    """

    platform: Platform
    limits: PlatformLimits

    async def start(self, inbox: Inbox) -> None:
        """Connect, and start passing incoming commands to `inbox`. Returns once connected."""

    async def stop(self) -> None:
        """Stop receiving and release the connection; idempotent."""

    @property
    def connected(self) -> bool:
        """True while the platform connection is up (for `/healthz`)."""

    async def send(self, chat: Chat, alert: Alert) -> Outcome:
        """Deliver one alert to one chat."""

    async def edit(self, chat: Chat, message_id: str, alert: Alert) -> Outcome:
        """Replace a sent alert's text with `alert` (the source corrected the post)."""

    async def delete(self, chat: Chat, message_id: str) -> Outcome:
        """Take a sent message back (a recall)."""

    async def reply(self, chat: Chat, reply: Reply) -> Outcome:
        """Post a reply the core produced on its own (not in answer to a command)."""
