"""Identity's portal-access use cases on the real database with a movable clock: what is
stored, what leaves through the outbox, and the rules a user meets (expiry after 7 days,
single use, superseded links, disabled contacts' sessions revoked)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from identity.adapters.repositories import ensure_indexes
from identity.app import build
from identity.service_layer.access import (
    disable_access,
    enable_access,
    handle_contact_removed,
    handle_contact_updated,
    handle_customer_created,
    handle_merchant_registered,
    handle_portal_renamed,
    resend_invitation,
)
from identity.service_layer.context import Identity
from identity.service_layer.revocation import revoke_sessions
from identity.service_layer.sessions import Client, TokenPair
from identity.service_layer.sign_up import complete_sign_up, request_sign_up
from identity.service_layer.signing_in import InvitationRefused, accept_invitation, sign_in
from identity.settings import IdentitySettings
from portal_contracts.common import Contact
from portal_contracts.customers import (
    ContactPersonFact,
    ContactPersonRemoved,
    ContactPersonUpdated,
    CustomerCreated,
    CustomerSnapshot,
)
from portal_contracts.envelope import Actor
from portal_contracts.identity import (
    AccessGrant,
    AccessWithdrawal,
    ContactGrant,
    DisablePortalAccess,
    EnablePortalAccess,
    InvitationResend,
    RequestPortalSignUp,
    ResendPortalInvitation,
    SignUpRequest,
)
from portal_contracts.merchants import (
    MerchantProfile,
    MerchantRegistered,
    PortalRename,
    PortalRenamed,
)
from portal_runtime.clock import MovableClock
from portal_runtime.errors import NotFound, Unauthorised
from portal_runtime.store import Transaction

pytestmark = pytest.mark.component
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORG = "org_access"
PASSWORD = "correct-horse-42"


@pytest.fixture
async def identity(
    mongo_uri: str, database_name: str
) -> AsyncIterator[tuple[Identity, MovableClock]]:
    clock = MovableClock(START)
    runtime, service = build(
        IdentitySettings(
            mongo_uri=mongo_uri,
            mongo_database=database_name,
            argon2_time_cost=1,
            argon2_memory_kib=8192,
        ),
        clock,
    )
    await runtime.store.ensure_indexes()
    await ensure_indexes(runtime.store.db)
    await handle_merchant_registered(
        service,
        MerchantRegistered(
            organisation_id=ORG,
            correlation_id="reg",
            occurred_at=START,
            data=MerchantProfile(
                name="Acme Tea", portal_slug="acme-tea", contact_email="ops@acme.example"
            ),
        ),
    )
    yield service, clock
    await runtime.mongo.close()


def envelope(**extra: Any) -> dict[str, Any]:
    return {
        "organisation_id": ORG,
        "correlation_id": uuid.uuid4().hex,
        "occurred_at": START,
        "actor": Actor(kind="merchant", id=ORG),
        **extra,
    }


async def customer(service: Identity, language: str = "en") -> tuple[str, str, str]:
    """A customer (without portal access yet): (customer id, contact id, email)."""
    customer_id, contact_id = f"cus_{uuid.uuid4().hex[:8]}", f"ct_{uuid.uuid4().hex[:8]}"
    email = f"ana.{uuid.uuid4().hex[:6]}@example.com"
    await handle_customer_created(
        service,
        CustomerCreated(
            **envelope(),
            data=CustomerSnapshot(
                customer_id=customer_id,
                display_name="Ana Lima",
                currency="EUR",
                portal_language=language,  # type: ignore[arg-type]
                contacts=(
                    Contact(contact_id=contact_id, first_name="Ana", email=email, is_primary=True),
                ),
                portal_enabled=False,
            ),
        ),
    )
    return customer_id, contact_id, email


async def signed_in(service: Identity, slug: str, email: str) -> TokenPair:
    tokens = await sign_in(service, slug, email, PASSWORD, Client())
    assert isinstance(tokens, TokenPair)
    return tokens


async def outbox(service: Identity, kind: str) -> list[dict[str, Any]]:
    rows = await service.store.db["outbox"].find({"type": kind}).sort("seq", 1).to_list()
    return [json.loads(row["body"]) for row in rows]


def token_of(service: Identity, body: dict[str, Any]) -> tuple[str, str]:
    data = body["data"]
    sealed = data.get("sealed_link") or data["sealed_values"]["link"]
    link = service.sealer.open(sealed)
    return link, parse_qs(urlparse(link).query)["token"][0]


async def enable(service: Identity, customer_id: str, contact_id: str, email: str | None) -> None:
    await enable_access(
        service,
        EnablePortalAccess(
            **envelope(),
            data=AccessGrant(
                customer_id=customer_id,
                contacts=(ContactGrant(contact_id=contact_id, email=email, name="Ana"),),
            ),
        ),
    )


async def test_an_invitation_expires_after_seven_days(
    identity: tuple[Identity, MovableClock],
) -> None:
    service, clock = identity
    customer_id, contact_id, email = await customer(service, language="de")
    await enable(service, customer_id, contact_id, email)
    [invite] = await outbox(service, "SendPortalInvitation")
    assert invite["data"]["language"] == "de"
    [enabled] = await outbox(service, "PortalAccessEnabled")
    assert enabled["data"]["contact_ids"] == [contact_id]
    link, token = token_of(service, invite)
    assert "/portal/acme-tea/accept-invitation?token=" in link
    stored = await service.store.db["invitations"].find_one({"contact_id": contact_id})
    assert stored is not None
    assert token not in json.dumps(stored, default=str)

    clock.advance(timedelta(days=7))
    with pytest.raises(InvitationRefused) as refused:
        await accept_invitation(service, "acme-tea", token, PASSWORD, "c1")
    assert refused.value.code == "invitation_expired"
    clock.advance(timedelta(seconds=-1))
    await accept_invitation(service, "acme-tea", token, PASSWORD, "c2")


async def test_a_contact_without_email_is_refused(identity: tuple[Identity, MovableClock]) -> None:
    service, _ = identity
    customer_id, contact_id, _ = await customer(service)
    await enable(service, customer_id, contact_id, None)
    [rejected] = await outbox(service, "CommandRejected")
    assert rejected["data"]["kind"] == "invalid"
    assert rejected["data"]["code"] == "contact_without_email"
    assert await outbox(service, "SendPortalInvitation") == []


async def test_resend_supersedes_and_disable_withdraws_and_revokes(
    identity: tuple[Identity, MovableClock],
) -> None:
    service, _ = identity
    customer_id, contact_id, email = await customer(service)
    await enable(service, customer_id, contact_id, email)
    _, first = token_of(service, (await outbox(service, "SendPortalInvitation"))[0])
    await resend_invitation(
        service,
        ResendPortalInvitation(
            **envelope(),
            data=InvitationResend(
                customer_id=customer_id,
                contact=ContactGrant(contact_id=contact_id, email=email, name="Ana"),
            ),
        ),
    )
    [resent] = await outbox(service, "SendCustomerEmail")
    assert resent["data"]["template"] == "portal_link_resent"
    _, second = token_of(service, resent)
    with pytest.raises(InvitationRefused) as old:
        await accept_invitation(service, "acme-tea", first, PASSWORD, "c1")
    assert old.value.code == "invitation_superseded"
    await accept_invitation(service, "acme-tea", second, PASSWORD, "c2")
    session_id = (await signed_in(service, "acme-tea", email)).session_id

    await disable_access(
        service,
        DisablePortalAccess(
            **envelope(), data=AccessWithdrawal(customer_id=customer_id, contact_ids=(contact_id,))
        ),
    )
    session = await service.store.db["sessions"].find_one({"_id": session_id})
    assert session is not None
    assert session["revoked"] is True
    [revoked] = await outbox(service, "SessionsRevoked")
    assert revoked["data"]["contact_ids"] == [contact_id]
    assert revoked["data"]["reason"] == "access_disabled"
    with pytest.raises(Unauthorised):
        await signed_in(service, "acme-tea", email)


async def test_revoke_sessions_ends_only_the_named_sessions(
    identity: tuple[Identity, MovableClock],
) -> None:
    service, _ = identity
    customer_id, contact_id, email = await customer(service)
    await enable(service, customer_id, contact_id, email)
    _, token = token_of(service, (await outbox(service, "SendPortalInvitation"))[0])
    await accept_invitation(service, "acme-tea", token, PASSWORD, "c1")
    one = await signed_in(service, "acme-tea", email)
    two = await signed_in(service, "acme-tea", email)

    async def work(tx: Transaction) -> None:
        await revoke_sessions(
            tx,
            organisation_id=ORG,
            customer_id=customer_id,
            session_ids=[one.session_id],
            reason="signed_out",
            now=START,
            correlation_id="logout",
        )

    await service.store.transaction(work)
    sessions = {
        s["_id"]: s["revoked"]
        async for s in service.store.db["sessions"].find({"contact_id": contact_id})
    }
    assert sessions == {one.session_id: True, two.session_id: False}


async def test_sign_up_needs_the_emailed_link_once(
    identity: tuple[Identity, MovableClock],
) -> None:
    service, clock = identity
    customer_id, contact_id, email = await customer(service)

    async def ask() -> None:
        await request_sign_up(
            service,
            RequestPortalSignUp(
                **envelope(),
                data=SignUpRequest(
                    customer_id=customer_id, contact_id=contact_id, email=email, name="Ana"
                ),
            ),
        )

    await ask()
    await ask()  # a moment later: no second email
    [first] = await outbox(service, "SendCustomerEmail")
    clock.advance(timedelta(minutes=2))
    await ask()
    [_, verification] = await outbox(service, "SendCustomerEmail")
    _, superseded = token_of(service, first)
    with pytest.raises(InvitationRefused):
        await complete_sign_up(service, "acme-tea", superseded, PASSWORD, "c0")
    assert verification["data"]["template"] == "sign_up_verification"
    with pytest.raises(Unauthorised):
        await signed_in(service, "acme-tea", email)
    _, token = token_of(service, verification)
    with pytest.raises(NotFound):
        await complete_sign_up(service, "other-portal", token, PASSWORD, "c1")
    await complete_sign_up(service, "acme-tea", token, PASSWORD, "c2")
    with pytest.raises(InvitationRefused) as reused:
        await complete_sign_up(service, "acme-tea", token, PASSWORD, "c3")
    assert reused.value.code == "sign_up_used"
    assert (await signed_in(service, "acme-tea", email)).session_id


async def test_a_renamed_portal_moves_links_and_sign_in(
    identity: tuple[Identity, MovableClock],
) -> None:
    service, _ = identity
    customer_id, contact_id, email = await customer(service)
    await handle_portal_renamed(
        service,
        PortalRenamed(
            **envelope(),
            data=PortalRename(name="Acme Leaf", portal_slug="acme-leaf", previous_slug="acme-tea"),
        ),
    )
    await enable(service, customer_id, contact_id, email)
    link, token = token_of(service, (await outbox(service, "SendPortalInvitation"))[0])
    assert "/portal/acme-leaf/" in link
    with pytest.raises(NotFound):
        await accept_invitation(service, "acme-tea", token, PASSWORD, "c1")
    await accept_invitation(service, "acme-leaf", token, PASSWORD, "c2")
    with pytest.raises(NotFound):
        await signed_in(service, "acme-tea", email)


async def test_contact_changes_follow_into_portal_access(
    identity: tuple[Identity, MovableClock],
) -> None:
    service, _ = identity
    customer_id, contact_id, email = await customer(service)
    await enable(service, customer_id, contact_id, email)
    _, token = token_of(service, (await outbox(service, "SendPortalInvitation"))[0])
    await accept_invitation(service, "acme-tea", token, PASSWORD, "c1")
    new_email = f"new.{email}"

    def changed(kind: type[ContactPersonUpdated] | type[ContactPersonRemoved], mail: str) -> Any:
        contact = Contact(contact_id=contact_id, first_name="Ana", email=mail, is_primary=True)
        return kind(**envelope(), data=ContactPersonFact(customer_id=customer_id, contact=contact))

    await handle_contact_updated(service, changed(ContactPersonUpdated, new_email))
    with pytest.raises(Unauthorised):
        await signed_in(service, "acme-tea", email)
    session_id = (await signed_in(service, "acme-tea", new_email)).session_id

    await handle_contact_removed(service, changed(ContactPersonRemoved, new_email))
    session = await service.store.db["sessions"].find_one({"_id": session_id})
    assert session is not None
    assert session["revoked"] is True
    [revoked] = await outbox(service, "SessionsRevoked")
    assert revoked["data"]["reason"] == "contact_removed"
    with pytest.raises(Unauthorised):
        await signed_in(service, "acme-tea", new_email)
