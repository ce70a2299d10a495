"""The dispatcher: claim due outbox rows, send each through its platform, record the outcome.

Guarantees (DESIGN.md): a row is sent at most once per claim, under a lease; a
crash between send and record can repeat only the rows in flight; a 429 is
honoured, never a reason to drop; a chat that is gone is deactivated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.config import DeliverySettings
from bot.errors import StoreError
from bot.formatter import alert_for_broadcast, alert_for_digest, alert_for_post
from bot.metrics import Metrics
from bot.models import (
    Action,
    Alert,
    Chat,
    Delivery,
    DeliveryState,
    Outcome,
    Platform,
    PlatformLimits,
    Post,
    RetryAfter,
    Sent,
    TransientFailure,
)
from bot.ratelimit import PlatformLimiter
from bot.verdicts import (
    Verdict,
    held_for_quiet_hours,
    judge,
    judge_action,
    stale_reason,
    untouched,
)
from storage import DeliveryResult, Store

log = logging.getLogger(__name__)

#: Said once in the main chat when the topic its alerts went to is gone.
THREAD_GONE_NOTICE = {
    "ko": "알림을 보내던 주제(토픽)가 없어져서, 이제부터 이 채팅으로 보냅니다.",
    "en": "The topic alerts went to is gone: they come to this chat from now on.",
}

#: Seconds between tries while the database does not answer.
STORE_RETRY = 5.0
#: The longest lease owner the outbox stores.
OWNER_LENGTH = 64
#: How often an idle dispatcher looks for rows other processes planned.
IDLE_POLL = timedelta(seconds=1)
#: Waits up to this long are slept through when stopping (see `Dispatcher._nap`).
SHORT_NAP = 0.1


class Sender(Protocol):
    """What the dispatcher needs of an adapter (`handlers.base.Adapter` fits)."""

    @property
    def platform(self) -> Platform: ...

    @property
    def limits(self) -> PlatformLimits: ...

    async def send(self, chat: Chat, alert: Alert) -> Outcome: ...

    async def edit(self, chat: Chat, message_id: str, alert: Alert) -> Outcome: ...

    async def delete(self, chat: Chat, message_id: str) -> Outcome: ...


class _Meters:
    """One platform's delivery metrics, labelled once (`labels()` per alert costs)."""

    __slots__ = ("failed", "seconds", "sent")

    def __init__(self, metrics: Metrics, platform: str) -> None:
        self.sent = metrics.alerts_sent.labels(platform)
        self.failed = metrics.alerts_failed.labels(platform)
        self.seconds = metrics.delivery_seconds.labels(platform)


def alert_for(delivery: Delivery, limits: PlatformLimits) -> Alert:
    if delivery.post is not None:
        return alert_for_post(delivery.post, limits)
    if delivery.broadcast is not None:
        return alert_for_broadcast(delivery.broadcast, limits)
    return alert_for_digest(
        delivery.digest, limits, language=delivery.chat.language, held=delivery.digest_of
    )


class AlertCache:
    """`alert_for`, made once per post and platform: a batch is mostly one post's rows."""

    __slots__ = ("_made",)

    def __init__(self) -> None:
        self._made: dict[tuple[PlatformLimits, Post], Alert] = {}

    def alert_for(self, delivery: Delivery, limits: PlatformLimits) -> Alert:
        if delivery.post is None:
            return alert_for(delivery, limits)
        key = (limits, delivery.post)
        alert = self._made.get(key)
        if alert is None:
            alert = self._made[key] = alert_for(delivery, limits)
        return alert


class _Batch:
    """One claimed batch on its way out: rows already judged, and sends under way."""

    __slots__ = ("sends", "verdicts")

    def __init__(self) -> None:
        self.verdicts: list[Verdict] = []
        self.sends: list[asyncio.Task[Verdict]] = []

    def cancel(self) -> None:
        for task in self.sends:
            task.cancel()


