"""The event loop newsbot runs on: uvloop where it is installed, else asyncio's own.

uvloop (libuv, in C) runs the same asyncio code with less CPU a turn of the loop,
and a fan-out turns the loop about three times a message: bench/fanout.py measured
~10 % less CPU per alert (0.50 → 0.45 ms at 1000/s, 0.57 → 0.51 ms at 30/s). It is
not built for Windows; there, and wherever it is missing, asyncio's loop serves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop maker, or None (asyncio's default) when uvloop is not installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - installed on every platform we test on
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, on the loop `loop_factory` picks."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
