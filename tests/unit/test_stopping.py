"""Stopping a service's background loops: a wake-up that arrives together with the stop must
not keep a loop running (Python 3.11's `asyncio.wait_for` loses the cancellation then, which
once hung a test for two minutes)."""

from __future__ import annotations

import asyncio

import pytest

from portal_runtime.runtime import cancel_and_wait
from portal_runtime.waiting import within, woken_or_timed_out

pytestmark = pytest.mark.unit


def polling_loop(event: asyncio.Event, rounds: list[int]) -> asyncio.Task[None]:
    """The shape of the mail sender, webhook sender and outbox relay loops."""

    async def run() -> None:
        while True:
            event.clear()
            rounds.append(1)
            await asyncio.sleep(0)
            await woken_or_timed_out(event, 0.05)

    return asyncio.create_task(run(), name="polling-loop")


async def test_a_loop_woken_at_the_moment_it_is_stopped_ends() -> None:
    for _ in range(20):
        event, rounds = asyncio.Event(), []
        task = polling_loop(event, rounds)
        await asyncio.sleep(0.01)
        event.set()  # a handler committed and woke the loop ...
        task.cancel()  # ... just as the service stops
        done, _ = await asyncio.wait({task}, timeout=2)
        assert done == {task}
        assert task.cancelled()


async def test_a_wait_says_whether_it_was_woken() -> None:
    event = asyncio.Event()
    assert await woken_or_timed_out(event, 0.01) is False
    event.set()
    assert await woken_or_timed_out(event, 10) is True


async def test_within_times_out_and_passes_results_through() -> None:
    assert await within(asyncio.sleep(0, result="done"), 1) == "done"
    with pytest.raises(TimeoutError):
        await within(asyncio.sleep(10), 0.01)


async def test_stopping_cancels_again_a_task_that_swallowed_its_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("portal_runtime.runtime.STOP_GRACE_SECONDS", 0.05)
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # the first cancellation is lost, as wait_for can lose it

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    await within(cancel_and_wait([task]), 5)
    assert task.cancelled()
    assert swallowed == 1
