"""Changing a password (signed in, old password required) and resetting a forgotten one by
a single-use emailed link."""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import quote

from identity.adapters.credentials import ResetLinks
from identity.adapters.repositories import Customers, PortalUsers
from identity.adapters.throttle import SignInThrottle, ThrottlePolicy
from identity.domain.passwords import (
    PasswordRejected,
    ResetLink,
    ResetLinkUnusable,
    check_password,
)
from identity.service_layer.context import Identity
from identity.service_layer.mfa import user_of, who_of
from identity.service_layer.sessions import Client, Principal, end_sessions_of_contact
from identity.service_layer.signing_in import (
    PasswordPolicy,
    account_key,
    merchant_of,
    refuse_if_locked,
    throttle_failure,
)
from portal_contracts.envelope import Actor
from portal_contracts.notifications import CustomerEmail, SendCustomerEmail
from portal_contracts.sessions import (
    CredentialFacts,
    PasswordChanged,
    PasswordReset,
    PasswordResetRequested,
)
from portal_contracts.topics import IDENTITY_ACCESS_EVENTS, NOTIFICATIONS_COMMANDS
from portal_runtime.errors import Forbidden, NotFound, ServiceError
from portal_runtime.sealing import token_digest
from portal_runtime.store import Transaction


class ResetLinkRefused(ServiceError):
    status = 410
    code = "reset_link_unusable"


async def change_password(
    identity: Identity,
    principal: Principal,
    current_password: str,
    new_password: str,
    client: Client,
) -> int:
    """Answers how many other sessions were ended."""
    user = await user_of(identity, principal)
    now = identity.store.clock.now()
    key = account_key(principal.organisation_id, user["email"])
    await refuse_if_locked(identity, [key], now)
    if not await identity.passwords.verify(user.get("password_hash"), current_password):
        # A stolen session must not become a way to guess the password.
        await throttle_failure(identity, key, now, user, client)
        raise Forbidden("the current password is not right", code="wrong_password")
    try:
        check_password(new_password, user["email"])
    except PasswordRejected as weak:
        raise PasswordPolicy(str(weak)) from weak
    password_hash = await identity.passwords.hash(new_password)

    async def work(tx: Transaction) -> int:
        await tx.db["portal_users"].update_one(
            who_of(user),
            {"$set": {"password_hash": password_hash, "password_changed_at": now}},
            session=tx.session,
        )
        ended = await end_sessions_of_contact(
            tx,
            identity,
            who_of(user),
            keep=principal.session_id,
            reason="password_changed",
            now=now,
            client=client,
            actor=principal.actor,
        )
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            PasswordChanged(
                organisation_id=principal.organisation_id,
                correlation_id=client.correlation_id,
                occurred_at=now,
                actor=principal.actor,
                data=CredentialFacts(
                    customer_id=principal.customer_id,
                    contact_id=principal.contact_id,
                    session_id=principal.session_id,
                    **client.facts(),
                ),
            ),
        )
        return len(ended)

    return await identity.store.transaction(work) or 0


