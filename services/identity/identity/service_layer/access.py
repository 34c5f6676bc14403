"""Granting and withdrawing portal access: merchants and their portal address, customers'
portal language, enabling contacts (each gets an invitation), resending a link (the old one
stops working), disabling (sessions end at once)."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from identity.adapters.repositories import Customers, Invitations, Merchants, PortalUsers
from identity.domain.invitations import new_invitation
from identity.service_layer.context import Identity
from identity.service_layer.revocation import revoke_sessions
from portal_contracts.customers import (
    CommandRejected,
    ContactPersonRemoved,
    ContactPersonUpdated,
    CustomerCreated,
    CustomerDetailsUpdated,
    Rejection,
)
from portal_contracts.envelope import Envelope
from portal_contracts.identity import (
    AccessChange,
    AccessRefusal,
    AccessRemoval,
    ContactGrant,
    ContactRef,
    DisablePortalAccess,
    EnablePortalAccess,
    InvitationFacts,
    PortalAccessDisabled,
    PortalAccessEnabled,
    PortalAccessRefused,
    PortalInvitationIssued,
    PortalInvitationResent,
    PortalLinkResent,
    ResendPortalInvitation,
)
from portal_contracts.merchants import MerchantRegistered, PortalRenamed
from portal_contracts.notifications import (
    CustomerEmail,
    InvitationEmail,
    SendCustomerEmail,
    SendPortalInvitation,
)
from portal_contracts.topics import IDENTITY_ACCESS_EVENTS, NOTIFICATIONS_COMMANDS
from portal_runtime.errors import RetryableFailure
from portal_runtime.sealing import token_digest
from portal_runtime.store import Transaction

log = logging.getLogger(__name__)
CONSUMER = "identity"
Document = dict[str, Any]


async def handle_merchant_registered(identity: Identity, event: MerchantRegistered) -> None:
    async def work(tx: Transaction) -> None:
        await Merchants(tx.db, tx.session).save(
            event.organisation_id, event.data.name, event.data.portal_slug
        )

    await identity.store.transaction(work, handling=(CONSUMER, event))


async def handle_portal_renamed(identity: Identity, event: PortalRenamed) -> None:
    """Links sent from now on carry the new slug; the old slug no longer signs anyone in."""

    async def work(tx: Transaction) -> None:
        await Merchants(tx.db, tx.session).rename(
            event.organisation_id, event.data.name, event.data.portal_slug
        )

    await identity.store.transaction(work, handling=(CONSUMER, event))


async def _merchant(tx: Transaction, organisation_id: str) -> Document:
    merchant = await Merchants(tx.db, tx.session).by_id(organisation_id)
    if merchant is None:
        # The merchant's registration travels on another topic and may not be here yet.
        raise RetryableFailure(f"merchant {organisation_id} not known yet")
    return merchant


async def handle_customer_created(identity: Identity, event: CustomerCreated) -> None:
    customer = event.data

    async def work(tx: Transaction) -> None:
        await Customers(tx.db, tx.session).save(
            event.organisation_id, customer.customer_id, customer.portal_language
        )
        if not customer.portal_enabled:
            return
        primary = next(c for c in customer.contacts if c.is_primary)
        await _enable(
            identity,
            tx,
            event,
            customer.customer_id,
            (
                ContactGrant(
                    contact_id=primary.contact_id, email=primary.email, name=primary.full_name
                ),
            ),
            "merchant",
        )

    await identity.store.transaction(work, handling=(CONSUMER, event))


async def handle_details_updated(identity: Identity, event: CustomerDetailsUpdated) -> None:
    """The merchant changed the customer's portal language: the next email follows it."""
    language = event.data.portal_language
    if language is None:
        return

    async def work(tx: Transaction) -> None:
        await Customers(tx.db, tx.session).save(
            event.organisation_id, event.data.customer_id, language
        )

    await identity.store.transaction(work, handling=(CONSUMER, event))


