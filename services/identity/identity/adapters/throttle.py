"""Failed sign-in counters in MongoDB, per account and per client address.

Each failure is one atomic `$inc`, so concurrent guesses from many gateway instances are all
counted; the failure that reaches a multiple of the threshold sets the lock. Documents expire
on their own (TTL) once nothing has failed for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]
COLLECTION = "sign_in_throttle"


@dataclass(frozen=True)
class ThrottlePolicy:
    """`threshold` failures lock for `first_lock`; every further `threshold` failures double
    the lock, up to `longest_lock`. Failures older than `forget_after` no longer count."""

    threshold: int
    first_lock: timedelta
    longest_lock: timedelta
    forget_after: timedelta

    def lock_after(self, failures: int) -> timedelta | None:
        if failures < self.threshold or failures % self.threshold:
            return None
        doublings = failures // self.threshold - 1
        lock: timedelta = self.first_lock * (2 ** min(doublings, 16))
        return min(lock, self.longest_lock)


@dataclass(frozen=True)
class Lockout:
    key: str
    failures: int
    locked_until: datetime


class SignInThrottle:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[COLLECTION]

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
        await db[COLLECTION].create_index("expires_at", expireAfterSeconds=0)

    async def locked_until(self, keys: list[str], now: datetime) -> datetime | None:
        """The latest lock still running on any of these keys."""
        latest: datetime | None = None
        async for doc in self.collection.find(
            {"_id": {"$in": keys}, "locked_until": {"$gt": now}}, {"locked_until": 1}
        ):
            until: datetime = doc["locked_until"]
            latest = until if latest is None or until > latest else latest
        return latest

    async def fail(self, key: str, policy: ThrottlePolicy, now: datetime) -> Lockout | None:
        """Count one failure; answers the lock it started, if it started one."""
        # Failures from long ago are forgotten before this one is counted.
        await self.collection.update_one(
            {"_id": key, "last_failure_at": {"$lt": now - policy.forget_after}},
            {"$set": {"failures": 0}},
        )
        doc = await self.collection.find_one_and_update(
            {"_id": key},
            {
                "$inc": {"failures": 1},
                "$set": {
                    "last_failure_at": now,
                    "expires_at": now + policy.forget_after + policy.longest_lock,
                },
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        failures = int(doc["failures"]) if doc else 1
        lock = policy.lock_after(failures)
        if lock is None:
            return None
        until = now + lock
        await self.collection.update_one(
            {"_id": key},
            {"$max": {"locked_until": until}},
        )
        return Lockout(key=key, failures=failures, locked_until=until)

    async def clear(self, key: str) -> None:
        await self.collection.delete_one({"_id": key})
