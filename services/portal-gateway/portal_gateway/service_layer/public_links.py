"""Secure public links: sharing, opening, verifying the visitor, paying and answering quotes.

A link is stored as the SHA-256 digest of its token with its scope (organisation, customer,
document kind and id); the token is shown once. Every read through a link is answered from the
gateway's read models with that scope, so a link never reaches another document. Paying and
accepting go to invoicing as the same commands the portal sends.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from portal_contracts import documents as d
from portal_contracts.envelope import Actor
from portal_contracts.invoicing import PayInvoices, PaymentRequest
from portal_contracts.portal import PortalActivity, PortalActivityRecorded
from portal_contracts.topics import INVOICING_COMMANDS, PORTAL_EVENTS
from portal_gateway.adapters.code_senders import CodeDelivery, CodeSender
from portal_gateway.adapters.merchants import Merchants
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.domain import public_links as rules
from portal_gateway.domain.preferences import require
from portal_gateway.service_layer import document_views, invoice_views
from portal_gateway.service_layer.commands import send_command, sending_lock
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.preferences import preferences_of
from portal_runtime.errors import Conflict, NotFound, ServiceError, TooManyRequests, Unauthorised
from portal_runtime.sealing import token_digest
from portal_runtime.store import Transaction

Document = dict[str, Any]
LINKS = "public_links"
CODES = "public_link_codes"
GRANTS = "public_link_grants"
PAYMENT_OUTCOMES = ("PaymentSucceeded", "PaymentPending", "PaymentFailed")
_GONE = "this link does not exist"
log = logging.getLogger(__name__)


class LinkGone(ServiceError):
    status = 410
    code = "link_gone"


class WrongCode(Unauthorised):
    code = "code_wrong"

    def __init__(self, detail: str, *, tries_left: int, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.tries_left = tries_left


class CodeRequestTooSoon(TooManyRequests):
    code = "code_requested_too_often"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[LINKS].create_index([("token_digest", ASCENDING)], unique=True)
    await db[LINKS].create_index(
        [
            ("organisation_id", ASCENDING),
            ("customer_id", ASCENDING),
            ("document_kind", ASCENDING),
            ("document_id", ASCENDING),
        ]
    )
    await db[CODES].create_index([("link_id", ASCENDING), ("created_at", DESCENDING)])
    await db[GRANTS].create_index([("link_id", ASCENDING)])


# ---------------------------------------------------------------- the merchant's side


async def shared_document(
    db: AsyncDatabase[Document], org: str, kind: rules.DocumentKind, document_id: str
) -> Document:
    """The merchant's invoice or quote (not a draft), or 404."""
    if kind == "invoice":
        found = await invoice_views.invoice_of_merchant(db, org, document_id)
    else:
        found = await document_views.find_one(
            db, document_views.QUOTES, org, None, "quote_id", document_id
        )
    if found is None or found.get("status") == "draft":
        raise NotFound(f"there is no {kind} '{document_id}'")
    return found


def public_view(link: Document, now: datetime) -> Document:
    """A link as the merchant sees it: never its token or digest."""
    return {
        "link_id": link["_id"],
        "customer_id": link["customer_id"],
        "document_kind": link["document_kind"],
        "document_id": link["document_id"],
        "created_at": link["created_at"],
        "expires_at": link.get("expires_at"),
        "revoked_at": link.get("revoked_at"),
        "state": rules.state_of(link.get("revoked_at"), link.get("expires_at"), now),
    }


