"""The dispatcher on a real database, with a recording sender at the adapter seam."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import DeliverySettings
from bot.delivery import Dispatcher
from bot.errors import StoreError
from bot.models import (
    ALL,
    Alert,
    Chat,
    ChatGone,
    ChatMoved,
    Delivery,
    DeliveryState,
    Outcome,
    Platform,
    PlatformLimits,
    Rejected,
    RetryAfter,
    Sent,
    SourceState,
    ThreadGone,
    TransientFailure,
)
from bot.verdicts import judge
from storage import DeliveryResult, Store
from tests.factories import make_chat, make_post
from tests.waiting import Changes

SETTINGS = DeliverySettings()


class RecordingSender:
    """Answers each send with the next scripted outcome for that chat (default: Sent)."""

    platform: Platform = "telegram"
    limits = PlatformLimits(
        text_length=4096, per_second=1000, per_chat_per_second=1000, per_group_per_minute=60000
    )

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str]] = []
        self.script: dict[str, deque[Outcome]] = {}
        self.changes = Changes()
        self.edited: list[tuple[str, str, str]] = []
        self.deleted: list[tuple[str, str]] = []

    async def send(self, chat: Chat, alert: Alert) -> Outcome:
        where = f"{chat.chat_id}#{chat.thread_id}" if chat.thread_id else chat.chat_id
        queue = self.script.get(where)
        outcome = queue.popleft() if queue else Sent(f"m{len(self.delivered)}")
        if isinstance(outcome, Sent):
            self.delivered.append((where, alert.headline or alert.excerpt))
        self.changes.mark()
        return outcome

    async def edit(self, chat: Chat, message_id: str, alert: Alert) -> Outcome:
        self.edited.append((chat.chat_id, message_id, alert.headline))
        return Sent(message_id)

    async def delete(self, chat: Chat, message_id: str) -> Outcome:
        self.deleted.append((chat.chat_id, message_id))
        return Sent(message_id)


async def plan(store: Store, chats: int, *posts: object) -> list[Chat]:
    made = []
    for n in range(chats):
        chat = await store.ensure_chat(make_chat(n))
        await store.subscribe(chat, [ALL])
        made.append(chat)
    await store.ingest(SourceState("newsroom"), [])
    await store.ingest(SourceState("newsroom"), list(posts))  # type: ignore[arg-type]
    return made


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def dispatcher(store: Store, sender: RecordingSender) -> Dispatcher:
    return Dispatcher(store, [sender], SETTINGS, owner="test", rng=random.Random(1))


async def test_every_subscribed_chat_gets_the_alert_once(
    store: Store, sender: RecordingSender, dispatcher: Dispatcher
) -> None:
    await plan(store, 5, make_post(1))
    assert await dispatcher.drain() == 5
    assert sorted(sender.delivered) == [(str(1000 + n), "Headline 1") for n in range(5)]
    assert await dispatcher.drain() == 0


async def test_a_429_is_honoured_and_the_alert_still_arrives(
    store: Store, sender: RecordingSender, dispatcher: Dispatcher
) -> None:
    [chat] = await plan(store, 1, make_post(1))
    sender.script[chat.chat_id] = deque([RetryAfter(0.01), RetryAfter(0.01)])
    await dispatcher.drain()
    assert sender.delivered == [(chat.chat_id, "Headline 1")]


async def test_transient_failures_are_retried_until_sent(
    store: Store, sender: RecordingSender, dispatcher: Dispatcher
) -> None:
    [chat] = await plan(store, 1, make_post(1))
    sender.script[chat.chat_id] = deque([TransientFailure("HTTP 502")])
    await dispatcher.drain(horizon=timedelta(seconds=5))
    assert sender.delivered == [(chat.chat_id, "Headline 1")]


async def test_a_gone_chat_is_deactivated_and_the_others_still_get_it(
    store: Store, sender: RecordingSender, dispatcher: Dispatcher
) -> None:
    gone, kept = await plan(store, 2, make_post(1), make_post(2))
    sender.script[gone.chat_id] = deque([ChatGone("Forbidden: bot was blocked by the user")])
    await dispatcher.drain()
    assert {c for c, _ in sender.delivered} == {kept.chat_id}
    assert len(sender.delivered) == 2
    stored = await store.find_chat("telegram", gone.chat_id)
    assert stored is not None and not stored.active


async def test_a_moved_chat_gets_the_alert_at_its_new_id(
    store: Store, sender: RecordingSender, dispatcher: Dispatcher
) -> None:
    [chat] = await plan(store, 1, make_post(1))
    sender.script[chat.chat_id] = deque([ChatMoved("-100777")])
    await dispatcher.drain()
    assert sender.delivered == [("-100777", "Headline 1")]


async def test_rejected_content_fails_with_the_reason(
    store: Store, sender: RecordingSender, dispatcher: Dispatcher
) -> None:
    [chat] = await plan(store, 1, make_post(1))
    sender.script[chat.chat_id] = deque([Rejected("Bad Request: message is too long")])
    await dispatcher.drain()
    assert sender.delivered == []
    assert (await store.stats()).deliveries_by_state["failed"] == 1


async def test_an_alert_hours_old_is_dropped_as_stale(
    store: Store, sender: RecordingSender, dispatcher: Dispatcher
) -> None:
    old = datetime.now(UTC) - timedelta(hours=7)
    await plan(store, 1, make_post(1, published_at=old), make_post(2))
    await dispatcher.drain()
    assert [h for _, h in sender.delivered] == ["Headline 2"]


async def test_breaking_goes_first(
    store: Store, sender: RecordingSender, dispatcher: Dispatcher
) -> None:
    await plan(store, 1, make_post(1), make_post(2, breaking=True), make_post(3))
    await dispatcher.drain()
    assert next(h for _, h in sender.delivered) == "Headline 2"


def _sending(now: datetime, *, age: timedelta, attempts: int) -> Delivery:
    """A row being sent at `now`, planned `age` ago and tried `attempts` times."""
    return Delivery(
        id=1,
        chat=make_chat(1),
        post=make_post(1),
        broadcast=None,
        priority=2,
        state=DeliveryState.SENDING,
        attempts=attempts,
        next_attempt_at=now,
        created_at=now - age,
    )


def test_a_429_never_counts_as_an_attempt_and_never_fails_a_row() -> None:
    now = datetime.now(UTC)
    row = _sending(now, age=timedelta(days=3), attempts=50)
    verdict = judge(row, RetryAfter(30), now=now, settings=SETTINGS, rng=random.Random(0))
    assert verdict.result.state == DeliveryState.PENDING
    assert not verdict.result.counts_as_attempt
    assert verdict.result.next_attempt_at == now + timedelta(seconds=30)
    gave_up = judge(row, TransientFailure("502"), now=now, settings=SETTINGS, rng=random.Random(0))
    assert gave_up.result.state == DeliveryState.FAILED


def test_a_failing_send_is_retried_with_backoff_until_the_give_up_age() -> None:
    now = datetime.now(UTC)

    def failing(
        age: timedelta, attempts: int, settings: DeliverySettings = SETTINGS
    ) -> DeliveryResult:
        row = _sending(now, age=age, attempts=attempts)
        outcome = TransientFailure("502 Bad Gateway")
        return judge(row, outcome, now=now, settings=settings, rng=random.Random(0)).result

    # Under the default 24 h a failure waits longer each time (jittered, at most 10 min).
    retries = [failing(timedelta(hours=23), attempts) for attempts in (1, 4, 8, 30)]
    waits = [retry.next_attempt_at - now for retry in retries if retry.next_attempt_at]
    assert len(waits) == 4 and waits[0] > timedelta(0)
    assert waits == sorted(waits) and waits[-1] <= timedelta(minutes=10)
    assert failing(timedelta(hours=23), 30).state == DeliveryState.PENDING
    # Past it, the row fails and says why.
    gave_up = failing(timedelta(hours=25), 30)
    assert gave_up.state == DeliveryState.FAILED
    assert gave_up.error == "gave up: 502 Bad Gateway"
    # The age is a setting.
    hourly = DeliverySettings(give_up_after_hours=1)
    assert failing(timedelta(hours=2), 1, hourly).state == DeliveryState.FAILED
    assert failing(timedelta(minutes=30), 1, hourly).state == DeliveryState.PENDING


async def test_a_gone_topic_falls_back_to_the_main_chat_once_and_says_so(
    store: Store, sender: RecordingSender, dispatcher: Dispatcher
) -> None:
    topic = await store.ensure_chat(make_chat(1, chat_id="-100500", kind="group", thread_id="7"))
    await store.subscribe(topic, ["IT"])
    await store.ingest(SourceState("newsroom"), [])
    await store.ingest(SourceState("newsroom"), [make_post(1), make_post(2)])
    sender.script["-100500#7"] = deque([ThreadGone("Bad Request: message thread not found")])
    await dispatcher.drain()
    assert sorted(sender.delivered) == [
        ("-100500", "Headline 1"),
        ("-100500", "Headline 2"),
        ("-100500", "알림을 보내던 주제(토픽)가 없어져서, 이제부터 이 채팅으로 보냅니다."),
    ]
    main = await store.find_chat("telegram", "-100500")
    assert main is not None and await store.subscriptions(main) == ["IT"]
    await store.ingest(SourceState("newsroom"), [make_post(3)])
    await dispatcher.drain()
    assert sender.delivered[-1] == ("-100500", "Headline 3")


async def test_a_gone_topic_merges_into_a_main_chat_that_has_its_own_subscriptions(
    store: Store, sender: RecordingSender, dispatcher: Dispatcher
) -> None:
    main = await store.ensure_chat(make_chat(1, chat_id="-100600", kind="group"))
    await store.subscribe(main, ["Sports"])
    topic = await store.ensure_chat(make_chat(1, chat_id="-100600", kind="group", thread_id="9"))
    await store.subscribe(topic, ["IT", "sports"])
    await store.ingest(SourceState("newsroom"), [])
    await store.ingest(SourceState("newsroom"), [make_post(1)])
    sender.script["-100600#9"] = deque([ThreadGone("Bad Request: message thread not found")])
    await dispatcher.drain()
    assert ("-100600", "Headline 1") in sender.delivered
    assert await store.subscriptions(main) == ["IT", "Sports"]
    gone = await store.find_chat("telegram", "-100600", "9")
    assert gone is not None and not gone.active


class FailingOnceStore(Store):
    """A store whose first `settle` fails, as when the database goes away mid-round."""

    failed = False

    async def settle(self, results: Sequence[DeliveryResult]) -> None:
        if not self.failed:
            self.failed = True
            raise StoreError("database error: gone")
        await super().settle(results)


class SlowFirstAnswer(RecordingSender):
    """Holds the answer to the first send until a third send has left."""

    def __init__(self) -> None:
        super().__init__()
        self.started = 0
        self.third_left = asyncio.Event()

    async def send(self, chat: Chat, alert: Alert) -> Outcome:
        self.started += 1
        if self.started == 3:
            self.third_left.set()
        if self.started == 1:
            await self.third_left.wait()
        return await super().send(chat, alert)


async def test_the_next_batch_goes_out_while_answers_to_the_last_are_on_their_way(
    store: Store,
) -> None:
    chats = await plan(store, 4, make_post(1))
    sender = SlowFirstAnswer()
    settings = SETTINGS.model_copy(update={"batch_size": 2})
    dispatcher = Dispatcher(store, [sender], settings, owner="test", rng=random.Random(1))

    # Waiting for a whole batch's answers before the next one leaves would hang here.
    await asyncio.wait_for(dispatcher.drain(), 10)

    assert sorted(where for where, _ in sender.delivered) == sorted(c.chat_id for c in chats)
    [post] = await store.latest(1)
    assert post.id is not None
    rows = await store.deliveries_for_post(post.id)
    assert [row.state for row in rows] == [DeliveryState.SENT] * 4


async def test_rows_a_failed_round_left_claimed_are_sent_by_the_same_dispatcher_later(
    store: Store, sender: RecordingSender
) -> None:
    await plan(store, 3, make_post(1))
    failing = FailingOnceStore(store.engine)
    settings = SETTINGS.model_copy(update={"lease_seconds": 0.01})
    dispatcher = Dispatcher(failing, [sender], settings, owner="test", rng=random.Random(1))

    with pytest.raises(StoreError):
        await dispatcher.round()
    await dispatcher.drain()  # the leases ran out: the rows are taken up again

    [post] = await store.latest(1)
    assert post.id is not None
    rows = await store.deliveries_for_post(post.id)
    assert {row.state for row in rows} == {DeliveryState.SENT}


async def test_a_stop_during_a_platform_wide_pause_hands_the_waiting_rows_back(
    store: Store, sender: RecordingSender
) -> None:
    first, *_ = await plan(store, 3, make_post(1))
    sender.limits = PlatformLimits(
        4096, per_second=1, per_chat_per_second=1, per_group_per_minute=20
    )
    sender.script[first.chat_id] = deque([RetryAfter(60, everywhere=True)])
    dispatcher = Dispatcher(store, [sender], SETTINGS, owner="test", rng=random.Random(1))
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    await sender.changes.until(lambda: not sender.script[first.chat_id])

    stop.set()
    await asyncio.wait_for(running, 10)  # not the minute the platform asked for

    [post] = await store.latest(1)
    assert post.id is not None
    rows = await store.deliveries_for_post(post.id)
    assert [(row.state, row.attempts) for row in rows] == [(DeliveryState.PENDING, 0)] * 3
    assert sender.delivered == []


async def test_an_idle_dispatcher_takes_up_a_dead_processs_rows_when_their_lease_runs_out(
    store: Store, sender: RecordingSender
) -> None:
    chats = await plan(store, 2, make_post(1))
    claimed = await store.claim(["telegram"], limit=10, lease=timedelta(seconds=0.2), owner="dead")
    assert len(claimed) == 2, "then the process dies with both rows on the wire"
    dispatcher = Dispatcher(store, [sender], SETTINGS, owner="alive", rng=random.Random(1))
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))

    # Never woken: it finds the rows by itself once their lease has run out.
    await sender.changes.until(lambda: len(sender.delivered) == 2)
    stop.set()
    await asyncio.wait_for(running, 10)
    assert sorted(where for where, _ in sender.delivered) == sorted(c.chat_id for c in chats)
