"""Signing in through the whole local stack: tokens and their rotation, signing out, ending a
session elsewhere, expired tokens, lock-outs, changing and resetting a password by email, the
authenticator app, and one merchant's contact against another merchant's portal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pyotp
import pytest

from deploy.local.stack import LocalStack
from tests.support.portal import register_merchant
from tests.support.sign_in import (
    PASSWORD,
    bearer,
    expired_copy,
    portal_contact,
    refused_soon,
    reset_email_token,
    sign_in,
    still_works,
    token_signed_now,
    tokens,
)

pytestmark = pytest.mark.e2e
NEW_PASSWORD = "battery-staple-77"


async def test_refresh_rotates_and_signing_out_ends_the_access_token_at_once(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    contact = await portal_contact(http, stack)
    laptop = await tokens(http, contact)
    phone = await tokens(http, contact)

    listed = await http.get(f"{contact['api']}/sessions", headers=bearer(laptop["access_token"]))
    assert listed.status_code == 200, listed.text
    sessions = {s["session_id"]: s for s in listed.json()["sessions"]}
    assert set(sessions) == {laptop["session_id"], phone["session_id"]}
    assert sessions[laptop["session_id"]]["current"] is True
    assert sessions[phone["session_id"]]["current"] is False

    rotated = await http.post(
        f"{contact['api']}/sessions/refresh", json={"refresh_token": laptop["refresh_token"]}
    )
    assert rotated.status_code == 201, rotated.text
    fresh = rotated.json()
    assert await still_works(http, contact, fresh["access_token"])

    # Signing out: that session's access token is refused on the next requests.
    out = await http.delete(
        f"{contact['api']}/sessions/current", headers=bearer(fresh["access_token"])
    )
    assert out.status_code == 204
    await refused_soon(http, contact, fresh["access_token"])
    assert await still_works(http, contact, phone["access_token"])
    again = await http.post(
        f"{contact['api']}/sessions/refresh", json={"refresh_token": fresh["refresh_token"]}
    )
    assert again.status_code == 401


async def test_a_reused_refresh_token_ends_the_session_family(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    contact = await portal_contact(http, stack)
    first = await tokens(http, contact)
    second = (
        await http.post(
            f"{contact['api']}/sessions/refresh", json={"refresh_token": first["refresh_token"]}
        )
    ).json()
    stolen = await http.post(
        f"{contact['api']}/sessions/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert stolen.status_code == 401
    assert stolen.json()["code"] == "refresh_token_reused"
    await refused_soon(http, contact, second["access_token"])
    rightful = await http.post(
        f"{contact['api']}/sessions/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert rightful.status_code == 401


async def test_ending_another_session_and_misused_tokens(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    contact = await portal_contact(http, stack)
    here = await tokens(http, contact)
    there = await tokens(http, contact)
    ended = await http.delete(
        f"{contact['api']}/sessions/{there['session_id']}", headers=bearer(here["access_token"])
    )
    assert ended.status_code == 204
    await refused_soon(http, contact, there["access_token"])
    assert await still_works(http, contact, here["access_token"])
    unknown = await http.delete(
        f"{contact['api']}/sessions/{uuid.uuid4().hex}", headers=bearer(here["access_token"])
    )
    assert unknown.status_code == 404

    expired = await http.get(
        f"{contact['api']}/home", headers=bearer(expired_copy(here["access_token"]))
    )
    assert expired.status_code == 401
    assert expired.json()["code"] == "token_expired"
    forged = here["access_token"][:-4] + (
        "AAAA" if not here["access_token"].endswith("AAAA") else "BBBB"
    )
    assert (await http.get(f"{contact['api']}/home", headers=bearer(forged))).status_code == 401
    missing = await http.get(f"{contact['api']}/sessions")
    assert missing.status_code == 401
    assert missing.json()["code"] == "token_missing"


async def test_a_contact_of_merchant_a_gets_nothing_on_merchant_b(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    contact = await portal_contact(http, stack)
    other = await portal_contact(http, stack)
    mine = await tokens(http, contact)
    b = other["api"]
    # Same email and password on B's portal: not a contact there.
    elsewhere = await http.post(
        f"{b}/sessions", json={"email": contact["email"], "password": PASSWORD}
    )
    assert elsewhere.status_code == 401
    for method, path in (("GET", "/sessions"), ("GET", "/home"), ("DELETE", "/sessions/current")):
        answer = await http.request(method, f"{b}{path}", headers=bearer(mine["access_token"]))
        assert answer.status_code == 401, (method, path)
        assert answer.json()["code"] == "token_wrong_portal"
    stolen = await http.post(f"{b}/sessions/refresh", json={"refresh_token": mine["refresh_token"]})
    assert stolen.status_code == 401
    # A token claiming B's organisation for A's customer is only as good as its signature.
    forged = token_signed_now(
        {
            "sub": "x",
            "org": "org_unknown",
            "cus": contact["customer_id"],
            "sid": "s",
            "iat": int(datetime.now(UTC).timestamp()),
            "exp": int(datetime.now(UTC).timestamp()) + 60,
        }
    )
    assert (await http.get(f"{b}/home", headers=bearer(forged))).status_code == 401
    assert await still_works(http, contact, mine["access_token"])


async def test_five_failures_lock_the_account_and_an_unknown_email_looks_the_same(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    contact = await portal_contact(http, stack)
    nobody = {**contact, "email": f"nobody.{uuid.uuid4().hex[:8]}@engines.example"}
    for _ in range(5):
        wrong = await sign_in(http, contact, "wrong-password-1")
        unknown = await sign_in(http, nobody, "wrong-password-1")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
    locked = await sign_in(http, contact)
    locked_unknown = await sign_in(http, nobody)
    assert locked.status_code == locked_unknown.status_code == 429
    assert locked.json()["code"] == locked_unknown.json()["code"] == "sign_in_locked"
    for answer in (locked, locked_unknown):
        assert 0 < int(answer.headers["retry-after"]) <= 15 * 60


async def test_changing_the_password_ends_the_other_sessions(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    contact = await portal_contact(http, stack)
    here = await tokens(http, contact)
    there = await tokens(http, contact)
    wrong = await http.post(
        f"{contact['api']}/password",
        json={"current_password": "not-it-at-all-1", "new_password": NEW_PASSWORD},
        headers=bearer(here["access_token"]),
    )
    assert wrong.status_code == 403
    changed = await http.post(
        f"{contact['api']}/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(here["access_token"]),
    )
    assert changed.status_code == 200, changed.text
    await refused_soon(http, contact, there["access_token"])
    assert await still_works(http, contact, here["access_token"])
    assert (await sign_in(http, contact)).status_code == 401
    assert (await sign_in(http, contact, NEW_PASSWORD)).status_code == 201


async def test_a_forgotten_password_is_reset_once_by_the_emailed_link(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    contact = await portal_contact(http, stack)
    before = await tokens(http, contact)
    known = await http.post(f"{contact['api']}/password/forgot", json={"email": contact["email"]})
    unknown = await http.post(
        f"{contact['api']}/password/forgot",
        json={"email": f"nobody.{uuid.uuid4().hex[:8]}@engines.example"},
    )
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()

    token = await reset_email_token(http, stack.urls["mailbox"], contact["email"])
    reset = await http.post(
        f"{contact['api']}/password/reset", json={"token": token, "password": NEW_PASSWORD}
    )
    assert reset.status_code == 200, reset.text
    reused = await http.post(
        f"{contact['api']}/password/reset", json={"token": token, "password": PASSWORD}
    )
    assert reused.status_code == 410
    assert reused.json()["code"] == "reset_link_used"
    await refused_soon(http, contact, before["access_token"])
    assert (await sign_in(http, contact)).status_code == 401
    assert (await sign_in(http, contact, NEW_PASSWORD)).status_code == 201


async def test_the_authenticator_app_when_the_merchant_asks_for_it(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token, "Orbit Software")
    contact = await portal_contact(http, stack, merchant)
    signed_in = await tokens(http, contact)
    off = await http.get(f"{contact['api']}/mfa", headers=bearer(signed_in["access_token"]))
    assert off.status_code == 403  # the merchant has not turned it on

    turned_on = await http.patch(
        f"{gateway}/admin/v1/portal/preferences",
        json={"portal": {"multi_factor_authentication": True}},
        headers={"X-API-Key": merchant["api_key"]},
    )
    assert turned_on.status_code == 200, turned_on.text

    first = await sign_in(http, contact)
    assert first.status_code == 200, first.text
    challenge = first.json()
    assert challenge["mfa_required"] is True
    assert challenge["enrolment_required"] is True
    assert "access_token" not in challenge
    setup = (
        await http.post(
            f"{contact['api']}/sessions/mfa/enrolment", json={"challenge": challenge["challenge"]}
        )
    ).json()
    assert setup["qr_code"].startswith("data:image/svg+xml;base64,")
    code = pyotp.TOTP(setup["secret"]).now()
    done = await http.post(
        f"{contact['api']}/sessions/mfa", json={"challenge": challenge["challenge"], "code": code}
    )
    assert done.status_code == 201, done.text
    recovery = done.json()["recovery_codes"]
    assert await still_works(http, contact, done.json()["access_token"])

    # The same code cannot sign in a second time.
    second = (await sign_in(http, contact)).json()
    assert second["enrolment_required"] is False
    replay = await http.post(
        f"{contact['api']}/sessions/mfa", json={"challenge": second["challenge"], "code": code}
    )
    assert replay.status_code == 401
    # A recovery code works, once.
    by_recovery = await http.post(
        f"{contact['api']}/sessions/mfa",
        json={"challenge": second["challenge"], "code": recovery[0]},
    )
    assert by_recovery.status_code == 201, by_recovery.text
    third = (await sign_in(http, contact)).json()
    spent = await http.post(
        f"{contact['api']}/sessions/mfa",
        json={"challenge": third["challenge"], "code": recovery[0]},
    )
    assert spent.status_code == 401
    status = await http.get(
        f"{contact['api']}/mfa", headers=bearer(by_recovery.json()["access_token"])
    )
    assert status.json()["recovery_codes_left"] == 9