async def create_link(
    gateway: Gateway,
    org: str,
    kind: rules.DocumentKind,
    document_id: str,
    *,
    expires_in_days: int | None,
    never_expires: bool,
    created_by: str,
) -> tuple[Document, str]:
    """Share a document: (the link, its URL). The URL is answered once and never stored."""
    prefs = await preferences_of(gateway, org)
    require(prefs.secure_links.enabled, "secure public links")
    db = gateway.store.db
    found = await shared_document(db, org, kind, document_id)
    now = gateway.store.clock.now()
    days = None if never_expires else expires_in_days or prefs.secure_links.expire_after_days
    token = rules.new_token()
    link: Document = {
        "_id": f"lnk_{uuid.uuid4().hex[:20]}",
        "token_digest": token_digest(token),
        "organisation_id": org,
        "customer_id": found["customer_id"],
        "document_kind": kind,
        "document_id": document_id,
        "created_at": now,
        "created_by": created_by,
        "expires_at": rules.expiry(now, days),
        "revoked_at": None,
    }
    await db[LINKS].insert_one(link)
    return link, f"{gateway.settings.public_url.rstrip('/')}/public/v1/links/{token}"


async def links_of(
    gateway: Gateway, org: str, kind: rules.DocumentKind, document_id: str
) -> list[Document]:
    now = gateway.store.clock.now()
    cursor = (
        gateway.store.db[LINKS]
        .find({"organisation_id": org, "document_kind": kind, "document_id": document_id})
        .sort("created_at", DESCENDING)
    )
    return [public_view(link, now) async for link in cursor.limit(200)]


async def revoke_link(gateway: Gateway, org: str, link_id: str) -> Document:
    """Revoke one of the merchant's links (again: no change); another merchant's is a 404."""
    now = gateway.store.clock.now()
    links = gateway.store.db[LINKS]
    await links.update_one(
        {"_id": link_id, "organisation_id": org, "revoked_at": None},
        {"$set": {"revoked_at": now}},
    )
    link = await links.find_one({"_id": link_id, "organisation_id": org})
    if link is None:
        raise NotFound(f"there is no link '{link_id}'")
    await gateway.store.db[GRANTS].delete_many({"link_id": link_id})
    return public_view(link, now)


# ---------------------------------------------------------------- the visitor's side


async def open_link(gateway: Gateway, token: str) -> Document:
    """The link a token names if it still works: unknown (or links turned off) is a 404,
    revoked or expired a 410. Nothing tells about any other document."""
    link = await gateway.store.db[LINKS].find_one({"token_digest": token_digest(token)})
    if link is None:
        raise NotFound(_GONE, code="link_not_found")
    prefs = await preferences_of(gateway, link["organisation_id"])
    if not prefs.secure_links.enabled:
        raise NotFound(_GONE, code="link_not_found")
    state = rules.state_of(
        link.get("revoked_at"), link.get("expires_at"), gateway.store.clock.now()
    )
    if state == "revoked":
        raise LinkGone("this link was withdrawn by the sender", code="link_revoked")
    if state == "expired":
        raise LinkGone("this link has expired; ask the sender for a new one", code="link_expired")
    return link


async def verification_required(gateway: Gateway, link: Document) -> bool:
    prefs = await preferences_of(gateway, link["organisation_id"])
    return prefs.secure_links.verify_identity


async def _document(gateway: Gateway, link: Document) -> Document:
    db = gateway.store.db
    org, customer = link["organisation_id"], link["customer_id"]
    if link["document_kind"] == "invoice":
        found = await invoice_views.invoice(db, org, customer, link["document_id"])
    else:
        found = await document_views.find_one(
            db, document_views.QUOTES, org, customer, "quote_id", link["document_id"]
        )
    if found is None or found.get("status") == "draft":
        raise NotFound("the shared document is not available", code="document_not_found")
    return found


async def _merchant_name(gateway: Gateway, org: str) -> str:
    merchant = await Merchants(gateway.store.db).by_id(org) or {}
    return str(merchant.get("name", "")) or "Your supplier"


