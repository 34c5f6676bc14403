"""Portal sessions: starting one, rotating its refresh token, listing and ending them.

A session is one sign-in on one device. Its refresh token is exchanged for a new one on every
use; the digests of the last exchanged tokens (`refresh_token_history`) stay on the session,
so a token that comes back after it was exchanged proves a copy exists and the whole session is
ended (refresh-token reuse detection); an older one is merely unknown. Ending sessions goes
through `revocation.revoke_sessions`, which tells every gateway to refuse the session's access
tokens at once."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from identity.adapters.repositories import Sessions
from identity.service_layer.context import Identity
from identity.service_layer.revocation import revoke_sessions
from portal_contracts.envelope import Actor
from portal_contracts.sessions import CredentialFacts, RefreshTokenReused
from portal_contracts.topics import IDENTITY_ACCESS_EVENTS
from portal_runtime.errors import NotFound, Unauthorised
from portal_runtime.sealing import token_digest
from portal_runtime.store import Transaction


@dataclass(frozen=True)
class Client:
    """Where a request came from, as the gateway saw it."""

    ip: str = ""
    user_agent: str = ""
    correlation_id: str = "internal"

    def facts(self) -> dict[str, str]:
        return {"ip": self.ip[:64], "user_agent": self.user_agent[:512]}


@dataclass(frozen=True)
class Principal:
    """A signed-in contact, as the gateway read it from a valid access token."""

    organisation_id: str
    customer_id: str
    contact_id: str
    session_id: str

    @property
    def actor(self) -> Actor:
        return Actor(kind="contact", id=self.contact_id)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str

    def as_answer(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "session_id": self.session_id,
        }


def _access_token(identity: Identity, session: dict[str, Any], now: datetime) -> str:
    return identity.tokens.issue(
        organisation_id=session["organisation_id"],
        customer_id=session["customer_id"],
        contact_id=session["contact_id"],
        session_id=session["_id"],
        now=now,
    )


async def start_session(
    identity: Identity,
    tx: Transaction,
    user: dict[str, Any],
    client: Client,
    now: datetime,
    *,
    second_factor: bool,
) -> TokenPair:
    """Inside the sign-in's transaction: a new session and its first token pair."""
    session_id = uuid.uuid4().hex
    refresh_token = secrets.token_urlsafe(32)
    document = {
        "_id": session_id,
        "organisation_id": user["organisation_id"],
        "customer_id": user["customer_id"],
        "contact_id": user["contact_id"],
        "refresh_digest": token_digest(refresh_token),
        "rotated_digests": [],
        "created_at": now,
        "last_used_at": now,
        "expires_at": now + timedelta(days=identity.settings.refresh_token_days),
        "revoked": False,
        "second_factor": second_factor,
        **client.facts(),
    }
    await Sessions(tx.db, tx.session).add(document)
    return TokenPair(
        access_token=_access_token(identity, document, now),
        refresh_token=refresh_token,
        expires_in=int(identity.tokens.lifetime.total_seconds()),
        session_id=session_id,
    )


async def refresh(
    identity: Identity, organisation_id: str, refresh_token: str, client: Client
) -> TokenPair:
    now = identity.store.clock.now()
    digest = token_digest(refresh_token)
    next_token = secrets.token_urlsafe(32)
    sessions = Sessions(identity.store.db)
    session = await sessions.rotate(
        organisation_id,
        digest,
        token_digest(next_token),
        now,
        client.facts(),
        history=identity.settings.refresh_token_history,
    )
    if session is not None:
        return TokenPair(
            access_token=_access_token(identity, session, now),
            refresh_token=next_token,
            expires_in=int(identity.tokens.lifetime.total_seconds()),
            session_id=session["_id"],
        )
    reused = await sessions.by_rotated_digest(organisation_id, digest)
    if reused is not None and not reused.get("revoked"):

        async def end_family(tx: Transaction) -> None:
            await revoke_sessions(
                tx,
                organisation_id=organisation_id,
                customer_id=reused["customer_id"],
                contact_ids=[reused["contact_id"]],
                session_ids=[reused["_id"]],
                reason="refresh_token_reused",
                now=now,
                correlation_id=client.correlation_id,
            )
            await tx.emit(
                IDENTITY_ACCESS_EVENTS,
                RefreshTokenReused(
                    organisation_id=organisation_id,
                    correlation_id=client.correlation_id,
                    occurred_at=now,
                    data=CredentialFacts(
                        customer_id=reused["customer_id"],
                        contact_id=reused["contact_id"],
                        session_id=reused["_id"],
                        **client.facts(),
                    ),
                ),
            )

        await identity.store.transaction(end_family)
        raise Unauthorised(
            "this refresh token was used before; the session has been ended, sign in again",
            code="refresh_token_reused",
        )
    raise Unauthorised(
        "the refresh token is not valid or has expired; sign in again",
        code="refresh_token_invalid",
    )


async def sessions_of(identity: Identity, principal: Principal) -> list[dict[str, Any]]:
    now = identity.store.clock.now()
    found = await Sessions(identity.store.db).live_of_contact(
        principal.organisation_id, principal.customer_id, principal.contact_id, now
    )
    return [
        {
            "session_id": doc["_id"],
            "created_at": doc["created_at"].isoformat(),
            "last_used_at": doc["last_used_at"].isoformat(),
            "ip": doc.get("ip", ""),
            "user_agent": doc.get("user_agent", ""),
            "current": doc["_id"] == principal.session_id,
        }
        for doc in found
    ]


async def end_session(
    identity: Identity, principal: Principal, session_id: str, client: Client
) -> None:
    """Sign out (the current session) or end another of the contact's own sessions."""
    now = identity.store.clock.now()
    own = await Sessions(identity.store.db).live_of_contact(
        principal.organisation_id, principal.customer_id, principal.contact_id, now
    )
    if session_id not in {doc["_id"] for doc in own}:
        raise NotFound("there is no such session of yours", code="session_not_found")
    reason = "signed_out" if session_id == principal.session_id else "ended_by_contact"

    async def work(tx: Transaction) -> None:
        await revoke_sessions(
            tx,
            organisation_id=principal.organisation_id,
            customer_id=principal.customer_id,
            contact_ids=[principal.contact_id],
            session_ids=[session_id],
            reason=reason,
            now=now,
            correlation_id=client.correlation_id,
            actor=principal.actor,
        )

    await identity.store.transaction(work)


async def end_sessions_of_contact(
    tx: Transaction,
    identity: Identity,
    who: dict[str, str],
    *,
    keep: str | None,
    reason: str,
    now: datetime,
    client: Client,
    actor: Actor,
) -> list[str]:
    """Inside a credential change: end every live session of the contact except `keep`.
    The ids are listed explicitly, so a sign-in a moment later is not caught by the cut."""
    live = await Sessions(tx.db, tx.session).live_of_contact(
        who["organisation_id"], who["customer_id"], who["contact_id"], now
    )
    ended = [doc["_id"] for doc in live if doc["_id"] != keep]
    if ended:
        await revoke_sessions(
            tx,
            organisation_id=who["organisation_id"],
            customer_id=who["customer_id"],
            contact_ids=[who["contact_id"]],
            session_ids=ended,
            reason=reason,
            now=now,
            correlation_id=client.correlation_id,
            actor=actor,
        )
    return ended
