"""The Store against a real database: once-only posts, planning, the outbox."""

from __future__ import annotations

from datetime import timedelta

from bot.models import ALL, BREAKING, Broadcast, DeliveryState, SourceState
from storage import DeliveryResult, Store
from tests.factories import make_chat, make_post

LEASE = timedelta(seconds=30)


async def subscribed(store: Store, n: int, *names: str, **changes: object):
    chat = await store.ensure_chat(make_chat(n, **changes))
    await store.subscribe(chat, list(names))
    return chat


async def test_first_fetch_records_everything_and_alerts_nothing(store: Store) -> None:
    await subscribed(store, 1, ALL)
    result = await store.ingest(SourceState("newsroom"), [make_post(1), make_post(2)])
    assert (result.alerted, result.recorded, result.planned) == ((), 2, 0)
    assert [p.title for p in await store.latest(5)] == ["Headline 2", "Headline 1"]


async def test_backfill_alerts_the_newest_on_first_fetch(store: Store) -> None:
    await subscribed(store, 1, ALL)
    posts = [make_post(1), make_post(2), make_post(3)]
    result = await store.ingest(SourceState("newsroom"), posts, backfill=2)
    assert sorted(p.title for p in result.alerted) == ["Headline 2", "Headline 3"]


async def test_a_new_post_is_planned_once_per_subscribed_chat(store: Store) -> None:
    it = await subscribed(store, 1, "it")
    everything = await subscribed(store, 2, ALL)
    await subscribed(store, 3, "Sports")
    await subscribed(store, 4, "IT", active=False)
    await store.ingest(SourceState("newsroom"), [make_post(1)])
    result = await store.ingest(SourceState("newsroom"), [make_post(1), make_post(2)])
    assert [p.title for p in result.alerted] == ["Headline 2"]
    claimed = await store.claim(["telegram"], limit=10, lease=LEASE, owner="t")
    assert {d.chat.id for d in claimed} == {it.id, everything.id}
    again = await store.ingest(SourceState("newsroom"), [make_post(1), make_post(2)])
    assert again.planned == 0


async def test_breaking_subscribers_get_only_breaking_posts(store: Store) -> None:
    await store.ingest(SourceState("newsroom"), [])
    chat = await subscribed(store, 1, BREAKING)
    await store.ingest(SourceState("newsroom"), [make_post(1), make_post(2, breaking=True)])
    claimed = await store.claim(["telegram"], limit=10, lease=LEASE, owner="t")
    assert [(d.chat.id, d.post.title if d.post else None) for d in claimed] == [
        (chat.id, "Headline 2")
    ]


async def test_the_same_story_from_a_second_source_is_not_alerted_again(store: Store) -> None:
    await subscribed(store, 1, ALL)
    await store.ingest(SourceState("a"), [])
    await store.ingest(SourceState("b"), [])
    first = await store.ingest(SourceState("a"), [make_post(1, source="a", link="https://x.kr/s")])
    second = await store.ingest(
        SourceState("b"),
        [make_post(9, source="b", link="https://x.kr/s?utm_source=rss")],
    )
    assert (first.planned, second.planned, second.recorded) == (1, 0, 1)


async def test_claim_orders_breaking_first_and_a_lease_keeps_others_away(store: Store) -> None:
    await store.ingest(SourceState("newsroom"), [])
    await subscribed(store, 1, ALL)
    await store.ingest(SourceState("newsroom"), [make_post(1), make_post(2, breaking=True)])
    first = await store.claim(["telegram"], limit=1, lease=LEASE, owner="a")
    assert first[0].post is not None and first[0].post.breaking
    second = await store.claim(["telegram"], limit=10, lease=LEASE, owner="b")
    assert [d.post.title for d in second if d.post] == ["Headline 1"]
    assert await store.claim(["telegram"], limit=10, lease=LEASE, owner="c") == []


async def test_an_expired_lease_is_claimed_again(store: Store) -> None:
    await store.ingest(SourceState("newsroom"), [])
    await subscribed(store, 1, ALL)
    await store.ingest(SourceState("newsroom"), [make_post(1)])
    await store.claim(["telegram"], limit=10, lease=timedelta(seconds=-1), owner="dead")
    again = await store.claim(["telegram"], limit=10, lease=LEASE, owner="alive")
    assert len(again) == 1


