"""Failure kinds every service sorts its errors into: they decide HTTP status and dead letters."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every expected failure. `status` is the HTTP status it maps to."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Unauthorised(ServiceError):
    status = 401
    code = "unauthorised"


class TooManyRequests(ServiceError):
    status = 429
    code = "too_many_requests"


class RetryableFailure(Exception):
    """A message handler hit a failure that may pass (a timeout, a write conflict): retry it."""


class PermanentFailure(Exception):
    """A message that can never be handled: it goes to the dead-letter topic."""