class Dispatcher:
    """Sends what the outbox holds for the platforms this process serves."""

    def __init__(
        self,
        store: Store,
        senders: Sequence[Sender],
        settings: DeliverySettings,
        *,
        owner: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics or Metrics()
        self._meters: dict[str, _Meters] = {}
        self._senders: Mapping[str, Sender] = {s.platform: s for s in senders}
        self._limiters = {s.platform: PlatformLimiter(s.limits) for s in senders}
        self._settings = settings
        # Unique to this dispatcher's life (a restarted process may reuse a pid): the
        # store never hands a dispatcher back rows it holds itself (see `Store.claim`).
        self._name = owner
        self._owner = _owner_name(owner)
        self._clock = clock
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.concurrency)
        #: Set when the process is stopping: sends not started yet go back to the queue.
        self._stop = asyncio.Event()

    def wake(self) -> None:
        """New rows were planned: look at once instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set.

        On stop, nothing more is claimed; sends already started finish and every
        claimed row is recorded (those not started go back to the queue untouched).
        """
        self._stop = stop
        while not stop.is_set():
            self._wake.clear()
            try:
                if await self.round():
                    continue
                await self._idle(stop)
            except StoreError as exc:
                # Rows already claimed keep their lease and are taken up again later.
                log.error("outbox unavailable: %s; trying again in %ss", exc, STORE_RETRY)
                await _wait_for(stop, STORE_RETRY)

    async def drain(self, horizon: timedelta = timedelta(seconds=60)) -> int:
        """Deliver everything due, waiting for retries due within `horizon`; returns rows sent."""
        sent = 0
        while True:
            sent += await self.round()
            due = await self._store.next_due_at(list(self._senders), self._owner)
            if due is None or due - self._clock() > horizon:
                return sent
            if due > self._clock():
                await asyncio.sleep((due - self._clock()).total_seconds())

    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait until a row can be claimed, the dispatcher is woken, or it stops.

        Meanwhile the outbox is read once every `IDLE_POLL` (other processes plan rows
        too, and a dead one's leases run out), not claimed from: a claim that found
        nothing every second was most of an idle dispatcher's CPU (13 ms a second
        against 8, on SQLite).
        """
        while not (stop.is_set() or self._wake.is_set()):
            due = await self._store.next_due_at(list(self._senders), self._owner)
            now = self._clock()
            if due is not None and due <= now:
                return
            wait = IDLE_POLL if due is None else min(IDLE_POLL, due - now)
            waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
            try:
                await asyncio.wait(
                    waiters, timeout=wait.total_seconds(), return_when="FIRST_COMPLETED"
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()

    async def round(self) -> int:
        """Claim, send and record batches while rows are due; returns the rows handled.

        Pipelined so the platform never waits for the database: the next batch is
        claimed while one goes out, and starts going out as soon as the last row of
        the one before has left, while that one's last answers are still on their
        way; a batch is recorded once its answers are in. Per-chat limits stay
        exact: a chat's send is counted when it leaves, so a chat with a row in
        each of two batches waits its turn. A row waits in its claim at most one
        batch before it is sent; the lease covers that with room (30 s against 200
        rows at 30/s: 7 s a batch). A crash can repeat at most two batches: the
        one going out and the one before it, not yet recorded.
        """
        try:
            return await self._pipeline()
        except BaseException:
            # Rows this round claimed and could not finish keep its lease; under a new
            # name this dispatcher may take them up again once that lease runs out.
            self._owner = _owner_name(self._name)
            raise

    async def _pipeline(self) -> int:
        handled, finishing = 0, None
        try:
            claimed = await self._claim()
            while claimed:
                upcoming = asyncio.ensure_future(self._claim())
                try:
                    batch = await self._release(claimed)
                    if finishing is not None:
                        await finishing
                except BaseException:
                    upcoming.cancel()
                    raise
                finishing = asyncio.ensure_future(self._finish(batch, claimed))
                handled += len(claimed)
                claimed = await upcoming
        finally:
            if finishing is not None:
                await finishing
        return handled

    async def _claim(self) -> list[Delivery]:
        """The next batch of due rows, under our lease; none once stopping."""
        if self._stop.is_set():
            return []
        return await self._store.claim(
            list(self._senders),
            limit=self._settings.batch_size,
            lease=timedelta(seconds=self._settings.lease_seconds),
            owner=self._owner,
        )

    async def _release(self, claimed: Sequence[Delivery]) -> _Batch:
        """Every row settled at once, deferred (its chat must wait), or sent off.

        One loop releases the sends in order, each when the platform's pace allows
        and a concurrency slot is free, as a task of its own; rows not released
        when the dispatcher stops go back untouched. Returns when the last row has
        left, not when its answer is in. (A task per row that waits for its own
        slot cost more CPU than the send itself at 1000/s: bench/fanout.py.)
        """
        now = self._clock()
        batch = _Batch()
        alerts = AlertCache()
        try:
            for delivery in self._triage(claimed, now, batch.verdicts):
                if not await self._admit(delivery):
                    batch.verdicts.append(untouched(delivery, self._clock()))
                    continue
                send = asyncio.create_task(self._send(delivery, alerts))
                # A callback, not a `finally`: a task cancelled before it ran frees its slot.
                send.add_done_callback(self._free_slot)
                batch.sends.append(send)
        except BaseException:
            batch.cancel()
            raise
        return batch

    async def _finish(self, batch: _Batch, claimed: Sequence[Delivery]) -> None:
        """Wait for the batch's answers, then record every row of it."""
        try:
            verdicts = batch.verdicts + list(await asyncio.gather(*batch.sends))
        except BaseException:
            batch.cancel()
            raise
        await self._record(verdicts, claimed)

    def _triage(
        self, claimed: Sequence[Delivery], now: datetime, verdicts: list[Verdict]
    ) -> list[Delivery]:
        """The rows to send now; the verdicts of the others go into `verdicts`."""
        busy: set[tuple[str, str]] = set()
        sendable: list[Delivery] = []
        for delivery in claimed:
            chat = delivery.chat
            limiter = self._limiters[chat.platform]
            early = self._settle_early(delivery, now)
            delay = limiter.chat_delay(chat)
            if early is None and ((chat.platform, chat.chat_id) in busy or delay):
                wait = max(delay, limiter.chat_gap(chat))
                early = untouched(delivery, now + timedelta(seconds=wait))
            if early is not None:
                verdicts.append(early)
                continue
            busy.add((chat.platform, chat.chat_id))
            sendable.append(delivery)
        return sendable

    async def _admit(self, delivery: Delivery) -> bool:
        """Wait for a concurrency slot and the platform's pace; False once stopping."""
        if self._stop.is_set():
            return False
        await self._slots.acquire()
        limiter = self._limiters[delivery.chat.platform]
        try:
            if await limiter.acquire(delivery.chat, self._nap) and not self._stop.is_set():
                return True
        except BaseException:
            self._slots.release()
            raise
        self._slots.release()
        return False

    def _free_slot(self, _send: object) -> None:
        self._slots.release()

    async def _nap(self, seconds: float) -> bool:
        """Sleep `seconds`, or until the dispatcher stops: False then.

        A short wait (the pace between two sends) is slept through: watching the
        stop event costs a task, which at 1000/s costs more than the wait.
        """
        if seconds <= SHORT_NAP:
            await asyncio.sleep(seconds)
        else:
            await _wait_for(self._stop, seconds)
        return not self._stop.is_set()

    def _settle_early(self, delivery: Delivery, now: datetime) -> Verdict | None:
        if delivery.action == Action.DELETE and delivery.message_id is None:
            # Recalled before it was ever sent: nothing to delete, nothing to send.
            return Verdict(DeliveryResult(delivery.id, DeliveryState.FAILED, error="recalled"))
        if delivery.action is not None:
            return None
        if not delivery.chat.active:
            return Verdict(DeliveryResult(delivery.id, DeliveryState.FAILED, error="chat inactive"))
        reason = stale_reason(delivery, now, self._settings)
        if reason is not None:
            return Verdict(DeliveryResult(delivery.id, DeliveryState.FAILED, error=reason))
        if held_for_quiet_hours(delivery, now):
            held = DeliveryResult(delivery.id, DeliveryState.HELD, counts_as_attempt=False)
            return Verdict(held)
        return None

    async def _send(self, delivery: Delivery, alerts: AlertCache) -> Verdict:
        """Send one admitted row and judge it."""
        limiter = self._limiters[delivery.chat.platform]
        outcome = await _guarded_send(self._senders[delivery.chat.platform], delivery, alerts)
        if isinstance(outcome, RetryAfter):
            if outcome.everywhere:
                limiter.pause_all(outcome.seconds)
            else:
                limiter.pause_chat(delivery.chat, outcome.seconds)
        now = self._clock()
        if delivery.action is not None:
            verdict = judge_action(delivery, outcome, now=now, rng=self._rng)
        else:
            verdict = judge(delivery, outcome, now=now, settings=self._settings, rng=self._rng)
            self._count(delivery, verdict, now)
        if not isinstance(outcome, Sent):
            log.info(
                "delivery %s to %s:%s: %s",
                delivery.id,
                delivery.chat.platform,
                delivery.chat.chat_id,
                verdict.result.error or "moved",
            )
        return verdict

    def _count(self, delivery: Delivery, verdict: Verdict, now: datetime) -> None:
        meters = self._meters.get(delivery.chat.platform)
        if meters is None:
            meters = self._meters[delivery.chat.platform] = _Meters(
                self._metrics, delivery.chat.platform
            )
        if verdict.result.state == DeliveryState.SENT:
            meters.sent.inc()
            waited = (now - delivery.created_at).total_seconds()
            meters.seconds.observe(max(0.0, waited))
        elif verdict.result.state == DeliveryState.FAILED:
            meters.failed.inc()

    async def _record(self, verdicts: Sequence[Verdict], claimed: Sequence[Delivery]) -> None:
        chats = {d.id: d.chat for d in claimed}
        for verdict in verdicts:
            if verdict.moved_to is not None:
                await self._store.move_chat(chats[verdict.result.id], verdict.moved_to)
        await self._store.settle([v.result for v in verdicts])
        for verdict in verdicts:
            if verdict.thread_gone:
                chat = chats[verdict.result.id]
                await self._store.thread_gone(chat, THREAD_GONE_NOTICE[chat.language])
        gone = {chats[v.result.id].id for v in verdicts if v.gone}
        await self._store.chats_gone([g for g in gone if g is not None], "chat gone")
        for limiter in self._limiters.values():
            limiter.forget_idle()


async def _guarded_send(sender: Sender, delivery: Delivery, alerts: AlertCache) -> Outcome:
    """Send, edit or delete; an adapter's bug must not stop the others: it becomes a retry."""
    chat, message_id = delivery.chat, delivery.message_id
    try:
        if delivery.action == Action.DELETE and message_id is not None:
            return await sender.delete(chat, message_id)
        alert = alerts.alert_for(delivery, sender.limits)
        if delivery.action == Action.EDIT and message_id is not None:
            return await sender.edit(chat, message_id, alert)
        return await sender.send(chat, alert)
    except Exception as exc:
        log.exception("%s adapter failed on delivery %s", sender.platform, delivery.id)
        return TransientFailure(f"adapter error: {type(exc).__name__}")


async def _wait_for(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


def _owner_name(name: str) -> str:
    """`name` made unique to one stretch of a dispatcher's life, within OWNER_LENGTH."""
    return f"{name[: OWNER_LENGTH - 9]}/{secrets.token_hex(4)}"