async def test_settled_rows_are_not_claimed_again(store: Store) -> None:
    await store.ingest(SourceState("newsroom"), [])
    await subscribed(store, 1, ALL)
    await store.ingest(SourceState("newsroom"), [make_post(1)])
    [row] = await store.claim(["telegram"], limit=10, lease=LEASE, owner="t")
    await store.settle([DeliveryResult(row.id, DeliveryState.SENT, message_id="42")])
    assert await store.claim(["telegram"], limit=10, lease=timedelta(0), owner="t") == []
    stats = await store.stats()
    assert stats.deliveries_by_state["sent"] == 1


async def test_a_gone_chat_is_deactivated_and_its_queue_failed(store: Store) -> None:
    await store.ingest(SourceState("newsroom"), [])
    chat = await subscribed(store, 1, ALL)
    await store.ingest(SourceState("newsroom"), [make_post(1), make_post(2)])
    assert chat.id is not None
    await store.chats_gone([chat.id], "blocked")
    stored = await store.find_chat("telegram", chat.chat_id)
    assert stored is not None and not stored.active
    assert (await store.stats()).deliveries_by_state["failed"] == 2


async def test_subscriptions_match_case_insensitively_and_keep_spelling(store: Store) -> None:
    chat = await subscribed(store, 1, "IT", "it", "World News")
    assert await store.subscriptions(chat) == ["IT", "World News"]
    assert await store.unsubscribe(chat, ["world news"]) == ["World News"]
    assert await store.unsubscribe(chat, [ALL]) == ["IT"]
    assert await store.subscriptions(chat) == []


async def test_a_broadcast_is_queued_once_for_its_category(store: Store) -> None:
    await subscribed(store, 1, "IT")
    await subscribed(store, 2, "Sports")
    await subscribed(store, 3, ALL)
    draft = await store.create_broadcast(Broadcast(text="공지", category="it", author="x"))
    assert draft.id is not None
    assert await store.recipients("it") == 2
    assert await store.queue_broadcast(draft.id) == 2
    assert await store.queue_broadcast(draft.id) is None
    claimed = await store.claim(["telegram"], limit=10, lease=LEASE, owner="t")
    assert {d.broadcast.text for d in claimed if d.broadcast} == {"공지"}
    assert all(d.priority == 0 for d in claimed)


async def test_one_process_at_a_time_holds_a_source(store: Store) -> None:
    assert await store.lease_source("newsroom", "a", LEASE)
    assert not await store.lease_source("newsroom", "b", LEASE)
    assert await store.lease_source("newsroom", "a", LEASE), "the holder may renew"
    await store.release_source("newsroom", "a")
    assert await store.lease_source("newsroom", "b", LEASE)


async def test_a_dead_processs_source_lease_expires(store: Store) -> None:
    assert await store.lease_source("newsroom", "dead", timedelta(seconds=-1))
    assert await store.lease_source("newsroom", "alive", LEASE)


async def test_one_process_holds_the_receiver_role_until_it_lapses_or_is_dropped(
    store: Store,
) -> None:
    assert await store.hold_lease("receiver", "a", LEASE)
    assert not await store.hold_lease("receiver", "b", LEASE)
    assert await store.hold_lease("receiver", "a", LEASE)
    await store.drop_lease("receiver", "a")
    assert await store.hold_lease("receiver", "b", timedelta(seconds=-1))
    assert await store.hold_lease("receiver", "c", LEASE), "b's lease lapsed"


async def test_a_claimer_is_never_handed_back_its_own_rows(store: Store) -> None:
    await store.ingest(SourceState("newsroom"), [])
    await subscribed(store, 1, ALL)
    await store.ingest(SourceState("newsroom"), [make_post(1)])
    await store.claim(["telegram"], limit=10, lease=timedelta(seconds=-1), owner="busy")
    assert await store.claim(["telegram"], limit=10, lease=LEASE, owner="busy") == []
    assert len(await store.claim(["telegram"], limit=10, lease=LEASE, owner="other")) == 1
