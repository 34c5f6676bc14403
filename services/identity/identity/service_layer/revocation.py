"""Ending sessions: the one place that revokes sessions and tells the gateway.

`revoke_sessions` runs inside the caller's transaction: it marks the sessions revoked (their
refresh tokens stop working at once) and emits `SessionsRevoked`, which every gateway instance
loads into its revocation list so still-valid access tokens of those sessions are refused on
the next request (see docs/identity-access.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from portal_contracts.envelope import SYSTEM, Actor
from portal_contracts.identity import Revocation, SessionsRevoked
from portal_contracts.topics import IDENTITY_ACCESS_EVENTS
from portal_runtime.store import Transaction


async def revoke_sessions(
    tx: Transaction,
    *,
    organisation_id: str,
    customer_id: str,
    contact_ids: Sequence[str] = (),
    session_ids: Sequence[str] = (),
    reason: str,
    now: datetime,
    correlation_id: str,
    causation_id: str | None = None,
    actor: Actor = SYSTEM,
) -> SessionsRevoked:
    """Revoke sessions of one customer and emit `SessionsRevoked`.

    - `contact_ids` empty: every contact of the customer.
    - `session_ids` empty: every session of those contacts; otherwise only these sessions
      (e.g. logout: one id; password change: every other session's id).

    Returns the event (already added to the outbox)."""
    match: dict[str, object] = {
        "organisation_id": organisation_id,
        "customer_id": customer_id,
        "revoked": {"$ne": True},
    }
    if contact_ids:
        match["contact_id"] = {"$in": list(contact_ids)}
    if session_ids:
        match["_id"] = {"$in": list(session_ids)}
    await tx.db["sessions"].update_many(
        match,
        {"$set": {"revoked": True, "revoked_at": now, "revoked_reason": reason}},
        session=tx.session,
    )
    event = SessionsRevoked(
        organisation_id=organisation_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        occurred_at=now,
        actor=actor,
        data=Revocation(
            customer_id=customer_id,
            contact_ids=tuple(contact_ids),
            session_ids=tuple(session_ids),
            revoked_before=now,
            reason=reason,
        ),
    )
    await tx.emit(IDENTITY_ACCESS_EVENTS, event)
    return event
