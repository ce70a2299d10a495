import random

import pytest

from bot.models import Chat, PlatformLimits
from bot.ratelimit import (
    PACING_EARLY,
    PACING_MARGIN,
    PACING_SLACK,
    Pacer,
    PlatformLimiter,
    SlidingWindow,
)


def test_no_more_than_the_limit_in_any_window() -> None:
    window = SlidingWindow(limit=3, window=1.0)
    sent = []
    now = 0.0
    for _ in range(9):
        now = window.ready_at(now)
        window.record(now)
        sent.append(now)
    for i in range(len(sent) - 3):
        assert sent[i + 3] - sent[i] >= 1.0


def test_a_burst_at_the_start_counts() -> None:
    window = SlidingWindow(limit=30, window=1.0)
    for _ in range(30):
        window.record(0.0)
    assert window.ready_at(0.5) == 1.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


LIMITS = PlatformLimits(
    text_length=4096, per_second=30, per_chat_per_second=1, per_group_per_minute=20
)


def test_one_chats_pause_does_not_delay_another() -> None:
    clock = FakeClock()
    limiter = PlatformLimiter(LIMITS, clock=clock)
    slow, other = Chat("telegram", "1"), Chat("telegram", "2")
    limiter.pause_chat(slow, 30)
    assert limiter.chat_delay(slow) == 30
    assert limiter.chat_delay(other) == 0


def test_a_platform_pause_delays_every_chat_of_that_platform() -> None:
    clock = FakeClock()
    limiter = PlatformLimiter(LIMITS, clock=clock)
    limiter.pause_all(5)
    assert limiter.chat_delay(Chat("telegram", "9")) == 5


def test_groups_get_twenty_a_minute() -> None:
    clock = FakeClock()
    limiter = PlatformLimiter(LIMITS, clock=clock)
    group = Chat("telegram", "-100", kind="group")
    window = limiter._chat_window(group)
    for _ in range(20):
        window.record(clock.now)
    assert limiter.chat_delay(group) == 60


def test_paced_slots_leave_room_in_every_window() -> None:
    pacer = Pacer(30)
    slots = [pacer.reserve(0.0) for _ in range(90)]
    for i in range(len(slots) - 30):
        assert slots[i + 30] - slots[i] >= 1.0 + PACING_MARGIN - 1e-9


def test_a_late_sender_catches_up_only_by_the_slack() -> None:
    pacer = Pacer(30)
    first = pacer.reserve(0.0)
    slightly_late = pacer.reserve(pacer.gap + PACING_SLACK / 2)
    after_idling = pacer.reserve(5.0)
    assert first == 0.0
    assert slightly_late == pacer.gap
    # Behind (here: idle) by far more than the slack, it gains the slack and no more.
    assert after_idling == 5.0 - PACING_SLACK
    assert pacer.reserve(5.0) == 5.0 - PACING_SLACK + pacer.gap


def test_a_sender_that_stalls_keeps_every_window_under_the_ceiling() -> None:
    pacer = Pacer(30)
    rng = random.Random(29)
    now, slots = 0.0, []
    for _ in range(600):
        slots.append(pacer.reserve(now))
        # Sends leave at their slot, or late when the event loop was busy.
        now = max(now, slots[-1]) + rng.choice((0.0, 0.0, 0.002, 0.01, 0.2))
    for i in range(len(slots) - 30):
        assert slots[i + 30] - slots[i] >= 1.0 + PACING_MARGIN - PACING_SLACK - 1e-9


async def test_the_overall_budget_is_paced_without_a_burst() -> None:
    clock = FakeClock()
    limiter = PlatformLimiter(LIMITS, clock=clock)
    await limiter.acquire(Chat("telegram", "1"))
    assert limiter._pace.reserve(clock.now) > clock.now


async def test_a_waiter_that_gives_up_during_a_pause_counts_nothing() -> None:
    clock = FakeClock()
    limiter = PlatformLimiter(LIMITS, clock=clock)
    limiter.pause_all(60)
    asked: list[float] = []

    async def stopping(seconds: float) -> bool:
        asked.append(seconds)
        return False

    assert not await limiter.acquire(Chat("telegram", "1"), stopping)
    assert asked == [60]
    clock.now += 60
    assert await limiter.acquire(Chat("telegram", "1"), stopping)  # due at once: no wait
    assert asked == [60]


async def test_at_1000_a_second_one_wait_releases_the_sends_due_within_the_early_start() -> None:
    clock = FakeClock()
    limiter = PlatformLimiter(PlatformLimits(4096, 1000, 1, 20), clock=clock)
    gap = limiter._pace.gap
    waits: list[float] = []

    async def nap(seconds: float) -> bool:
        waits.append(seconds)
        clock.now += seconds
        return True

    for n in range(10):
        assert await limiter.acquire(Chat("telegram", str(n)), nap)

    # Slots 0-4 are within PACING_EARLY of the start: no wait. Slot 5 is waited for,
    # and from there slots 5-9 go together. None leaves more than PACING_EARLY early.
    assert 4 * gap <= PACING_EARLY < 5 * gap
    assert waits == [pytest.approx(5 * gap)]
