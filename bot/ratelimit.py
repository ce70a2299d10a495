"""Platform rate limits, enforced before sending: overall, per chat, per group.

Counted as Telegram counts them: no more than N sends in ANY window of W
seconds, so a burst at the start of a fan-out counts too (a token bucket would
let 2N through in the first second). The pure parts (`SlidingWindow`, `Pacer`)
take the time as an argument; `PlatformLimiter` adds the waiting.

The overall budget is paced a little (`PACING_MARGIN`) slower than the ceiling: a
backlog leaves in groups (`Pacer`; at 30/s one group of 30 every 1.04 s), a lone send
at once. The margin is what keeps 429s away. The platform counts arrivals and we count
departures; a burst of N sends at the start of each window arrives spread over the
time the client takes to write them, while the next window's first send arrives at
once, so a sender that never exceeds N per window by its own clock, with no margin,
still gets 429s (measured: bench/fanout.py). Paced sends tolerate arrival jitter up to
the margin less the slack and the early start (30 ms in every second), whatever the
group (see `Pacer`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from bot.models import Chat, PlatformLimits

Clock = Callable[[], float]
#: Sleeps the given seconds; False when the sleeper gave up early.
Nap = Callable[[float], Awaitable[bool]]


async def _sleep(seconds: float) -> bool:
    await asyncio.sleep(seconds)
    return True


class SlidingWindow:
    """At most `limit` events in any `window` seconds."""

    __slots__ = ("_times", "limit", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit = max(1, limit)
        self.window = window
        self._times: deque[float] = deque()

    def ready_at(self, now: float) -> float:
        """The earliest time ≥ now at which one more event is allowed."""
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) < self.limit:
            return now
        return self._times[-self.limit] + self.window

    def record(self, when: float) -> None:
        self._times.append(when)
        if len(self._times) > self.limit:
            self._times.popleft()

    def idle(self, now: float) -> bool:
        """True when nothing in the window remembers an event (safe to forget)."""
        return not self._times or self._times[-1] <= now - self.window


#: How much slower than the ceiling the overall pace is (0.04: 4 %, so 28.8/s for 30/s).
#: 3 % still drew a few 429s on a loaded machine, where the event loop can hold a
#: request back by 20 ms or more (bench/fanout.py).
PACING_MARGIN = 0.04
#: How much of a delay a pacer catches up (a stall of the event loop, an idle spell).
PACING_SLACK = 0.005
#: How far ahead of its slot a send may leave: a slot due that soon costs no wake-up
#: of the event loop of its own (each wake-up costs CPU).
#: Margin less slack less this: 30 ms in every second left for arrival jitter.
PACING_EARLY = 0.005
#: The most sends of a backlog one slot releases together: 30 at 30/s, 25 at 1000/s.
#: Each wake-up of an idle event loop costs ~0.3 ms of CPU on a small VM: at 30/s, one
#: a send was most of a send's cost (bench/fanout.py: 1.5 → 0.7 ms per alert with
#: groups of 10). With groups of 30 the loop idles for long once a second, not three
#: times: each answer still wakes it, but a group's answers come back close together,
#: and a wake after a millisecond's sleep costs less than one after a long idle spell
#: (0.49–0.53 → 0.42–0.45 ms per alert, three pairs of runs side by side).
#: python-telegram-bot's own rate limiter lets 30 go at once too; the window rule
#: (`Pacer`) holds for any group.
SEND_GROUP_MAX = 30


class Pacer:
    """Hands out send times: `per_second / (1 + margin)` at most, up to `group` at once.

    At most `group` slots in any `group` gaps: a backlog leaves in groups, one wake-up
    of the event loop each, while a lone send goes at once. With `group` dividing
    `per_second` (`send_group` picks it), any `per_second + 1` slots in a row span
    1 + margin seconds, as evenly spaced ones do, so any window of one second holds
    at most `per_second` of them with `margin` seconds to spare, less the `slack` a
    late sender may catch up.
    """

    __slots__ = ("_taken", "gap", "slack")

    def __init__(
        self,
        per_second: float,
        *,
        margin: float = PACING_MARGIN,
        slack: float = PACING_SLACK,
        group: int = 1,
    ) -> None:
        self.gap = (1.0 + margin) / per_second
        self.slack = slack
        self._taken = SlidingWindow(group, group * self.gap)

    def reserve(self, now: float) -> float:
        """The time of the next free slot (maybe slightly before `now`: go at once); taken.

        A sender behind its schedule catches up at most `slack` of it: a stall of the
        event loop costs the pace only what it lasted beyond `slack`, and an idle
        sender saves up no more credit for a burst than that.
        """
        slot = self._taken.ready_at(now - self.slack)
        self._taken.record(slot)
        return slot


def send_group(per_second: float) -> int:
    """How many sends may share a slot at `per_second`: the largest divisor of it up
    to `SEND_GROUP_MAX`; 1 for a rate that is not a whole number per second."""
    limit = int(per_second)
    if limit != per_second or limit < 1:
        return 1
    return max(k for k in range(1, min(SEND_GROUP_MAX, limit) + 1) if limit % k == 0)


class PlatformLimiter:
    """One platform's budget: shared by every send to that platform in this process.

    A 429 for one chat pauses that chat only; a global 429 pauses this platform
    only (never another platform's limiter).
    """

    def __init__(self, limits: PlatformLimits, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._pace = Pacer(limits.per_second, group=send_group(limits.per_second))
        self._per_chat = limits.per_chat_per_second
        self._per_group = limits.per_group_per_minute
        self._chats: dict[str, SlidingWindow] = {}
        self._paused_until = 0.0
        self._chat_paused: dict[str, float] = {}

    def _chat_window(self, chat: Chat) -> SlidingWindow:
        window = self._chats.get(chat.chat_id)
        if window is None:
            if chat.kind == "user":
                window = _window_for_rate(self._per_chat)
            else:
                window = SlidingWindow(int(self._per_group), 60.0)
            self._chats[chat.chat_id] = window
        return window

    def chat_ready_at(self, chat: Chat) -> float:
        """When `chat` may get its next message (monotonic clock); now if it may at once."""
        now = self._clock()
        paused = max(self._chat_paused.get(chat.chat_id, 0.0), self._paused_until)
        return max(self._chat_window(chat).ready_at(now), paused, now)

    def chat_gap(self, chat: Chat) -> float:
        """The shortest spacing between two messages to `chat` that its limit allows."""
        window = self._chat_window(chat)
        return window.window / window.limit

    def chat_delay(self, chat: Chat) -> float:
        """Seconds until `chat` may get its next message."""
        return max(0.0, self.chat_ready_at(chat) - self._clock())

    async def acquire(self, chat: Chat, nap: Nap = _sleep) -> bool:
        """Wait for the platform's overall budget, then count one send to `chat`.

        Callers check `chat_delay` first: this waits only for the overall budget
        (and a platform-wide pause), which every chat shares alike. Each caller
        takes its own slot at once (first come, first served; no lock held while
        waiting); a slot that falls in a platform-wide pause is given up.

        A slot at most `PACING_EARLY` away is taken at once, without a wait. Every
        wait goes through `nap(seconds)`, which returns False to give up
        (the caller is stopping); then nothing is counted and this returns False.
        """
        while True:
            now = self._clock()
            if self._paused_until > now:
                if not await nap(self._paused_until - now):
                    return False
                continue
            slot = self._pace.reserve(now)
            if slot > now + PACING_EARLY and not await nap(slot - now):
                return False
            if self._paused_until <= self._clock():
                break
        self._chat_window(chat).record(self._clock())
        return True

    def pause_chat(self, chat: Chat, seconds: float) -> None:
        self._chat_paused[chat.chat_id] = self._clock() + seconds

    def pause_all(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def forget_idle(self) -> None:
        """Drop per-chat state that no longer limits anything (keeps memory flat)."""
        now = self._clock()
        for key in [k for k, w in self._chats.items() if w.idle(now)]:
            del self._chats[key]
        for key in [k for k, until in self._chat_paused.items() if until <= now]:
            del self._chat_paused[key]


def _window_for_rate(per_second: float) -> SlidingWindow:
    """A window expressing `per_second`: 30/s → 30 per 1 s; 0.5/s → 1 per 2 s."""
    if per_second >= 1:
        return SlidingWindow(int(per_second), 1.0)
    return SlidingWindow(1, 1.0 / per_second)