async def essentials(gateway: Gateway, link: Document) -> Document:
    """What paying or answering needs, with or without verification: number, status, currency
    and the amount (due for an invoice, total for a quote)."""
    found = await _document(gateway, link)
    shown: Document = {
        "document_kind": link["document_kind"],
        "number": found.get("number"),
        "status": found.get("status"),
        "merchant_name": await _merchant_name(gateway, link["organisation_id"]),
        "verification_required": await verification_required(gateway, link),
    }
    if link["document_kind"] == "invoice":
        shown |= {"currency": found["currency"], "amount_due_minor": found["balance_minor"]}
    else:
        total = found.get("total") or {}
        shown |= {"currency": total.get("currency"), "total_minor": total.get("amount_minor")}
    return shown


async def document(gateway: Gateway, link: Document, grant: str | None) -> Document:
    """The whole document (not the merchant's internal notes), once the visitor is verified."""
    await require_grant(gateway, link, grant)
    found = await _document(gateway, link)
    shown = {k: v for k, v in found.items() if k not in {"customer_id", "comments", "_id"}}
    return {"document_kind": link["document_kind"], **shown}


async def pdf(gateway: Gateway, link: Document, grant: str | None) -> tuple[str, bytes] | None:
    await require_grant(gateway, link, grant)
    await _document(gateway, link)
    return await invoice_views.pdf(
        gateway.store.db,
        link["organisation_id"],
        link["customer_id"],
        link["document_kind"],
        link["document_id"],
    )


async def require_grant(gateway: Gateway, link: Document, grant: str | None) -> None:
    if not await verification_required(gateway, link):
        return
    if not grant:
        raise Unauthorised(
            "verify with a one-time code first: POST .../code, then .../verify",
            code="verification_required",
        )
    found = await gateway.store.db[GRANTS].find_one(
        {"_id": token_digest(grant), "link_id": link["_id"]}
    )
    if found is None or found["expires_at"] <= gateway.store.clock.now():
        raise Unauthorised(
            "the verification has expired or is not valid; ask for a new code",
            code="verification_expired",
        )


async def request_code(gateway: Gateway, link: Document, sender: CodeSender) -> Document:
    """Send a one-time code to the customer's primary contact (rate-limited per link); only
    when the merchant asks for verification, so a link cannot be used to flood the inbox."""
    if not await verification_required(gateway, link):
        raise Conflict(
            "this link needs no code: the document opens without one",
            code="verification_not_needed",
        )
    db = gateway.store.db
    now = gateway.store.clock.now()
    recent = [
        c["created_at"]
        async for c in db[CODES]
        .find({"link_id": link["_id"]}, {"created_at": 1})
        .sort("created_at", DESCENDING)
        .limit(rules.CODES_PER_HOUR)
    ]
    too_soon = rules.may_send_code(recent, now)
    if too_soon is not None:
        raise CodeRequestTooSoon(
            f"a code was sent a moment ago; ask again in {too_soon.retry_after} seconds",
            retry_after=too_soon.retry_after,
        )
    org, customer_id = link["organisation_id"], link["customer_id"]
    customer = await CustomerViews(db).get(org, customer_id) or {}
    contact = document_views.primary_contact(customer) or {}
    found = await _document(gateway, link)
    code = rules.new_code()
    code_id = f"otc_{uuid.uuid4().hex[:20]}"
    expires_at = now + rules.CODE_LIFETIME
    delivery = CodeDelivery(
        organisation_id=org,
        customer_id=customer_id,
        contact_id=contact.get("contact_id"),
        email=contact.get("email"),
        phone=contact.get("phone"),
        name=f"{contact.get('first_name', '')} {contact.get('last_name', '')}".strip(),
        merchant_name=await _merchant_name(gateway, org),
        language=str(customer.get("portal_language", "en")),
        purpose=f"open {link['document_kind']} {found.get('number', '')}".strip(),
        code=code,
        expires_at=expires_at,
        link_id=link["_id"],
        now=now,
    )
    sent_to = ""

    async def work(tx: Transaction) -> None:
        nonlocal sent_to
        # A new code replaces every earlier one of the link.
        await tx.db[CODES].update_many(
            {"link_id": link["_id"], "used_at": None, "tries_left": {"$gt": 0}},
            {"$set": {"superseded": True}},
            session=tx.session,
        )
        await tx.db[CODES].insert_one(
            {
                "_id": code_id,
                "link_id": link["_id"],
                "organisation_id": org,
                "digest": rules.code_digest(code_id, code),
                "created_at": now,
                "expires_at": expires_at,
                "tries_left": rules.CODE_TRIES,
                "used_at": None,
                "channel": sender.channel,
            },
            session=tx.session,
        )
        sent_to = await sender.send(tx, delivery)

    async with sending_lock(customer_id):
        await gateway.store.transaction(work)
    return {
        "status": "sent",
        "channel": sender.channel,
        "sent_to": sent_to,
        "expires_at": expires_at,
    }