async def enable_access(identity: Identity, command: EnablePortalAccess) -> None:
    async def work(tx: Transaction) -> None:
        await _enable(
            identity,
            tx,
            command,
            command.data.customer_id,
            command.data.contacts,
            command.data.reason,
        )

    await identity.store.transaction(work, handling=(CONSUMER, command))


async def _enable(
    identity: Identity,
    tx: Transaction,
    cause: Envelope,
    customer_id: str,
    contacts: tuple[ContactGrant, ...],
    reason: Any,
) -> None:
    """Invite every contact that can have access and has not accepted yet; refuse the others
    (no email address, or the email already belongs to another portal user of the merchant).
    Ends with `PortalAccessEnabled` (or `CommandRejected` when nobody could get access)."""
    org = cause.organisation_id
    merchant = await _merchant(tx, org)
    language = await Customers(tx.db, tx.session).language_of(org, customer_id)
    users = PortalUsers(tx.db, tx.session)
    granted: list[str] = []
    refused: list[tuple[str, str]] = []
    for contact in contacts:
        if contact.email is None:
            refused.append((contact.contact_id, "the contact has no email address"))
            continue
        owner = await users.by_email(org, contact.email)
        if owner is not None and (owner["customer_id"], owner["contact_id"]) != (
            customer_id,
            contact.contact_id,
        ):
            refused.append(
                (contact.contact_id, "another portal user of this merchant has this email")
            )
            continue
        granted.append(contact.contact_id)
        user = await users.by_contact(org, customer_id, contact.contact_id)
        if user is not None and user.get("status") == "active":
            continue  # already signed up: nothing to send
        await issue_invitation(identity, tx, cause, customer_id, contact, merchant, language)
    now = identity.store.clock.now()
    for contact_id, why in refused:
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            PortalAccessRefused(
                **cause.follow_up(),
                occurred_at=now,
                data=AccessRefusal(customer_id=customer_id, contact_id=contact_id, reason=why),
            ),
        )
    if not granted:
        await _reject(
            identity,
            tx,
            cause,
            customer_id,
            "contact_without_email"
            if all(why.startswith("the contact has no email") for _, why in refused)
            else "email_in_use",
            "; ".join(why for _, why in refused) or "no contact to enable",
            "invalid",
        )
        return
    await tx.emit(
        IDENTITY_ACCESS_EVENTS,
        PortalAccessEnabled(
            **cause.follow_up(),
            occurred_at=now,
            actor=cause.actor,
            data=AccessChange(
                customer_id=customer_id,
                contact_ids=tuple(granted),
                refused_contact_ids=tuple(c for c, _ in refused),
                reason=reason,
            ),
        ),
    )


def _link(identity: Identity, merchant: Document, path: str, token: str) -> str:
    return (
        f"{identity.settings.public_url.rstrip('/')}/portal/{merchant['portal_slug']}"
        f"/{path}?token={quote(token)}"
    )


