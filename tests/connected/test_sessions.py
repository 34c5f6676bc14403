"""Signing in, sessions, passwords and the second factor through identity's internal API,
with the identity service in-process on the real broker and database and a clock the tests
move (lock-outs, link expiry and TOTP steps without sleeping).

Events are read from identity's outbox: what it commits there is what it publishes."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

from identity.adapters.passwords import PasswordHashing
from identity.adapters.repositories import Merchants
from identity.app import create_app
from identity.domain.mfa import code_at
from identity.settings import IdentitySettings
from portal_runtime.clock import MovableClock
from portal_runtime.sealing import Sealer

pytestmark = pytest.mark.connected
PASSWORD = "correct-horse-42"
NEW_PASSWORD = "battery-staple-77"


@dataclass
class Portal:
    client: AsyncTestClient  # type: ignore[type-arg]
    clock: MovableClock
    settings: IdentitySettings
    db: Any
    slug: str
    organisation_id: str

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        full = {"correlation_id": uuid.uuid4().hex, **body}
        token = {"X-Internal-Token": self.settings.internal_token.get_secret_value()}
        return await self.client.post(f"/internal/v1{path}", json=full, headers=token)

    async def contact(self, email: str, *, org: str | None = None) -> dict[str, str]:
        """An active portal user with PASSWORD."""
        hashing = PasswordHashing(1, 1024, 1)
        who = {
            "organisation_id": org or self.organisation_id,
            "customer_id": f"cus_{uuid.uuid4().hex[:8]}",
            "contact_id": f"ct_{uuid.uuid4().hex[:8]}",
            "email": email,
        }
        await self.db["portal_users"].insert_one(
            {
                **who,
                "name": "Ada Lovelace",
                "status": "active",
                "password_hash": await hashing.hash(PASSWORD),
                "created_at": self.clock.now(),
            }
        )
        return who

    async def sign_in(
        self, email: str, password: str = PASSWORD, *, slug: str | None = None, **extra: Any
    ) -> httpx.Response:
        return await self.post(
            "/sessions",
            {"portal_slug": slug or self.slug, "email": email, "password": password, **extra},
        )

    async def events(self, type_: str) -> list[dict[str, Any]]:
        rows = self.db["outbox"].find({"type": type_, "organisation_id": self.organisation_id})
        return [json.loads(row["body"]) async for row in rows]


def as_contact(user: dict[str, str], session_id: str) -> dict[str, str]:
    return {
        "organisation_id": user["organisation_id"],
        "customer_id": user["customer_id"],
        "contact_id": user["contact_id"],
        "session_id": session_id,
    }


async def add_merchant(db: Any, name: str) -> tuple[str, str]:
    organisation_id = f"org_{uuid.uuid4().hex[:12]}"
    slug = f"m-{uuid.uuid4().hex[:10]}"
    await Merchants(db).save(organisation_id, name, slug)
    return organisation_id, slug


@pytest.fixture
async def portal(kafka_bootstrap: str, mongo_uri: str, database_name: str) -> AsyncIterator[Portal]:
    clock = MovableClock(datetime.now(UTC))
    settings = IdentitySettings(
        kafka_bootstrap=kafka_bootstrap,
        mongo_uri=mongo_uri,
        mongo_database=database_name,
        account_failures_before_lock=5,
        ip_failures_before_lock=12,
        # Fast hashing: these tests are about the rules, not about the cost of a guess.
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    app = create_app(settings, clock)
    # The app runs on the test client's own loop; the test reads the database with its own client.
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    async with AsyncTestClient(app) as client:
        db = mongo[database_name]
        organisation_id, slug = await add_merchant(db, "Orbit Software")
        yield Portal(client, clock, settings, db, slug, organisation_id)
    await mongo.close()


def email() -> str:
    return f"ada.{uuid.uuid4().hex[:8]}@engines.example"


# --- refresh tokens ----------------------------------------------------------------------------


async def test_a_refresh_token_works_once_and_its_reuse_ends_the_whole_session(
    portal: Portal,
) -> None:
    user = await portal.contact(email())
    first = (await portal.sign_in(user["email"])).json()
    rotated = await portal.post(
        "/sessions/refresh", {"portal_slug": portal.slug, "refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 201, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["session_id"] == first["session_id"]

    # The first token was exchanged: it coming back means someone holds a copy.
    reused = await portal.post(
        "/sessions/refresh", {"portal_slug": portal.slug, "refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_token_reused"
    # ...so the legitimate newest token of that session is dead too.
    newest = await portal.post(
        "/sessions/refresh", {"portal_slug": portal.slug, "refresh_token": second["refresh_token"]}
    )
    assert newest.status_code == 401
    assert newest.json()["code"] == "refresh_token_invalid"

    revoked = await portal.events("SessionsRevoked")
    assert [e["data"]["session_ids"] for e in revoked] == [[first["session_id"]]]
    assert revoked[0]["data"]["reason"] == "refresh_token_reused"
    assert len(await portal.events("RefreshTokenReused")) == 1


async def test_a_refresh_token_of_one_portal_is_useless_on_another(portal: Portal) -> None:
    user = await portal.contact(email())
    tokens = (await portal.sign_in(user["email"])).json()
    _, other_slug = await add_merchant(portal.db, "Other Merchant")
    elsewhere = await portal.post(
        "/sessions/refresh", {"portal_slug": other_slug, "refresh_token": tokens["refresh_token"]}
    )
    assert elsewhere.status_code == 401
    # The contact of portal A cannot sign in on portal B with the same credentials either.
    assert (await portal.sign_in(user["email"], slug=other_slug)).status_code == 401


async def test_refresh_tokens_expire_with_their_session(portal: Portal) -> None:
    user = await portal.contact(email())
    tokens = (await portal.sign_in(user["email"])).json()
    portal.clock.advance(timedelta(days=portal.settings.refresh_token_days, seconds=1))
    late = await portal.post(
        "/sessions/refresh", {"portal_slug": portal.slug, "refresh_token": tokens["refresh_token"]}
    )
    assert late.status_code == 401


# --- sessions ----------------------------------------------------------------------------------


async def test_a_contact_lists_and_ends_their_own_sessions_only(portal: Portal) -> None:
    user = await portal.contact(email())
    laptop = (await portal.sign_in(user["email"], user_agent="Laptop", ip="203.0.113.5")).json()
    phone = (await portal.sign_in(user["email"], user_agent="Phone")).json()

    listed = await portal.post("/sessions/list", as_contact(user, laptop["session_id"]))
    sessions = {s["session_id"]: s for s in listed.json()["sessions"]}
    assert set(sessions) == {laptop["session_id"], phone["session_id"]}
    assert sessions[laptop["session_id"]]["current"] is True
    assert sessions[laptop["session_id"]]["ip"] == "203.0.113.5"
    assert sessions[phone["session_id"]]["user_agent"] == "Phone"
    assert sessions[phone["session_id"]]["current"] is False

    # Another contact cannot end this contact's session.
    stranger = await portal.contact(email())
    foreign = await portal.post(
        "/sessions/end",
        {**as_contact(stranger, "x"), "target_session_id": phone["session_id"]},
    )
    assert foreign.status_code == 404

    ended = await portal.post(
        "/sessions/end",
        {**as_contact(user, laptop["session_id"]), "target_session_id": phone["session_id"]},
    )
    assert ended.status_code == 200
    left = await portal.post("/sessions/list", as_contact(user, laptop["session_id"]))
    assert [s["session_id"] for s in left.json()["sessions"]] == [laptop["session_id"]]
    refused = await portal.post(
        "/sessions/refresh", {"portal_slug": portal.slug, "refresh_token": phone["refresh_token"]}
    )
    assert refused.status_code == 401
    revoked = await portal.events("SessionsRevoked")
    assert revoked[-1]["data"]["session_ids"] == [phone["session_id"]]
    assert revoked[-1]["data"]["reason"] == "ended_by_contact"


# --- passwords ---------------------------------------------------------------------------------


async def test_changing_the_password_ends_every_other_session(portal: Portal) -> None:
    user = await portal.contact(email())
    here = (await portal.sign_in(user["email"])).json()
    there = (await portal.sign_in(user["email"])).json()

    wrong = await portal.post(
        "/password/change",
        {
            **as_contact(user, here["session_id"]),
            "current_password": "not-the-password-1",
            "new_password": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 403
    weak = await portal.post(
        "/password/change",
        {
            **as_contact(user, here["session_id"]),
            "current_password": PASSWORD,
            "new_password": "short",
        },
    )
    assert weak.status_code == 400
    changed = await portal.post(
        "/password/change",
        {
            **as_contact(user, here["session_id"]),
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["other_sessions_ended"] == 1

    def refresh(tokens: dict[str, Any]) -> Any:
        return portal.post(
            "/sessions/refresh",
            {"portal_slug": portal.slug, "refresh_token": tokens["refresh_token"]},
        )

    assert (await refresh(there)).status_code == 401
    assert (await refresh(here)).status_code == 201
    assert (await portal.sign_in(user["email"])).status_code == 401
    assert (await portal.sign_in(user["email"], NEW_PASSWORD)).status_code == 201
    revoked = await portal.events("SessionsRevoked")
    assert revoked[-1]["data"]["session_ids"] == [there["session_id"]]
    assert len(await portal.events("PasswordChanged")) == 1


async def reset_link(portal: Portal, to: str) -> str:
    """The token of the newest reset email to `to`, opened as notifications would."""
    emails = [e for e in await portal.events("SendCustomerEmail") if e["data"]["to_email"] == to]
    assert emails, f"no reset email to {to}"
    message = emails[-1]["data"]
    assert message["template"] == "password_reset"
    link = Sealer(portal.settings.sealing_key).open(message["sealed_values"]["link"])
    assert f"/portal/{portal.slug}/reset-password?token=" in link
    return parse_qs(urlparse(link).query)["token"][0]


async def test_a_reset_link_works_once_ends_every_session_and_expires(portal: Portal) -> None:
    user = await portal.contact(email())
    session = (await portal.sign_in(user["email"])).json()

    known = await portal.post(
        "/password/forgot", {"portal_slug": portal.slug, "email": user["email"]}
    )
    unknown = await portal.post("/password/forgot", {"portal_slug": portal.slug, "email": email()})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert len(await portal.events("SendCustomerEmail")) == 1  # nothing to the unknown email
    requested = await portal.events("PasswordResetRequested")
    assert sorted(e["data"]["contact_id"] or "" for e in requested) == sorted(
        ["", user["contact_id"]]
    )

    token = await reset_link(portal, user["email"])
    reset = {"portal_slug": portal.slug, "token": token, "password": NEW_PASSWORD}
    done = await portal.post("/password/reset", reset)
    assert done.status_code == 200, done.text
    again = await portal.post("/password/reset", {**reset, "password": NEW_PASSWORD + "x"})
    assert again.status_code == 410
    assert again.json()["code"] == "reset_link_used"
    # Every session ended: the old refresh token is refused; the new password signs in.
    old = await portal.post(
        "/sessions/refresh", {"portal_slug": portal.slug, "refresh_token": session["refresh_token"]}
    )
    assert old.status_code == 401
    assert (await portal.sign_in(user["email"], NEW_PASSWORD)).status_code == 201

    await portal.post("/password/forgot", {"portal_slug": portal.slug, "email": user["email"]})
    late = await reset_link(portal, user["email"])
    portal.clock.advance(timedelta(minutes=portal.settings.password_reset_minutes, seconds=1))
    expired = await portal.post(
        "/password/reset", {"portal_slug": portal.slug, "token": late, "password": PASSWORD}
    )
    assert expired.status_code == 410
    assert expired.json()["code"] == "reset_link_expired"
    # A link of this portal means nothing on another.
    _, other_slug = await add_merchant(portal.db, "Other Merchant")
    foreign = await portal.post(
        "/password/reset", {"portal_slug": other_slug, "token": late, "password": PASSWORD}
    )
    assert foreign.status_code == 404


# --- brute force -------------------------------------------------------------------------------


async def test_an_account_locks_after_five_failures_and_an_unknown_email_answers_the_same(
    portal: Portal,
) -> None:
    user = await portal.contact(email())
    nobody = email()
    for _ in range(5):
        wrong = await portal.sign_in(user["email"], "wrong-password-1")
        unknown = await portal.sign_in(nobody, "wrong-password-1")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()

    # Locked: even the right password is refused, with when to try again.
    locked = await portal.sign_in(user["email"])
    locked_unknown = await portal.sign_in(nobody)
    assert locked.status_code == locked_unknown.status_code == 429
    assert locked.json() == locked_unknown.json()
    assert locked.headers["retry-after"] == str(15 * 60)
    lockouts = await portal.events("SignInLockedOut")
    assert {e["data"]["contact_id"] for e in lockouts} == {user["contact_id"], None}
    failures = [e["data"]["reason"] for e in await portal.events("SignInFailed")]
    assert failures.count("wrong_password") == 5
    assert failures.count("unknown_email") == 5
    assert failures.count("locked_out") == 2

    portal.clock.advance(timedelta(minutes=15, seconds=1))
    assert (await portal.sign_in(user["email"])).status_code == 201

    # The lock grows: five more failures (within the hour) lock for twice as long.
    for _ in range(5):
        assert (await portal.sign_in(nobody, "wrong-password-1")).status_code == 401
    portal.clock.advance(timedelta(minutes=16))
    assert (await portal.sign_in(nobody, "wrong-password-1")).status_code == 429
    portal.clock.advance(timedelta(minutes=15))
    assert (await portal.sign_in(nobody, "wrong-password-1")).status_code == 401


async def test_one_address_guessing_across_many_accounts_is_locked(portal: Portal) -> None:
    user = await portal.contact(email())
    for _ in range(portal.settings.ip_failures_before_lock):
        answer = await portal.sign_in(email(), "wrong-password-1", ip="198.51.100.9")
        assert answer.status_code == 401
    blocked = await portal.sign_in(user["email"], ip="198.51.100.9")
    assert blocked.status_code == 429
    # The same account from another address is not affected.
    assert (await portal.sign_in(user["email"], ip="198.51.100.10")).status_code == 201
    lockouts = await portal.events("SignInLockedOut")
    assert [e["data"]["scope"] for e in lockouts] == ["ip"]


# --- second factor -----------------------------------------------------------------------------


async def enrol_while_signing_in(portal: Portal, user: dict[str, str]) -> tuple[str, list[str]]:
    """Sign in on a portal that asks for a second factor, set up the app, finish with a code.
    Answers the app's secret and the recovery codes."""
    first = await portal.sign_in(user["email"], mfa_required=True)
    assert first.status_code == 200, first.text
    challenge = first.json()
    assert challenge["mfa_required"] is True
    assert challenge["enrolment_required"] is True
    assert "access_token" not in challenge
    enrolment = await portal.post(
        "/sessions/mfa/enrolment", {"portal_slug": portal.slug, "challenge": challenge["challenge"]}
    )
    assert enrolment.status_code == 200, enrolment.text
    setup = enrolment.json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    assert "Orbit%20Software" in setup["otpauth_uri"]
    assert setup["qr_code"].startswith("data:image/svg+xml;base64,")
    done = await portal.post(
        "/sessions/mfa",
        {
            "portal_slug": portal.slug,
            "challenge": challenge["challenge"],
            "code": code_at(setup["secret"], portal.clock.now()),
        },
    )
    assert done.status_code == 201, done.text
    assert "access_token" in done.json()
    codes: list[str] = done.json()["recovery_codes"]
    assert len(codes) == 10
    return setup["secret"], codes


