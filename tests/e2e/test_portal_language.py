"""The merchant changes a customer's portal language after creating them: the next portal
emails (a resent invitation, a password reset) arrive in that language."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from deploy.local.stack import LocalStack
from tests.support.access import accept, admin, emails_to, fresh_email
from tests.support.portal import create_customer, register_merchant, token_from
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

GERMAN_INVITATION = "Ihr Link zum Kundenportal von"
GERMAN_RESET = "zurücksetzen"


async def test_a_changed_language_words_the_next_emails(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Lark Lettings")
    email = fresh_email()
    created = await create_customer(http, gateway, merchant["api_key"], email)
    assert created.status_code == 201, created.text
    customer: dict[str, Any] = created.json()
    details = f"{gateway}/admin/v1/customers/{customer['customer_id']}/details"
    first = (await emails_to(http, mailbox, email))[0]
    assert "invites you to your customer portal" in first["subject"]

    # Only the portal's languages; another merchant cannot touch the customer.
    wrong = await http.patch(details, json={"portal_language": "xx"}, headers=admin(merchant))
    assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid_language")
    other = await register_merchant(http, gateway, stack.operator_token, "Other Co")
    foreign = await http.patch(details, json={"portal_language": "de"}, headers=admin(other))
    assert foreign.status_code == 404
    anonymous = await http.patch(details, json={"portal_language": "de"})
    assert anonymous.status_code == 401

    changed = await http.patch(details, json={"portal_language": "de"}, headers=admin(merchant))
    assert changed.status_code == 200, changed.text
    assert changed.json()["portal_language"] == "de"
    assert (await http.get(details, headers=admin(merchant))).json()["portal_language"] == "de"

    # Identity learns the language from the subscriptions service's event, on its own time:
    # resend until a new invitation arrives worded in German (each resend sends one email).
    resend = (
        f"{gateway}/admin/v1/customers/{customer['customer_id']}/contacts/"
        f"{customer['contacts'][0]['contact_id']}/portal-access/resend"
    )
    sent = 1

    async def german_invitation() -> dict[str, Any] | None:
        nonlocal sent
        answer = await http.post(resend, headers=admin(merchant))
        assert answer.status_code == 200, answer.text
        sent += 1
        latest = (await emails_to(http, mailbox, email, count=sent))[-1]
        return latest if GERMAN_INVITATION in latest["subject"] else None

    invitation = await eventually(german_invitation, interval=0.5)
    _, token = token_from(invitation)
    assert (await accept(http, gateway, merchant["slug"], token)).status_code == 200

    # A password reset now comes in German too.
    forgot = await http.post(
        f"{gateway}/portal/{merchant['slug']}/api/password/forgot", json={"email": email}
    )
    assert forgot.is_success, forgot.text
    reset = (await emails_to(http, mailbox, email, count=sent + 1))[-1]
    assert GERMAN_RESET in reset["subject"]