async def issue_invitation(
    identity: Identity,
    tx: Transaction,
    cause: Envelope,
    customer_id: str,
    contact: ContactGrant,
    merchant: Document,
    language: str,
    resent: bool = False,
) -> None:
    """A new single-use link (stored as a digest) replaces any pending one of the contact."""
    assert contact.email is not None
    now = identity.store.clock.now()
    token = secrets.token_urlsafe(32)
    invitation = new_invitation(
        cause.organisation_id,
        customer_id,
        contact.contact_id,
        token_digest(token),
        now,
        timedelta(days=identity.settings.invitation_days),
    )
    await PortalUsers(tx.db, tx.session).invite(
        cause.organisation_id, customer_id, contact.contact_id, contact.email, contact.name, now
    )
    await Invitations(tx.db, tx.session).add(invitation)
    sealed_link = identity.sealer.seal(_link(identity, merchant, "accept-invitation", token))
    facts = InvitationFacts(
        customer_id=customer_id, contact_id=contact.contact_id, expires_at=invitation.expires_at
    )
    if resent:
        await tx.emit(
            NOTIFICATIONS_COMMANDS,
            SendCustomerEmail(
                **cause.follow_up(),
                occurred_at=now,
                data=CustomerEmail(
                    template="portal_link_resent",
                    customer_id=customer_id,
                    contact_id=contact.contact_id,
                    to_email=contact.email,
                    to_name=contact.name[:200],
                    merchant_name=merchant["name"],
                    language=language,
                    sealed_values={"link": sealed_link},
                ),
            ),
        )
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            PortalInvitationResent(
                **cause.follow_up(), occurred_at=now, actor=cause.actor, data=facts
            ),
        )
    else:
        await tx.emit(
            NOTIFICATIONS_COMMANDS,
            SendPortalInvitation(
                **cause.follow_up(),
                occurred_at=now,
                data=InvitationEmail(
                    customer_id=customer_id,
                    contact_id=contact.contact_id,
                    to_email=contact.email,
                    to_name=contact.name,
                    merchant_name=merchant["name"],
                    language=language,
                    sealed_link=sealed_link,
                    expires_at=invitation.expires_at,
                ),
            ),
        )
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            PortalInvitationIssued(
                **cause.follow_up(), occurred_at=now, actor=cause.actor, data=facts
            ),
        )
    log.info("invited contact %s of customer %s", contact.contact_id, customer_id)


async def resend_invitation(identity: Identity, command: ResendPortalInvitation) -> None:
    org = command.organisation_id
    customer_id = command.data.customer_id
    contact = command.data.contact

    async def work(tx: Transaction) -> None:
        merchant = await _merchant(tx, org)
        user = await PortalUsers(tx.db, tx.session).by_contact(org, customer_id, contact.contact_id)
        status = user.get("status") if user else None
        if status is None:
            await _reject(
                identity,
                tx,
                command,
                customer_id,
                "access_not_enabled",
                "this contact has no portal access; enable it first",
                "conflict",
            )
        elif status == "disabled":
            await _reject(
                identity,
                tx,
                command,
                customer_id,
                "access_disabled",
                "portal access of this contact is disabled; enable it again first",
                "conflict",
            )
        elif status == "active" and contact.email is not None:
            language = await Customers(tx.db, tx.session).language_of(org, customer_id)
            await send_portal_link(identity, tx, command, customer_id, contact, merchant, language)
        elif contact.email is None:
            await _reject(
                identity,
                tx,
                command,
                customer_id,
                "contact_without_email",
                "the contact has no email address",
                "invalid",
            )
        else:
            language = await Customers(tx.db, tx.session).language_of(org, customer_id)
            await issue_invitation(
                identity, tx, command, customer_id, contact, merchant, language, resent=True
            )

    await identity.store.transaction(work, handling=(CONSUMER, command))


async def send_portal_link(
    identity: Identity,
    tx: Transaction,
    cause: Envelope,
    customer_id: str,
    contact: ContactGrant,
    merchant: Document,
    language: str,
) -> None:
    """A contact who already signed up gets the portal's current address (no token: they
    sign in with their password)."""
    assert contact.email is not None
    now = identity.store.clock.now()
    address = f"{identity.settings.public_url.rstrip('/')}/portal/{merchant['portal_slug']}/"
    await tx.emit(
        NOTIFICATIONS_COMMANDS,
        SendCustomerEmail(
            **cause.follow_up(),
            occurred_at=now,
            data=CustomerEmail(
                template="portal_link_resent",
                customer_id=customer_id,
                contact_id=contact.contact_id,
                to_email=contact.email,
                to_name=contact.name[:200],
                merchant_name=merchant["name"],
                language=language,
                sealed_values={"link": identity.sealer.seal(address)},
            ),
        ),
    )
    await tx.emit(
        IDENTITY_ACCESS_EVENTS,
        PortalLinkResent(
            **cause.follow_up(),
            occurred_at=now,
            actor=cause.actor,
            data=ContactRef(customer_id=customer_id, contact_id=contact.contact_id),
        ),
    )


