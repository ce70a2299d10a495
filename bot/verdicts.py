"""What becomes of an outbox row: the pure decisions the dispatcher acts on.

An adapter's outcome becomes the row's next state (`judge`, `judge_action`); a row
may be settled before any send (`stale_reason`, `held_for_quiet_hours`) or handed
back as it was (`untouched`). No I/O, no clock of its own: tests call these directly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import DeliverySettings
from bot.models import (
    Action,
    ChatGone,
    ChatMoved,
    Delivery,
    DeliveryState,
    Outcome,
    Rejected,
    RetryAfter,
    Sent,
    ThreadGone,
    TransientFailure,
)
from storage import DeliveryResult

#: Longest wait between retries of a failing send.
MAX_BACKOFF = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to record for one send, plus what it says about the chat."""

    result: DeliveryResult
    gone: bool = False
    moved_to: str | None = None
    #: The chat's topic is gone: fall back to the main chat.
    thread_gone: bool = False


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Exponential, with jitter so that failed rows do not retry in lockstep."""
    base = min(2.0**attempts, MAX_BACKOFF.total_seconds())
    return timedelta(seconds=base * rng.uniform(0.5, 1.0))


def judge(
    delivery: Delivery,
    outcome: Outcome,
    *,
    now: datetime,
    settings: DeliverySettings,
    rng: random.Random,
) -> Verdict:
    """Turn an adapter's outcome into the row's next state. Pure."""
    row = delivery.id
    match outcome:
        case Sent(message_id):
            return Verdict(DeliveryResult(row, DeliveryState.SENT, message_id=message_id))
        case RetryAfter(seconds):
            later = now + timedelta(seconds=seconds)
            result = DeliveryResult(
                row,
                DeliveryState.PENDING,
                error="rate limited",
                next_attempt_at=later,
                counts_as_attempt=False,
            )
            return Verdict(result)
        case ChatMoved(new_chat_id):
            result = DeliveryResult(
                row, DeliveryState.PENDING, next_attempt_at=now, counts_as_attempt=False
            )
            return Verdict(result, moved_to=new_chat_id)
        case ChatGone(reason):
            return Verdict(DeliveryResult(row, DeliveryState.FAILED, error=reason), gone=True)
        case ThreadGone(reason):
            result = DeliveryResult(
                row,
                DeliveryState.PENDING,
                error=reason,
                next_attempt_at=now,
                counts_as_attempt=False,
            )
            return Verdict(result, thread_gone=True)
        case Rejected(reason):
            return Verdict(DeliveryResult(row, DeliveryState.FAILED, error=reason))
        case TransientFailure(reason):
            age = now - delivery.created_at
            if age > timedelta(hours=settings.give_up_after_hours):
                return Verdict(
                    DeliveryResult(row, DeliveryState.FAILED, error=f"gave up: {reason}")
                )
            later = now + backoff(delivery.attempts, rng)
            return Verdict(
                DeliveryResult(row, DeliveryState.PENDING, error=reason, next_attempt_at=later)
            )
    raise AssertionError(f"unknown outcome {outcome!r}")


#: An edit or deletion that keeps failing is given up after this many tries.
MAX_ACTION_ATTEMPTS = 8


def judge_action(
    delivery: Delivery, outcome: Outcome, *, now: datetime, rng: random.Random
) -> Verdict:
    """The next state of a sent row after an owed edit or deletion. Pure.

    The row stays `sent` (or becomes `deleted`); only the owed action changes.
    """
    row, action = delivery.id, delivery.action
    done = DeliveryState.DELETED if action == Action.DELETE else DeliveryState.SENT
    match outcome:
        case Sent():
            return Verdict(DeliveryResult(row, done, counts_as_attempt=False))
        case RetryAfter(seconds):
            later = now + timedelta(seconds=seconds)
            result = DeliveryResult(
                row,
                DeliveryState.SENT,
                next_attempt_at=later,
                counts_as_attempt=False,
                action=action,
            )
            return Verdict(result)
        case ChatMoved(new_chat_id):
            result = DeliveryResult(
                row,
                DeliveryState.SENT,
                next_attempt_at=now,
                counts_as_attempt=False,
                action=action,
            )
            return Verdict(result, moved_to=new_chat_id)
        case ChatGone(reason) | ThreadGone(reason):
            return Verdict(DeliveryResult(row, DeliveryState.SENT, error=reason))
        case Rejected(reason):
            return Verdict(DeliveryResult(row, DeliveryState.SENT, error=f"{action}: {reason}"))
        case TransientFailure(reason):
            if delivery.attempts >= MAX_ACTION_ATTEMPTS:
                error = f"{action} gave up: {reason}"
                return Verdict(DeliveryResult(row, DeliveryState.SENT, error=error))
            later = now + backoff(delivery.attempts, rng)
            result = DeliveryResult(
                row, DeliveryState.SENT, error=reason, next_attempt_at=later, action=action
            )
            return Verdict(result)
    raise AssertionError(f"unknown outcome {outcome!r}")


def stale_reason(delivery: Delivery, now: datetime, settings: DeliverySettings) -> str | None:
    """Why an alert is too old to be worth sending now, or None."""
    post = delivery.post
    if post is None or post.published_at is None:
        return None
    hours = settings.stale_breaking_after_hours if post.breaking else settings.stale_after_hours
    if now - post.published_at > timedelta(hours=hours):
        return f"stale: published more than {hours:g} h ago"
    return None


def held_for_quiet_hours(delivery: Delivery, now: datetime) -> bool:
    """True when the chat is in its quiet hours and this alert may wait for the digest."""
    quiet, post = delivery.chat.quiet, delivery.post
    if quiet is None or post is None or (post.breaking and not quiet.hold_breaking):
        return False
    local = now.astimezone(ZoneInfo(delivery.chat.timezone)).time()
    return quiet.covers(local)


def untouched(delivery: Delivery, due: datetime) -> Verdict:
    """A claimed row handed back as it was (an owed edit stays owed): no attempt, due at `due`."""
    state = DeliveryState.SENT if delivery.action is not None else DeliveryState.PENDING
    result = DeliveryResult(
        delivery.id, state, next_attempt_at=due, counts_as_attempt=False, action=delivery.action
    )
    return Verdict(result)