async def verify_code(gateway: Gateway, link: Document, given: str) -> Document:
    """Trade the newest code for a viewing grant (30 minutes). A wrong code costs a try; the
    fifth wrong one burns it; a used or expired code never works again."""
    codes = gateway.store.db[CODES]
    now = gateway.store.clock.now()
    stored = await codes.find_one({"link_id": link["_id"]}, sort=[("created_at", DESCENDING)])
    if stored is None:
        raise Unauthorised("ask for a code first", code="code_not_requested")
    issued = rules.IssuedCode(
        code_id=stored["_id"],
        digest=stored["digest"],
        expires_at=stored["expires_at"],
        tries_left=int(stored["tries_left"]),
        used_at=stored.get("used_at"),
    )
    match rules.check_code(issued, given, now):
        case "used":
            raise Unauthorised("this code was used already; ask for a new one", code="code_used")
        case "expired":
            raise Unauthorised("this code has expired; ask for a new one", code="code_expired")
        case "burnt":
            raise TooManyRequests(
                "too many wrong codes; ask for a new one", code="code_tries_exhausted"
            )
        case "wrong":
            after = await codes.find_one_and_update(
                {"_id": issued.code_id, "used_at": None, "tries_left": {"$gt": 0}},
                {"$inc": {"tries_left": -1}},
                return_document=True,
            )
            left = int(after["tries_left"]) if after else 0
            if left <= 0:
                raise TooManyRequests(
                    "too many wrong codes; this code no longer works, ask for a new one",
                    code="code_tries_exhausted",
                )
            raise WrongCode(f"the code is not right; {left} tries left", tries_left=left)
        case "accepted":
            pass
    claimed = await codes.update_one(
        {"_id": issued.code_id, "used_at": None, "tries_left": {"$gt": 0}},
        {"$set": {"used_at": now}},
    )
    if claimed.modified_count != 1:
        raise Unauthorised("this code was used already; ask for a new one", code="code_used")
    grant = rules.new_token()
    expires_at = now + rules.GRANT_LIFETIME
    await gateway.store.db[GRANTS].insert_one(
        {
            "_id": token_digest(grant),
            "link_id": link["_id"],
            "organisation_id": link["organisation_id"],
            "created_at": now,
            "expires_at": expires_at,
        }
    )
    return {"grant": grant, "header": "X-Link-Grant", "expires_at": expires_at}


# ---------------------------------------------------------------- acting through a link


def _actor(link: Document) -> Actor:
    return Actor(kind="system", id=f"public_link:{link['_id']}")


def _require_kind(link: Document, kind: rules.DocumentKind, action: str) -> None:
    if link["document_kind"] != kind:
        raise Conflict(
            f"this link shares a {link['document_kind']}: it cannot {action}",
            code="wrong_document_kind",
        )