async def code_step(portal: Portal, user: dict[str, str], code: str) -> httpx.Response:
    challenge = (await portal.sign_in(user["email"], mfa_required=True)).json()
    assert challenge["enrolment_required"] is False
    return await portal.post(
        "/sessions/mfa",
        {"portal_slug": portal.slug, "challenge": challenge["challenge"], "code": code},
    )


async def test_a_totp_code_is_never_accepted_twice(portal: Portal) -> None:
    user = await portal.contact(email())
    secret, _ = await enrol_while_signing_in(portal, user)
    stored = await portal.db["portal_users"].find_one({"contact_id": user["contact_id"]})
    assert secret not in json.dumps(stored, default=str)  # sealed at rest

    # The code that confirmed the app cannot sign in again within its step...
    used = code_at(secret, portal.clock.now())
    replay = await code_step(portal, user, used)
    assert replay.status_code == 401
    assert replay.json()["code"] == "mfa_code_wrong"
    # ...the next step's code works once...
    portal.clock.advance(timedelta(seconds=30))
    fresh = code_at(secret, portal.clock.now())
    assert (await code_step(portal, user, fresh)).status_code == 201
    assert (await code_step(portal, user, fresh)).status_code == 401
    # ...and codes more than one step away are refused.
    far = code_at(secret, portal.clock.now() + timedelta(seconds=90))
    assert (await code_step(portal, user, far)).status_code == 401
    assert len(await portal.events("MfaEnrolled")) == 1


