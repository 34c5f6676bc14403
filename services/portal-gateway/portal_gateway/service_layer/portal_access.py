"""Portal access, as the merchant manages it: enabling contacts (one, all of a customer, the
primary contacts of many customers, automatically after a hosted-page payment), disabling,
resending the link, the status per contact; and self sign-up requests from visitors.

Every change is a command to identity (identity.commands) carrying the contact's name and
email from the gateway's customer view, so identity needs no lookup. The status per contact
is read from the customer view, which `project_customer_view` keeps from identity's events."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Any, Literal

from portal_contracts.envelope import Actor, Envelope
from portal_contracts.identity import (
    AccessGrant,
    AccessWithdrawal,
    ContactGrant,
    DisablePortalAccess,
    EnablePortalAccess,
    InvitationResend,
    RequestPortalSignUp,
    ResendPortalInvitation,
    SessionsRevoked,
    SignUpRequest,
)
from portal_contracts.topics import IDENTITY_COMMANDS
from portal_gateway.adapters import revocations
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.domain.preferences import require
from portal_gateway.service_layer.commands import (
    Rejected,
    pending_response,
    raise_if_rejected,
    send_command,
)
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.preferences import preferences_of
from portal_runtime.errors import NotFound
from portal_runtime.store import Transaction

Document = dict[str, Any]
log = logging.getLogger(__name__)
Reason = Literal["merchant", "hosted_payment"]


class ContactWithoutEmail(Rejected):
    code = "contact_without_email"


# --- reading ---------------------------------------------------------------------------------


def access_status(entry: Document | None, now: datetime) -> Document:
    """One contact's access as the merchant sees it: not_invited, invited, expired, accepted,
    disabled or refused (with when the pending link expires)."""
    if not entry:
        return {"status": "not_invited"}
    status = entry.get("status", "not_invited")
    expires_at = entry.get("expires_at")
    if status == "invited" and expires_at and datetime.fromisoformat(expires_at) <= now:
        status = "expired"
    return {k: v for k, v in {**entry, "status": status}.items() if v is not None}


async def customer_of(gateway: Gateway, organisation_id: str, customer_id: str) -> Document:
    doc = await CustomerViews(gateway.store.db).get(organisation_id, customer_id)
    if doc is None:
        raise NotFound(f"there is no customer '{customer_id}'")
    return doc


def contact_of(customer: Document, contact_id: str) -> Document:
    contacts: list[Document] = customer.get("contacts", [])
    contact = next((c for c in contacts if c["contact_id"] == contact_id), None)
    if contact is None:
        raise NotFound(f"there is no contact '{contact_id}' for this customer")
    return contact


def access_view(customer: Document, now: datetime) -> Document:
    access = customer.get("portal_access", {})
    return {
        "customer_id": customer["customer_id"],
        "portal_language": customer.get("portal_language", "en"),
        "contacts": [
            {
                "contact_id": c["contact_id"],
                "name": _name(c),
                "email": c.get("email"),
                "is_primary": c.get("is_primary", False),
                "portal_access": access_status(access.get(c["contact_id"]), now),
            }
            for c in customer.get("contacts", [])
        ],
    }


async def access_of(gateway: Gateway, organisation_id: str, customer_id: str) -> Document:
    customer = await customer_of(gateway, organisation_id, customer_id)
    return access_view(customer, gateway.store.clock.now())


# --- commands --------------------------------------------------------------------------------


def _name(contact: Document) -> str:
    return f"{contact.get('first_name', '')} {contact.get('last_name', '')}".strip()


def _grant(contact: Document) -> ContactGrant:
    return ContactGrant(
        contact_id=contact["contact_id"], email=contact.get("email"), name=_name(contact)
    )


def _envelope(gateway: Gateway, organisation_id: str) -> dict[str, Any]:
    return {
        "organisation_id": organisation_id,
        "correlation_id": uuid.uuid4().hex,
        "occurred_at": gateway.store.clock.now(),
        "actor": Actor(kind="merchant", id=organisation_id),
    }


async def _send(
    gateway: Gateway, command: Envelope, customer_id: str, outcomes: tuple[str, ...]
) -> Document:
    return await send_command(
        gateway, IDENTITY_COMMANDS, command, customer_id=customer_id, outcomes=outcomes
    )


async def _answer(gateway: Gateway, command: Document) -> tuple[int, Document]:
    """(status code, body): the customer's access after the command, or where to look."""
    raise_if_rejected(command)
    if command["status"] != "succeeded":
        return 202, pending_response(command, "/admin/v1")
    return 200, await access_of(gateway, command["organisation_id"], command["customer_id"])


async def enable(
    gateway: Gateway,
    organisation_id: str,
    customer_id: str,
    contact_id: str | None,
    reason: Reason = "merchant",
) -> tuple[int, Document]:
    """Enable one contact (422 without an email address) or every contact of the customer
    that has one (422 when none has)."""
    customer = await customer_of(gateway, organisation_id, customer_id)
    contacts = (
        [contact_of(customer, contact_id)] if contact_id else list(customer.get("contacts", []))
    )
    with_email = [c for c in contacts if c.get("email")]
    if not with_email:
        raise ContactWithoutEmail(
            "portal access needs an email address: "
            + ("this contact has none" if contact_id else "no contact of this customer has one")
        )
    command = EnablePortalAccess(
        **_envelope(gateway, organisation_id),
        data=AccessGrant(
            customer_id=customer_id,
            contacts=tuple(_grant(c) for c in with_email),
            reason=reason,
        ),
    )
    done = await _send(gateway, command, customer_id, ("PortalAccessEnabled",))
    status, body = await _answer(gateway, done)
    if status == 200:
        body["skipped_without_email"] = [c["contact_id"] for c in contacts if not c.get("email")]
    return status, body