async def pay(gateway: Gateway, link: Document, card_token: str, idempotency_key: str) -> Document:
    """Pay what is due on the linked invoice with a card token (the portal's PayInvoices)."""
    _require_kind(link, "invoice", "pay")
    found = await _document(gateway, link)
    org, customer = link["organisation_id"], link["customer_id"]
    prefs = await preferences_of(gateway, org)
    command = PayInvoices(
        organisation_id=org,
        correlation_id=f"req_{uuid.uuid4().hex}",
        occurred_at=gateway.store.clock.now(),
        actor=_actor(link),
        data=PaymentRequest(
            customer_id=customer,
            payment_id=f"pay_{uuid.uuid4().hex[:20]}",
            invoice_ids=(found["invoice_id"],),
            all_outstanding=False,
            amount_minor=None,
            payment_method_id=None,
            token=card_token,
            save_method=False,
            prevent_duplicates=prefs.portal.prevent_duplicate_payments,
        ),
    )
    return await send_command(
        gateway,
        INVOICING_COMMANDS,
        command,
        customer_id=customer,
        outcomes=PAYMENT_OUTCOMES,
        # The key is the link's own: another link's (or customer's) key never finds it.
        idempotency_key=f"link:{link['_id']}:{idempotency_key}",
    )


async def answer_quote(
    gateway: Gateway,
    link: Document,
    *,
    accept: bool,
    reason: str | None,
    idempotency_key: str | None,
) -> Document:
    """Accept or decline the linked quote for the customer (in the name of its primary
    contact); invoicing refuses a quote that is no longer open (409)."""
    _require_kind(link, "quote", "accept or decline")
    await _document(gateway, link)
    org, customer_id = link["organisation_id"], link["customer_id"]
    customer = await CustomerViews(gateway.store.db).get(org, customer_id) or {}
    contact = document_views.primary_contact(customer) or {}
    contact_id = str(contact.get("contact_id") or link["_id"])
    fields: Document = {
        "organisation_id": org,
        "correlation_id": uuid.uuid4().hex,
        "occurred_at": gateway.store.clock.now(),
        "actor": _actor(link),
    }
    command: d.AcceptQuote | d.DeclineQuote
    if accept:
        command = d.AcceptQuote(
            **fields,
            data=d.QuoteAcceptance(
                quote_id=link["document_id"], customer_id=customer_id, contact_id=contact_id
            ),
        )
    else:
        command = d.DeclineQuote(
            **fields,
            data=d.QuoteRefusal(
                quote_id=link["document_id"],
                customer_id=customer_id,
                contact_id=contact_id,
                reason=reason or "",
            ),
        )
    return await document_views.send_document_command(
        gateway,
        command,
        customer_id=customer_id,
        outcomes=("QuoteAccepted",) if accept else ("QuoteDeclined",),
        idempotency_key=f"link:{link['_id']}:{idempotency_key}" if idempotency_key else None,
    )


async def record_activity(
    gateway: Gateway,
    link: Document,
    action: str,
    *,
    method: str,
    route: str,
    status_code: int,
    ip: str,
    user_agent: str,
) -> None:
    """Put a view, download, payment or answer through a link in the customer's portal
    activity. The visitor is not a signed-in contact: `contact_id` names the link. A failure to
    record is logged, never shown to the visitor."""
    module = "invoices" if link["document_kind"] == "invoice" else "quotes"
    event = PortalActivityRecorded(
        occurred_at=gateway.store.clock.now(),
        organisation_id=link["organisation_id"],
        correlation_id=uuid.uuid4().hex,
        actor=_actor(link),
        data=PortalActivity(
            customer_id=link["customer_id"],
            contact_id=f"public_link:{link['_id']}",
            module=module,
            action=f"public_link.{action}",
            subject_id=link["document_id"],
            method=method,
            route=route[:300],
            status_code=status_code,
            ip=ip[:64],
            user_agent=user_agent[:512],
        ),
    )

    async def work(tx: Transaction) -> None:
        await tx.emit(PORTAL_EVENTS, event)

    try:
        async with sending_lock(link["customer_id"]):
            await gateway.store.transaction(work)
    except Exception:
        log.exception("could not record public link activity for %s", link["_id"])
