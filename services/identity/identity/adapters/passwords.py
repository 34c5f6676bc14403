"""argon2id password hashing, run off the event loop (it is deliberately slow).

Hashing is admitted, not queued without end: at most `workers` hashes run at once (one per
CPU by default) and at most `max_waiting` callers wait for a turn. A caller beyond that is
refused at once (`HashingBusy`), so a burst of sign-ins is answered quickly with "try again"
rather than piling up until the caller's own timeout."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from portal_runtime.errors import TooManyRequests

T = TypeVar("T")


class HashingBusy(TooManyRequests):
    """More callers are waiting for the hashing workers than may wait (429; a sign-in answers
    it with Retry-After)."""

    code = "too_many_sign_ins"
    retry_after = 1


class PasswordHashing:
    def __init__(
        self,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        *,
        workers: int | None = None,
        max_waiting: int = 64,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Verified against when the email is unknown, so both answers take the same time.
        self._decoy = self._hasher.hash("decoy-password-never-matches")
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.max_waiting = max_waiting
        self._turns = asyncio.Semaphore(self.workers)
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Callers admitted but not yet hashing."""
        return self._waiting

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one hashing worker; HashingBusy at once when too many already wait."""
        if self._turns.locked() and self._waiting >= self.max_waiting:
            raise HashingBusy(f"{self._waiting} password checks are already waiting")
        self._waiting += 1
        try:
            await self._turns.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._turns.release()

    async def _run(self, work: Callable[..., T], *args: str) -> T:
        async with self.turn():
            return await asyncio.to_thread(work, *args)

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        # The decoy takes the same path (and the same admission) as a real hash.
        return await self._run(self._verify, stored_hash or self._decoy, password)

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(stored_hash, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
