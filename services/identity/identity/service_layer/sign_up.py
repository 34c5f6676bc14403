"""Self sign-up: a visitor gives the email of an existing contact of the merchant; identity
emails that address a single-use link, and only opening it (and choosing a password) grants
access. The gateway only sends the command when the email belongs to a contact, and answers
the visitor the same way either way, so sign-up never tells whether an email is known.

A contact the merchant disabled, or one that already has access, gets no link; nor does one
that was sent a link less than a minute ago."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from identity.adapters.repositories import Customers, Invitations, Merchants, PortalUsers, SignUps
from identity.domain.invitations import InvitationUnusable, new_sign_up
from identity.domain.passwords import PasswordRejected, check_password
from identity.service_layer.access import CONSUMER
from identity.service_layer.context import Identity
from identity.service_layer.signing_in import InvitationRefused, PasswordPolicy
from portal_contracts.envelope import Actor
from portal_contracts.identity import (
    ContactRef,
    PortalSignUpRequested,
    PortalSignUpVerified,
    RequestPortalSignUp,
)
from portal_contracts.notifications import CustomerEmail, SendCustomerEmail
from portal_contracts.topics import IDENTITY_ACCESS_EVENTS, NOTIFICATIONS_COMMANDS
from portal_runtime.errors import NotFound, RetryableFailure
from portal_runtime.sealing import token_digest
from portal_runtime.store import Transaction

log = logging.getLogger(__name__)
SIGN_UP_VALID_FOR = timedelta(hours=24)
RESEND_AFTER = timedelta(minutes=1)
INVALID_LINK = "this sign-up link is not valid for this portal"


async def request_sign_up(identity: Identity, command: RequestPortalSignUp) -> None:
    org = command.organisation_id
    request = command.data

    async def work(tx: Transaction) -> None:
        merchant = await Merchants(tx.db, tx.session).by_id(org)
        if merchant is None:
            raise RetryableFailure(f"merchant {org} not known yet")
        users = PortalUsers(tx.db, tx.session)
        user = await users.by_contact(org, request.customer_id, request.contact_id)
        if user is not None and user.get("status") in ("active", "disabled"):
            log.info("no sign-up link for contact %s: %s", request.contact_id, user["status"])
            return
        owner = await users.by_email(org, request.email)
        if owner is not None and owner["contact_id"] != request.contact_id:
            return
        now = identity.store.clock.now()
        if await SignUps(tx.db, tx.session).pending_since(
            org, request.customer_id, request.contact_id, now - RESEND_AFTER
        ):
            return  # a link went out a moment ago: no flood of emails to one address
        token = secrets.token_urlsafe(32)
        sign_up = new_sign_up(
            org,
            request.customer_id,
            request.contact_id,
            request.email,
            request.name,
            token_digest(token),
            now,
            SIGN_UP_VALID_FOR,
        )
        await SignUps(tx.db, tx.session).add(sign_up)
        link = (
            f"{identity.settings.public_url.rstrip('/')}/portal/{merchant['portal_slug']}"
            f"/verify-sign-up?token={token}"
        )
        await tx.emit(
            NOTIFICATIONS_COMMANDS,
            SendCustomerEmail(
                **command.follow_up(),
                occurred_at=now,
                data=CustomerEmail(
                    template="sign_up_verification",
                    customer_id=request.customer_id,
                    contact_id=request.contact_id,
                    to_email=request.email,
                    to_name=request.name[:200],
                    merchant_name=merchant["name"],
                    language=await Customers(tx.db, tx.session).language_of(
                        org, request.customer_id
                    ),
                    sealed_values={"link": identity.sealer.seal(link)},
                ),
            ),
        )
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            PortalSignUpRequested(
                **command.follow_up(),
                occurred_at=now,
                data=ContactRef(customer_id=request.customer_id, contact_id=request.contact_id),
            ),
        )

    await identity.store.transaction(work, handling=(CONSUMER, command))


async def complete_sign_up(
    identity: Identity, portal_slug: str, token: str, password: str, correlation_id: str
) -> ContactRef:
    """Opening the emailed link proves the email; the password makes the contact active."""
    merchant = await Merchants(identity.store.db).by_slug(portal_slug)
    if merchant is None:
        raise NotFound(f"there is no portal at '{portal_slug}'")
    org = merchant["_id"]
    now = identity.store.clock.now()
    sign_up = await SignUps(identity.store.db).by_digest(org, token_digest(token))
    if sign_up is None:
        raise NotFound(INVALID_LINK)
    try:
        sign_up.check_usable(now)
    except InvitationUnusable as unusable:
        raise InvitationRefused(unusable.reason, code=unusable.code) from unusable
    try:
        check_password(password, sign_up.email)
    except PasswordRejected as weak:
        raise PasswordPolicy(str(weak)) from weak
    password_hash = await identity.passwords.hash(password)

    async def work(tx: Transaction) -> None:
        if not await SignUps(tx.db, tx.session).mark_accepted(sign_up, now):
            raise InvitationRefused("this sign-up link was already used", code="sign_up_used")
        users = PortalUsers(tx.db, tx.session)
        user = await users.by_contact(org, sign_up.customer_id, sign_up.contact_id)
        if user is not None and user.get("status") == "disabled":
            raise InvitationRefused(
                "portal access of this contact is disabled", code="access_disabled"
            )
        await users.grant(
            org,
            sign_up.customer_id,
            sign_up.contact_id,
            sign_up.email,
            sign_up.name,
            password_hash,
            now,
        )
        # A pending invitation of the same contact is no longer needed.
        await Invitations(tx.db, tx.session).withdraw(
            org, sign_up.customer_id, [sign_up.contact_id]
        )
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            PortalSignUpVerified(
                organisation_id=org,
                correlation_id=correlation_id,
                occurred_at=now,
                actor=Actor(kind="contact", id=sign_up.contact_id),
                data=ContactRef(customer_id=sign_up.customer_id, contact_id=sign_up.contact_id),
            ),
        )

    await identity.store.transaction(work)
    return ContactRef(customer_id=sign_up.customer_id, contact_id=sign_up.contact_id)