async def test_a_recovery_code_works_once(portal: Portal) -> None:
    user = await portal.contact(email())
    _, codes = await enrol_while_signing_in(portal, user)
    first = await code_step(portal, user, codes[0].upper())
    assert first.status_code == 201, first.text
    again = await code_step(portal, user, codes[0])
    assert again.status_code == 401
    assert len(await portal.events("MfaRecoveryCodeUsed")) == 1
    status = await portal.post("/mfa/status", as_contact(user, first.json()["session_id"]))
    assert status.json()["recovery_codes_left"] == 9


async def test_a_challenge_is_single_use_short_lived_and_burnt_by_wrong_codes(
    portal: Portal,
) -> None:
    user = await portal.contact(email())
    secret, _ = await enrol_while_signing_in(portal, user)
    portal.clock.advance(timedelta(seconds=30))

    challenge = (await portal.sign_in(user["email"], mfa_required=True)).json()["challenge"]
    step = {"portal_slug": portal.slug, "challenge": challenge}
    ok = await portal.post("/sessions/mfa", {**step, "code": code_at(secret, portal.clock.now())})
    assert ok.status_code == 201
    portal.clock.advance(timedelta(seconds=30))
    spent = await portal.post(
        "/sessions/mfa", {**step, "code": code_at(secret, portal.clock.now())}
    )
    assert spent.status_code == 401
    assert spent.json()["code"] == "mfa_challenge_invalid"

    slow = (await portal.sign_in(user["email"], mfa_required=True)).json()["challenge"]
    portal.clock.advance(timedelta(minutes=portal.settings.mfa_challenge_minutes, seconds=1))
    late = await portal.post(
        "/sessions/mfa",
        {
            "portal_slug": portal.slug,
            "challenge": slow,
            "code": code_at(secret, portal.clock.now()),
        },
    )
    assert late.status_code == 401

    guessed = (await portal.sign_in(user["email"], mfa_required=True)).json()["challenge"]
    for _ in range(portal.settings.mfa_challenge_attempts):
        await portal.post(
            "/sessions/mfa", {"portal_slug": portal.slug, "challenge": guessed, "code": "000000"}
        )
    portal.clock.advance(timedelta(seconds=30))
    burnt = await portal.post(
        "/sessions/mfa",
        {
            "portal_slug": portal.slug,
            "challenge": guessed,
            "code": code_at(secret, portal.clock.now()),
        },
    )
    assert burnt.status_code == 401
    assert burnt.json()["code"] == "mfa_challenge_invalid"


async def test_a_signed_in_contact_sets_up_and_removes_the_app(portal: Portal) -> None:
    user = await portal.contact(email())
    tokens = (await portal.sign_in(user["email"])).json()
    me = as_contact(user, tokens["session_id"])
    setup = (await portal.post("/mfa/enrolment", me)).json()
    wrong = await portal.post("/mfa/enrolment/confirm", {**me, "code": "123456"})
    assert wrong.status_code == 401
    confirmed = await portal.post(
        "/mfa/enrolment/confirm", {**me, "code": code_at(setup["secret"], portal.clock.now())}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert len(confirmed.json()["recovery_codes"]) == 10
    assert (await portal.post("/mfa/enrolment", me)).status_code == 409

    portal.clock.advance(timedelta(seconds=30))
    code = code_at(setup["secret"], portal.clock.now())
    no_password = await portal.post(
        "/mfa/removal", {**me, "password": "wrong-password-1", "code": code}
    )
    assert no_password.status_code == 403
    removed = await portal.post("/mfa/removal", {**me, "password": PASSWORD, "code": code})
    assert removed.status_code == 200, removed.text
    assert (await portal.post("/mfa/status", me)).json()["enrolled"] is False
    assert len(await portal.events("MfaRemoved")) == 1