async def enable_many(
    gateway: Gateway, organisation_id: str, customer_ids: list[str]
) -> list[Document]:
    """Enable the primary contact of each customer; one result per customer, in order."""

    async def one(customer_id: str) -> Document:
        doc = await CustomerViews(gateway.store.db).get(organisation_id, customer_id)
        if doc is None:
            return {"customer_id": customer_id, "status": "not_found"}
        primary = next((c for c in doc.get("contacts", []) if c.get("is_primary")), None)
        if primary is None or not primary.get("email"):
            return {
                "customer_id": customer_id,
                "status": "refused",
                "code": "contact_without_email",
            }
        command = EnablePortalAccess(
            **_envelope(gateway, organisation_id),
            data=AccessGrant(customer_id=customer_id, contacts=(_grant(primary),)),
        )
        done = await _send(gateway, command, customer_id, ("PortalAccessEnabled",))
        if done["status"] == "rejected":
            return {"customer_id": customer_id, "status": "refused", "code": done.get("code")}
        return {
            "customer_id": customer_id,
            "contact_id": primary["contact_id"],
            "status": "enabled" if done["status"] == "succeeded" else "pending",
        }

    return list(await asyncio.gather(*(one(c) for c in dict.fromkeys(customer_ids))))


async def disable(
    gateway: Gateway, organisation_id: str, customer_id: str, contact_id: str | None
) -> tuple[int, Document]:
    customer = await customer_of(gateway, organisation_id, customer_id)
    if contact_id:
        contact_of(customer, contact_id)
    command = DisablePortalAccess(
        **_envelope(gateway, organisation_id),
        data=AccessWithdrawal(
            customer_id=customer_id, contact_ids=(contact_id,) if contact_id else ()
        ),
    )
    done = await _send(gateway, command, customer_id, ("PortalAccessDisabled",))
    return await _answer(gateway, done)


async def resend(
    gateway: Gateway, organisation_id: str, customer_id: str, contact_id: str
) -> tuple[int, Document]:
    customer = await customer_of(gateway, organisation_id, customer_id)
    contact = contact_of(customer, contact_id)
    if not contact.get("email"):
        raise ContactWithoutEmail("portal access needs an email address: this contact has none")
    command = ResendPortalInvitation(
        **_envelope(gateway, organisation_id),
        data=InvitationResend(customer_id=customer_id, contact=_grant(contact)),
    )
    done = await _send(
        gateway, command, customer_id, ("PortalInvitationResent", "PortalLinkResent")
    )
    return await _answer(gateway, done)


async def hosted_payment_completed(
    gateway: Gateway, organisation_id: str, customer_id: str
) -> Document:
    """A subscription payment on a hosted payment page finished for this customer: with
    `portal.auto_enable_for_hosted_payments` on, the primary contact gets portal access."""
    customer = await customer_of(gateway, organisation_id, customer_id)
    prefs = await preferences_of(gateway, organisation_id)
    primary = next((c for c in customer.get("contacts", []) if c.get("is_primary")), None)
    if not prefs.portal.auto_enable_for_hosted_payments or primary is None:
        return {"customer_id": customer_id, "portal_access": "unchanged"}
    entry = customer.get("portal_access", {}).get(primary["contact_id"])
    if not primary.get("email") or (entry and entry.get("status") in ("invited", "accepted")):
        return {"customer_id": customer_id, "portal_access": "unchanged"}
    status, _ = await enable(
        gateway, organisation_id, customer_id, primary["contact_id"], "hosted_payment"
    )
    return {
        "customer_id": customer_id,
        "portal_access": "enabled" if status == 200 else "pending",
        "contact_id": primary["contact_id"],
    }


# --- self sign-up ----------------------------------------------------------------------------


async def request_sign_up(
    gateway: Gateway, merchant: Document, email: str, name: str | None
) -> None:
    """Answer the same whether the email belongs to a contact or not: one transaction either
    way, and no waiting for identity. Only a contact's email leads to a verification email."""
    organisation_id = str(merchant["_id"])
    prefs = await preferences_of(gateway, organisation_id)
    require(prefs.portal.self_sign_up, "signing up for the portal")
    address = email.strip()
    found = await gateway.store.db["customer_views"].find_one(
        {
            "organisation_id": organisation_id,
            "contacts.email": {"$in": list(dict.fromkeys([address, address.lower()]))},
        },
        {"customer_id": 1, "contacts": 1},
    )
    contact = None
    if found is not None:
        contact = next(
            (c for c in found["contacts"] if (c.get("email") or "").lower() == address.lower()),
            None,
        )
    now = gateway.store.clock.now()

    async def work(tx: Transaction) -> None:
        await tx.db["sign_up_attempts"].insert_one(
            {"organisation_id": organisation_id, "at": now, "matched": contact is not None},
            session=tx.session,
        )
        if found is not None and contact is not None:
            await tx.emit(
                IDENTITY_COMMANDS,
                RequestPortalSignUp(
                    organisation_id=organisation_id,
                    correlation_id=uuid.uuid4().hex,
                    occurred_at=now,
                    data=SignUpRequest(
                        customer_id=found["customer_id"],
                        contact_id=contact["contact_id"],
                        email=contact["email"],
                        name=name or _name(contact),
                    ),
                ),
            )

    await gateway.store.transaction(work)


# --- projection ------------------------------------------------------------------------------


async def project_revocations(tx: Transaction, event: Envelope) -> None:
    """`SessionsRevoked` -> the revocation list every gateway instance checks tokens against."""
    if isinstance(event, SessionsRevoked):
        await revocations.record(tx.db, tx.session, event)