async def request_reset(identity: Identity, portal_slug: str, email: str, client: Client) -> None:
    """Email a reset link if the address belongs to an active contact of this portal. The
    answer (and the work: one lookup, one transaction) is the same either way."""
    merchant = await merchant_of(identity, portal_slug)
    organisation_id = merchant["_id"]
    now = identity.store.clock.now()
    user = await PortalUsers(identity.store.db).by_email(organisation_id, email)
    known = user is not None and user.get("status") == "active"
    throttle = SignInThrottle(identity.store.db)
    rate_key = f"reset:{account_key(organisation_id, email)}"
    hourly = ThrottlePolicy(
        threshold=identity.settings.reset_emails_per_hour,
        first_lock=timedelta(hours=1),
        longest_lock=timedelta(hours=1),
        forget_after=timedelta(hours=1),
    )
    flooded = await throttle.locked_until([rate_key], now) is not None
    await throttle.fail(rate_key, hourly, now)
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(minutes=identity.settings.password_reset_minutes)

    async def work(tx: Transaction) -> None:
        facts = CredentialFacts(
            customer_id=user["customer_id"] if known and user else None,
            contact_id=user["contact_id"] if known and user else None,
            **client.facts(),
        )
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            PasswordResetRequested(
                organisation_id=organisation_id,
                correlation_id=client.correlation_id,
                occurred_at=now,
                data=facts,
            ),
        )
        if not known or user is None or flooded:
            return
        await ResetLinks(tx.db, tx.session).add(
            ResetLink(
                organisation_id=organisation_id,
                customer_id=user["customer_id"],
                contact_id=user["contact_id"],
                token_digest=token_digest(token),
                expires_at=expires_at,
                status="pending",
                created_at=now,
            )
        )
        link = (
            f"{identity.settings.public_url.rstrip('/')}/portal/{portal_slug}"
            f"/reset-password?token={quote(token)}"
        )
        await tx.emit(
            NOTIFICATIONS_COMMANDS,
            SendCustomerEmail(
                organisation_id=organisation_id,
                correlation_id=client.correlation_id,
                occurred_at=now,
                data=CustomerEmail(
                    template="password_reset",
                    customer_id=user["customer_id"],
                    contact_id=user["contact_id"],
                    to_email=user["email"],
                    to_name=user.get("name", ""),
                    merchant_name=merchant["name"],
                    language=await Customers(tx.db, tx.session).language_of(
                        organisation_id, user["customer_id"]
                    ),
                    values={"expires_at": expires_at.isoformat()},
                    sealed_values={"link": identity.sealer.seal(link)},
                ),
            ),
        )

    await identity.store.transaction(work)


async def reset_password(
    identity: Identity, portal_slug: str, token: str, new_password: str, client: Client
) -> None:
    """Set a new password with a reset link; ends every session of the contact."""
    merchant = await merchant_of(identity, portal_slug)
    organisation_id = merchant["_id"]
    now = identity.store.clock.now()
    links = ResetLinks(identity.store.db)
    link = await links.by_digest(organisation_id, token_digest(token))
    if link is None:
        raise NotFound("this reset link is not valid for this portal", code="reset_link_invalid")
    try:
        link.check_usable(now)
    except ResetLinkUnusable as unusable:
        raise ResetLinkRefused(unusable.reason, code=unusable.code) from unusable
    user = await PortalUsers(identity.store.db).by_contact(
        organisation_id, link.customer_id, link.contact_id
    )
    if user is None or user.get("status") != "active":
        raise NotFound("this reset link is not valid for this portal", code="reset_link_invalid")
    try:
        check_password(new_password, user["email"])
    except PasswordRejected as weak:
        raise PasswordPolicy(str(weak)) from weak
    password_hash = await identity.passwords.hash(new_password)
    actor = Actor(kind="contact", id=link.contact_id)

    async def work(tx: Transaction) -> None:
        if not await ResetLinks(tx.db, tx.session).spend(link, now):
            raise ResetLinkRefused("this reset link was already used", code="reset_link_used")
        await tx.db["portal_users"].update_one(
            who_of(user),
            {"$set": {"password_hash": password_hash, "password_changed_at": now}},
            session=tx.session,
        )
        await end_sessions_of_contact(
            tx,
            identity,
            who_of(user),
            keep=None,
            reason="password_reset",
            now=now,
            client=client,
            actor=actor,
        )
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            PasswordReset(
                organisation_id=organisation_id,
                correlation_id=client.correlation_id,
                occurred_at=now,
                actor=actor,
                data=CredentialFacts(
                    customer_id=link.customer_id, contact_id=link.contact_id, **client.facts()
                ),
            ),
        )

    await identity.store.transaction(work)
    # Whoever can read the contact's email may sign in again at once.
    await SignInThrottle(identity.store.db).clear(account_key(organisation_id, user["email"]))
