"""Password checks are admitted, not queued without end: with every hashing worker busy and
the waiting room full, the next check is refused at once (429 with Retry-After for a
sign-in), whether the email is known (a real hash) or not (the decoy)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from identity.adapters.passwords import HashingBusy, PasswordHashing
from identity.service_layer.signing_in import LockedOut, TooManySignIns, _verify_admitted

PASSWORD = "correct horse battery staple"


def hashing(max_waiting: int) -> PasswordHashing:
    return PasswordHashing(1, 1024, 1, workers=1, max_waiting=max_waiting)


async def until_waiting(passwords: PasswordHashing, count: int) -> None:
    # Yield to the event loop until the started checks stand in the queue (no clock involved).
    while passwords.waiting < count:
        await asyncio.sleep(0)


async def test_the_check_after_a_full_waiting_room_is_refused_at_once() -> None:
    passwords = hashing(max_waiting=2)
    stored = await passwords.hash(PASSWORD)
    async with passwords.turn():  # every worker busy
        queued = [
            asyncio.create_task(passwords.verify(stored, PASSWORD)),
            asyncio.create_task(passwords.verify(None, PASSWORD)),
        ]
        await until_waiting(passwords, 2)
        with pytest.raises(HashingBusy) as refused:
            await passwords.verify(stored, PASSWORD)
        assert (refused.value.status, refused.value.code) == (429, "too_many_sign_ins")
        with pytest.raises(HashingBusy):
            await passwords.hash(PASSWORD)
    # The admitted ones were only delayed, and answer as before.
    assert await asyncio.gather(*queued) == [True, False]
    assert passwords.waiting == 0
    assert await passwords.verify(stored, PASSWORD) is True


async def test_waiting_below_the_limit_is_admitted() -> None:
    passwords = hashing(max_waiting=3)
    async with passwords.turn():
        queued = [asyncio.create_task(passwords.verify(None, PASSWORD)) for _ in range(3)]
        await until_waiting(passwords, 3)
    assert await asyncio.gather(*queued) == [False, False, False]


@pytest.mark.parametrize("known_email", [True, False])
async def test_a_busy_sign_in_answers_429_with_retry_after_for_any_email(
    known_email: bool,
) -> None:
    passwords = hashing(max_waiting=1)
    identity: Any = SimpleNamespace(passwords=passwords)
    stored = await passwords.hash(PASSWORD) if known_email else None
    async with passwords.turn():
        queued = asyncio.create_task(passwords.verify(None, PASSWORD))
        await until_waiting(passwords, 1)
        with pytest.raises(TooManySignIns) as refused:
            await _verify_admitted(identity, stored, PASSWORD)
    await queued
    error = refused.value
    # A LockedOut: identity's API answers it with the Retry-After header.
    assert isinstance(error, LockedOut)
    assert (error.status, error.code, error.retry_after) == (429, "too_many_sign_ins", 1)
