"""Accepting an invitation (setting the first password) and signing in."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from identity.adapters.repositories import Invitations, Merchants, PortalUsers, Sessions
from identity.domain.invitations import InvitationUnusable
from identity.domain.passwords import PasswordRejected, check_password
from identity.service_layer.context import Identity
from portal_contracts.envelope import Actor
from portal_contracts.identity import (
    ContactRef,
    ContactSignedIn,
    PortalInvitationAccepted,
    SignInFacts,
    SignInFailed,
)
from portal_contracts.topics import IDENTITY_ACCESS_EVENTS
from portal_runtime.errors import NotFound, ServiceError, Unauthorised
from portal_runtime.sealing import token_digest
from portal_runtime.store import Transaction

WRONG_CREDENTIALS = "the email or password is not right"


class InvitationRefused(ServiceError):
    status = 410
    code = "invitation_unusable"


class PasswordPolicy(ServiceError):
    status = 400
    code = "weak_password"


@dataclass(frozen=True)
class SignedIn:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    organisation_id: str
    customer_id: str
    contact_id: str


async def _merchant_of(identity: Identity, portal_slug: str) -> dict[str, str]:
    merchant = await Merchants(identity.store.db).by_slug(portal_slug)
    if merchant is None:
        raise NotFound(f"there is no portal at '{portal_slug}'")
    return merchant


async def accept_invitation(
    identity: Identity, portal_slug: str, token: str, password: str, correlation_id: str
) -> ContactRef:
    merchant = await _merchant_of(identity, portal_slug)
    organisation_id = merchant["_id"]
    now = identity.store.clock.now()
    invitation = await Invitations(identity.store.db).by_digest(
        organisation_id, token_digest(token)
    )
    if invitation is None:
        raise NotFound("this invitation link is not valid for this portal")
    try:
        invitation.check_usable(now)
    except InvitationUnusable as unusable:
        raise InvitationRefused(unusable.reason, code=unusable.code) from unusable
    user = await PortalUsers(identity.store.db).by_contact(
        organisation_id, invitation.customer_id, invitation.contact_id
    )
    if user is None:
        raise NotFound("this invitation link is not valid for this portal")
    try:
        check_password(password, user["email"])
    except PasswordRejected as weak:
        raise PasswordPolicy(str(weak)) from weak
    password_hash = await identity.passwords.hash(password)

    async def work(tx: Transaction) -> None:
        if not await Invitations(tx.db, tx.session).mark_accepted(invitation, now):
            raise InvitationRefused("this invitation link was already used", code="invitation_used")
        await PortalUsers(tx.db, tx.session).activate(
            organisation_id, invitation.customer_id, invitation.contact_id, password_hash, now
        )
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            PortalInvitationAccepted(
                organisation_id=organisation_id,
                correlation_id=correlation_id,
                occurred_at=now,
                actor=Actor(kind="contact", id=invitation.contact_id),
                data=ContactRef(
                    customer_id=invitation.customer_id, contact_id=invitation.contact_id
                ),
            ),
        )

    await identity.store.transaction(work)
    return ContactRef(customer_id=invitation.customer_id, contact_id=invitation.contact_id)


async def sign_in(
    identity: Identity,
    portal_slug: str,
    email: str,
    password: str,
    ip: str,
    user_agent: str,
    correlation_id: str,
) -> SignedIn:
    merchant = await _merchant_of(identity, portal_slug)
    organisation_id = merchant["_id"]
    user = await PortalUsers(identity.store.db).by_email(organisation_id, email)
    usable = user is not None and user.get("status") == "active"
    # Always verify (against a decoy hash when there is no user) so timing says nothing.
    matches = await identity.passwords.verify(user.get("password_hash") if user else None, password)
    now = identity.store.clock.now()
    facts = {"ip": ip[:64], "user_agent": user_agent[:512]}

    if not (usable and matches and user is not None):

        async def record_failure(tx: Transaction) -> None:
            await tx.emit(
                IDENTITY_ACCESS_EVENTS,
                SignInFailed(
                    organisation_id=organisation_id,
                    correlation_id=correlation_id,
                    occurred_at=now,
                    data=SignInFacts(
                        customer_id=user["customer_id"] if user else None,
                        contact_id=user["contact_id"] if user else None,
                        outcome="failed",
                        reason="unknown_email"
                        if user is None
                        else ("wrong_password" if usable else f"user_{user.get('status')}"),
                        **facts,
                    ),
                ),
            )

        await identity.store.transaction(record_failure)
        raise Unauthorised(WRONG_CREDENTIALS, code="wrong_credentials")

    session_id = uuid.uuid4().hex
    refresh_token = secrets.token_urlsafe(32)
    access_token = identity.tokens.issue(
        organisation_id=organisation_id,
        customer_id=user["customer_id"],
        contact_id=user["contact_id"],
        session_id=session_id,
        now=now,
    )

    async def record_success(tx: Transaction) -> None:
        await Sessions(tx.db, tx.session).add(
            {
                "_id": session_id,
                "organisation_id": organisation_id,
                "customer_id": user["customer_id"],
                "contact_id": user["contact_id"],
                "refresh_digest": token_digest(refresh_token),
                "created_at": now,
                "last_used_at": now,
                "expires_at": now + timedelta(days=identity.settings.refresh_token_days),
                "revoked": False,
                **facts,
            }
        )
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            ContactSignedIn(
                organisation_id=organisation_id,
                correlation_id=correlation_id,
                occurred_at=now,
                actor=Actor(kind="contact", id=user["contact_id"]),
                data=SignInFacts(
                    customer_id=user["customer_id"],
                    contact_id=user["contact_id"],
                    session_id=session_id,
                    outcome="succeeded",
                    **facts,
                ),
            ),
        )

    await identity.store.transaction(record_success)
    return SignedIn(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=int(identity.tokens.lifetime.total_seconds()),
        session_id=session_id,
        organisation_id=organisation_id,
        customer_id=user["customer_id"],
        contact_id=user["contact_id"],
    )
