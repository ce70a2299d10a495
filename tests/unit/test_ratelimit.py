import random

import pytest

from bot.models import Chat, PlatformLimits
from bot.ratelimit import (
    PACING_EARLY,
    PACING_MARGIN,
    PACING_SLACK,
    SEND_GROUP_MAX,
    Pacer,
    PlatformLimiter,
    SlidingWindow,
    send_group,
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


@pytest.mark.parametrize("group", [1, 3, 10, 30])
def test_paced_slots_leave_room_in_every_window(group: int) -> None:
    pacer = Pacer(30, group=group)
    slots = [pacer.reserve(0.0) for _ in range(90)]
    for i in range(len(slots) - 30):
        assert slots[i + 30] - slots[i] >= 1.0 + PACING_MARGIN - 1e-9


def test_a_late_sender_catches_up_only_by_the_slack() -> None:
    pacer = Pacer(30)
    first = pacer.reserve(0.0)
    slightly_late = pacer.reserve(first + pacer.gap + PACING_SLACK / 2)
    after_idling = pacer.reserve(5.0)
    assert slightly_late == first + pacer.gap  # its slot, not the time it asked
    # Behind (here: idle) by far more than the slack, it gains the slack and no more.
    assert after_idling == 5.0 - PACING_SLACK
    assert pacer.reserve(5.0) == 5.0 - PACING_SLACK + pacer.gap


@pytest.mark.parametrize("group", [1, 3, 10, 30])
def test_bursts_lone_sends_and_stalls_keep_every_window_under_the_ceiling(group: int) -> None:
    pacer = Pacer(30, group=group)
    rng = random.Random(29)
    now, slots, departures = 0.0, [], []
    for _ in range(900):
        slots.append(pacer.reserve(now))
        departures.append(max(now, slots[-1]))
        # Back-to-back sends of a fan-out, lone alerts, and an event loop that was busy.
        now = departures[-1] + rng.choice((0.0, 0.0, 0.0, 0.002, 0.01, 0.05, 0.2, 0.5))
    for i in range(len(slots) - 30):
        assert slots[i + 30] - slots[i] >= 1.0 + PACING_MARGIN - 1e-9
        assert departures[i + 30] - departures[i] >= 1.0 + PACING_MARGIN - PACING_SLACK - 1e-9


def test_a_backlog_leaves_in_groups_a_group_length_apart() -> None:
    pacer = Pacer(30, group=3)
    slots = [pacer.reserve(0.0) for _ in range(7)]
    start, length = slots[0], 3 * pacer.gap
    assert slots == [start] * 3 + [pytest.approx(start + length)] * 3 + [
        pytest.approx(start + 2 * length)
    ]


def test_a_lone_send_goes_at_once_while_fewer_than_a_group_went_lately() -> None:
    pacer = Pacer(30, group=10)
    pacer.reserve(0.0)
    # A second alert 0.1 s after the first waits for nothing (ingest-to-send latency).
    assert pacer.reserve(0.1) <= 0.1


@pytest.mark.parametrize(
    ("per_second", "group"),
    [(30, SEND_GROUP_MAX), (1000, 25), (45, 15), (29, 29), (31, 1), (28.5, 1), (0.5, 1)],
)
def test_a_group_divides_the_rate_so_windows_keep_their_room(per_second: float, group: int) -> None:
    assert send_group(per_second) == group


async def test_the_overall_budget_lets_no_more_than_a_group_go_at_once() -> None:
    clock = FakeClock()
    limiter = PlatformLimiter(LIMITS, clock=clock)
    for n in range(send_group(LIMITS.per_second)):
        await limiter.acquire(Chat("telegram", str(n)))
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


async def test_at_1000_a_second_one_wait_releases_a_group_of_25() -> None:
    clock = FakeClock()
    limiter = PlatformLimiter(PlatformLimits(4096, 1000, 1, 20), clock=clock)
    gap, group = limiter._pace.gap, send_group(1000)
    assert group == 25
    waits: list[float] = []

    async def nap(seconds: float) -> bool:
        waits.append(seconds)
        clock.now += seconds
        return True

    for n in range(3 * group):
        assert await limiter.acquire(Chat("telegram", str(n)), nap)
    # Three groups: the first at once (an idle sender's slot is `slack` early), each of
    # the others after one wait.
    assert waits == [pytest.approx(group * gap - PACING_SLACK), pytest.approx(group * gap)]

    # A group due within PACING_EARLY is taken at once, without a wait.
    clock.now += group * gap - PACING_EARLY / 2
    assert await limiter.acquire(Chat("telegram", "early"), nap)
    assert len(waits) == 2
