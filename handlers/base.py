"""The adapter seam: what the core needs from a platform, and nothing more."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.models import Alert, Chat, Invocation, Outcome, Platform, Reply

#: How an adapter hands an incoming command to the core and gets the answer.
CommandCallback = Callable[[Invocation], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class PlatformLimits:
    """A platform's limits, as data: the formatter and the rate limiter read them."""

    #: Longest message text the platform accepts, in characters.
    text_length: int
    #: Messages per second for the whole bot.
    per_second: float
    #: Messages per second to one private chat.
    per_chat_per_second: float
    #: Messages per minute to one group or channel.
    per_group_per_minute: float
    #: Longest headline shown (a Discord embed title is 256).
    headline_length: int = 200
    #: Longest excerpt shown.
    excerpt_length: int = 300


class Adapter(Protocol):
    """One platform. Built by `bot.app` with its part of the settings.

    `send` and `reply` never raise for a platform's refusal: they return an
    `Outcome` the dispatcher acts on. They raise only for programming errors.
    """

    platform: Platform
    limits: PlatformLimits

    async def start(self, on_command: CommandCallback) -> None:
        """Connect, and start passing incoming commands to `on_command`."""

    async def stop(self) -> None:
        """Stop receiving and release the connection; idempotent."""

    async def send(self, chat: Chat, alert: Alert) -> Outcome:
        """Deliver one alert to one chat."""

    async def reply(self, chat: Chat, reply: Reply) -> Outcome:
        """Post a reply the core produced on its own (not in answer to a command)."""
