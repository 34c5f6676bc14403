"""The dead-letter policy: capped exponential backoff, retries for failures that may pass,
straight to the dead-letter topic for those that never will."""

from __future__ import annotations

from typing import Any

import pytest
from faststream import ContextRepo
from pydantic import BaseModel, ValidationError

from portal_runtime.errors import PermanentFailure
from portal_runtime.messaging import DeadLetters
from portal_runtime.settings import ServiceSettings

pytestmark = pytest.mark.unit


def policy(**settings: Any) -> DeadLetters:
    return DeadLetters(ServiceSettings(service_name="subscriptions", **settings))


class RecordingDeadLetters(DeadLetters):
    """Keeps what would go to the dead-letter topic instead of publishing it."""

    def __init__(self, settings: ServiceSettings) -> None:
        super().__init__(settings)
        self.sent: list[tuple[Any, BaseException]] = []

    async def send(self, msg: Any, error: BaseException) -> None:
        self.sent.append((msg, error))


class FlakyHandler:
    """Fails with `error` the first `failures` times, then returns "handled"."""

    def __init__(self, error: BaseException, failures: int) -> None:
        self.error = error
        self.failures = failures
        self.calls = 0

    async def __call__(self, msg: Any) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "handled"


async def consume(dead_letters: DeadLetters, handler: FlakyHandler, msg: Any) -> Any:
    middleware = dead_letters.middleware(msg, context=ContextRepo())
    return await middleware.consume_scope(handler, msg)


def fast_retries(attempts: int = 5) -> RecordingDeadLetters:
    settings = ServiceSettings(
        service_name="subscriptions",
        retry_attempts=attempts,
        retry_backoff_seconds=0.001,
        retry_backoff_cap_seconds=0.004,
    )
    return RecordingDeadLetters(settings)


def test_backoff_doubles_from_the_first_delay() -> None:
    dead_letters = policy(retry_backoff_seconds=0.2, retry_backoff_cap_seconds=60)

    assert [dead_letters.delay(attempt) for attempt in range(1, 6)] == [0.2, 0.4, 0.8, 1.6, 3.2]


def test_backoff_stops_growing_at_the_cap() -> None:
    dead_letters = policy(retry_backoff_seconds=0.2, retry_backoff_cap_seconds=5.0)

    delays = [dead_letters.delay(attempt) for attempt in range(1, 12)]

    assert delays[:5] == [0.2, 0.4, 0.8, 1.6, 3.2]
    assert delays[5:] == [5.0] * 6
    assert dead_letters.delay(60) == 5.0


def test_backoff_is_capped_however_many_attempts_are_allowed() -> None:
    assert policy(retry_backoff_cap_seconds=5.0).delay(2000) == 5.0


async def test_a_failure_that_passes_is_retried_and_nothing_is_dead_lettered() -> None:
    dead_letters = fast_retries(attempts=5)
    handler = FlakyHandler(TimeoutError("database timed out"), failures=2)

    result = await consume(dead_letters, handler, msg="message")

    assert result == "handled"
    assert handler.calls == 3
    assert dead_letters.sent == []


async def test_a_failure_that_persists_is_dead_lettered_when_the_attempts_run_out() -> None:
    dead_letters = fast_retries(attempts=4)
    error = ConnectionError("broker unreachable")
    handler = FlakyHandler(error, failures=100)

    result = await consume(dead_letters, handler, msg="message")

    assert result is None  # acknowledged: the partition moves on
    assert handler.calls == 4
    assert dead_letters.sent == [("message", error)]


class _Strict(BaseModel):
    count: int


def _validation_error() -> ValidationError:
    try:
        _Strict.model_validate({"count": "many"})
    except ValidationError as error:
        return error
    raise AssertionError("expected a validation error")


@pytest.mark.parametrize(
    "error",
    [PermanentFailure("sealed value cannot be opened"), _validation_error()],
    ids=["permanent-failure", "validation-error"],
)
async def test_a_permanent_failure_is_dead_lettered_without_a_retry(error: Exception) -> None:
    dead_letters = fast_retries(attempts=5)
    handler = FlakyHandler(error, failures=100)

    result = await consume(dead_letters, handler, msg="message")

    assert result is None
    assert handler.calls == 1
    assert dead_letters.sent == [("message", error)]