async def disable_access(identity: Identity, command: DisablePortalAccess) -> None:
    """Disable contacts (or the whole customer): pending links stop working, every session
    ends and the gateway refuses their access tokens from the next request on."""

    async def work(tx: Transaction) -> None:
        await _disable(
            identity, tx, command, command.data.customer_id, list(command.data.contact_ids)
        )

    await identity.store.transaction(work, handling=(CONSUMER, command))


async def _disable(
    identity: Identity,
    tx: Transaction,
    cause: Envelope,
    customer_id: str,
    contact_ids: list[str],
    reason: str = "access_disabled",
) -> None:
    org = cause.organisation_id
    now = identity.store.clock.now()
    disabled = await PortalUsers(tx.db, tx.session).disable(org, customer_id, contact_ids, now)
    await Invitations(tx.db, tx.session).withdraw(org, customer_id, contact_ids)
    await revoke_sessions(
        tx,
        organisation_id=org,
        customer_id=customer_id,
        contact_ids=contact_ids,
        reason=reason,
        now=now,
        correlation_id=cause.correlation_id,
        causation_id=str(cause.event_id),
        actor=cause.actor,
    )
    await tx.emit(
        IDENTITY_ACCESS_EVENTS,
        PortalAccessDisabled(
            **cause.follow_up(),
            occurred_at=now,
            actor=cause.actor,
            data=AccessRemoval(
                customer_id=customer_id,
                contact_ids=tuple(contact_ids or disabled),
                whole_customer=not contact_ids,
            ),
        ),
    )


async def handle_contact_removed(identity: Identity, event: ContactPersonRemoved) -> None:
    """A removed contact loses portal access and every session at once."""
    fact = event.data

    async def work(tx: Transaction) -> None:
        user = await PortalUsers(tx.db, tx.session).by_contact(
            event.organisation_id, fact.customer_id, fact.contact.contact_id
        )
        if user is not None:
            await _disable(
                identity, tx, event, fact.customer_id, [fact.contact.contact_id], "contact_removed"
            )

    await identity.store.transaction(work, handling=(CONSUMER, event))


async def handle_contact_updated(identity: Identity, event: ContactPersonUpdated) -> None:
    """The portal user follows the contact's name and email (the email is how they sign in);
    a contact whose email was removed loses access."""
    fact, org = event.data, event.organisation_id
    contact = fact.contact

    async def work(tx: Transaction) -> None:
        users = PortalUsers(tx.db, tx.session)
        user = await users.by_contact(org, fact.customer_id, contact.contact_id)
        if user is None or user.get("status") == "disabled":
            return
        if contact.email is None:
            await _disable(
                identity, tx, event, fact.customer_id, [contact.contact_id], "email_removed"
            )
            return
        owner = await users.by_email(org, contact.email)
        if owner is not None and owner["contact_id"] != contact.contact_id:
            log.warning("contact %s: email already used by another portal user", contact.contact_id)
            return
        await users.rename(
            org, fact.customer_id, contact.contact_id, contact.email, contact.full_name
        )

    await identity.store.transaction(work, handling=(CONSUMER, event))


async def _reject(
    identity: Identity,
    tx: Transaction,
    cause: Envelope,
    customer_id: str,
    code: str,
    reason: str,
    kind: Any,
) -> None:
    """Refuse a command: the gateway answers the waiting request from this outcome."""
    await tx.emit(
        IDENTITY_ACCESS_EVENTS,
        CommandRejected(
            **cause.follow_up(),
            occurred_at=identity.store.clock.now(),
            data=Rejection(
                customer_id=customer_id,
                command_type=cause.type,
                code=code,
                reason=reason,
                kind=kind,
            ),
        ),
    )
