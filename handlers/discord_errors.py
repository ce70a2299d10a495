"""Discord's refusals as the core's outcomes, and errors in a few words for the logs."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import discord

from bot.models import ChatGone, Outcome, Rejected, RetryAfter, ThreadGone, TransientFailure

log = logging.getLogger(__name__)

#: Discord's JSON error codes that mean the chat is gone for us: sending there again
#: only counts towards Discord's ban for 10,000 invalid requests in 10 minutes.
GONE_CODES: Mapping[int, str] = {
    50001: "missing access",
    50013: "missing permissions",
    10003: "unknown channel",
    50007: "cannot send messages to this user",
    # A forum or voice channel never takes a message; a forum post's fallback lands there
    # (the live API answers 50008 for a forum, not the documented 40058).
    50008: "cannot send messages in a non-text channel",
}
#: For a chat that lives in a thread, these (and every gone code) mean the thread is gone
#: for us: the core then falls back to the parent channel once. An archived thread that is
#: not locked takes messages (posting unarchives it), so only a locked one answers 50083.
THREAD_GONE_CODES: Mapping[int, str] = {
    **GONE_CODES,
    50083: "thread archived and locked",
}
#: "Cannot message this thread until after the post author has sent an initial message":
#: a forum post seconds old. It passes, so it is a retry, never a reason to give up.
POST_NOT_READY = 40058


def refusal(exc: discord.HTTPException, *, threaded: bool) -> Outcome:
    """Discord's refusal as an outcome; `threaded`: the request went to a chat's thread."""
    if threaded and exc.code in THREAD_GONE_CODES:
        return ThreadGone(f"discord {exc.status}/{exc.code}: {THREAD_GONE_CODES[exc.code]}")
    if exc.code in GONE_CODES:
        return ChatGone(f"discord {exc.status}/{exc.code}: {GONE_CODES[exc.code]}")
    if exc.code == POST_NOT_READY:
        return TransientFailure(f"discord {exc.status}/{exc.code}: forum post not ready yet")
    if exc.status == 429:
        # A 429 without `Via` is Cloudflare's ban on the whole bot, not a bucket.
        wait = seconds(exc.response.headers.get("Retry-After"), default=60.0)
        return RetryAfter(wait, everywhere=True)
    if exc.status >= 500:
        return TransientFailure(f"discord {exc.status}")
    if exc.status == 401:
        # The token was reset while running: no message is at fault, so none is dropped.
        log.error("Discord refuses the bot token now (401); alerts wait for a new one")
        return TransientFailure("discord 401: token refused")
    return Rejected(f"discord {exc.status}/{exc.code}: {exc.text[:200]}")


def seconds(value: str | None, *, default: float = 1.0) -> float:
    """A `Retry-After` header's seconds; `default` when it is missing or not a number."""
    try:
        return max(float(value), 0.0) if value else default
    except ValueError:
        return default


def describe(exc: BaseException | None) -> str:
    """An exception in a few words for a log line: its type and Discord's status/code."""
    if exc is None:
        return "timed out"
    if isinstance(exc, discord.HTTPException):
        return f"{type(exc).__name__} {exc.status}/{exc.code}"
    return type(exc).__name__
