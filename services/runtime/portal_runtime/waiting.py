"""Waiting with a time limit without losing a cancellation.

Python 3.11's `asyncio.wait_for` returns the awaited result when the task is cancelled at the
moment that result arrives, and the cancellation is gone: a background loop waiting on its
wake-up event that is set just as the service stops (a handler committed, then `stop()`)
carries on for ever and `stop()` never returns. `asyncio.timeout` counts cancellations and
never drops one, so every wait with a limit goes through here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def woken_or_timed_out(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` pass; True if it was set."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def within(awaitable: Awaitable[T], seconds: float) -> T:
    """`await awaitable`, raising TimeoutError after `seconds`."""
    async with asyncio.timeout(seconds):
        return await awaitable
