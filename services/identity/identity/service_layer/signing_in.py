"""Accepting an invitation (setting the first password) and signing in: the password step,
the one-time-code step when the merchant asks for it, and the brute-force brakes."""

from __future__ import annotations

import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from identity.adapters.credentials import Challenges
from identity.adapters.passwords import HashingBusy
from identity.adapters.repositories import Invitations, Merchants, PortalUsers
from identity.adapters.throttle import Lockout, SignInThrottle, ThrottlePolicy
from identity.domain.invitations import InvitationUnusable
from identity.domain.passwords import PasswordRejected, check_password
from identity.service_layer.context import Identity
from identity.service_layer.mfa import (
    WrongCode,
    check_second_factor,
    confirm_enrolment,
    is_enrolled,
    start_enrolment,
)
from identity.service_layer.sessions import Client, TokenPair, start_session
from portal_contracts.envelope import Actor
from portal_contracts.identity import (
    ContactRef,
    ContactSignedIn,
    PortalInvitationAccepted,
    SignInFacts,
    SignInFailed,
)
from portal_contracts.sessions import LockoutFacts, SignInLockedOut
from portal_contracts.topics import IDENTITY_ACCESS_EVENTS
from portal_runtime.errors import NotFound, ServiceError, TooManyRequests, Unauthorised
from portal_runtime.sealing import token_digest
from portal_runtime.store import Transaction

WRONG_CREDENTIALS = "the email or password is not right"


class InvitationRefused(ServiceError):
    status = 410
    code = "invitation_unusable"


class PasswordPolicy(ServiceError):
    status = 400
    code = "weak_password"


class LockedOut(TooManyRequests):
    """Too many failures on this account or from this address: answered 429 with
    Retry-After, whether or not the password would have been right."""

    code = "sign_in_locked"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class TooManySignIns(LockedOut):
    """More sign-ins wait for a password check than may wait: answered at once with 429 and
    Retry-After instead of queueing until the caller gives up. It is decided before anything
    about the email is known, so known and unknown emails are refused alike."""

    code = "too_many_sign_ins"


async def _verify_admitted(identity: Identity, stored_hash: str | None, password: str) -> bool:
    try:
        return await identity.passwords.verify(stored_hash, password)
    except HashingBusy as busy:
        raise TooManySignIns(
            "too many sign-ins at once; try again in a moment", busy.retry_after
        ) from busy


@dataclass(frozen=True)
class MfaChallenge:
    """The password was right; a one-time code (or setting up the app) comes next."""

    challenge: str
    enrolment_required: bool
    expires_in: int

    def as_answer(self) -> dict[str, Any]:
        return {
            "mfa_required": True,
            "challenge": self.challenge,
            "enrolment_required": self.enrolment_required,
            "expires_in": self.expires_in,
        }


@dataclass(frozen=True)
class CodeAccepted:
    tokens: TokenPair
    # Only when the code step also finished setting up the app: shown this once.
    recovery_codes: list[str]


async def merchant_of(identity: Identity, portal_slug: str) -> dict[str, str]:
    merchant = await Merchants(identity.store.db).by_slug(portal_slug)
    if merchant is None:
        raise NotFound(f"there is no portal at '{portal_slug}'")
    return merchant


async def accept_invitation(
    identity: Identity, portal_slug: str, token: str, password: str, correlation_id: str
) -> ContactRef:
    merchant = await merchant_of(identity, portal_slug)
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


# --- brakes on guessing ------------------------------------------------------------------------


def account_key(organisation_id: str, email: str) -> str:
    """Counted whether or not a contact has this email, so an unknown email locks exactly like
    a known one and the lock says nothing about who has an account."""
    return f"account:{organisation_id}:{email.strip().lower()}"


def ip_key(ip: str) -> str:
    return f"ip:{ip}"


def account_policy(identity: Identity) -> ThrottlePolicy:
    settings = identity.settings
    return ThrottlePolicy(
        threshold=settings.account_failures_before_lock,
        first_lock=timedelta(minutes=settings.first_lock_minutes),
        longest_lock=timedelta(minutes=settings.longest_lock_minutes),
        forget_after=timedelta(minutes=settings.forget_failures_after_minutes),
    )


def ip_policy(identity: Identity) -> ThrottlePolicy:
    return ThrottlePolicy(
        threshold=identity.settings.ip_failures_before_lock,
        first_lock=timedelta(minutes=identity.settings.first_lock_minutes),
        longest_lock=timedelta(minutes=identity.settings.longest_lock_minutes),
        forget_after=timedelta(minutes=identity.settings.forget_failures_after_minutes),
    )


def _keys(identity: Identity, organisation_id: str, email: str, client: Client) -> list[str]:
    keys = [account_key(organisation_id, email)]
    if client.ip:
        keys.append(ip_key(client.ip))
    return keys


async def refuse_if_locked(identity: Identity, keys: list[str], now: datetime) -> None:
    until = await SignInThrottle(identity.store.db).locked_until(keys, now)
    if until is not None:
        wait = max(1, math.ceil((until - now).total_seconds()))
        raise LockedOut(
            f"too many failed attempts; try again in {math.ceil(wait / 60)} minutes", wait
        )


async def _count_failure(
    identity: Identity, keys: list[str], now: datetime
) -> list[tuple[str, Lockout]]:
    throttle = SignInThrottle(identity.store.db)
    started = []
    for key in keys:
        policy = ip_policy(identity) if key.startswith("ip:") else account_policy(identity)
        lock = await throttle.fail(key, policy, now)
        if lock is not None:
            started.append(("ip" if key.startswith("ip:") else "account", lock))
    return started


async def record_failure(
    identity: Identity,
    organisation_id: str,
    user: dict[str, Any] | None,
    reason: str,
    client: Client,
    keys: list[str],
    now: datetime,
) -> None:
    """Count the failure against every key and record it (and any lock it started)."""
    locks = await _count_failure(identity, keys, now) if keys else []
    customer_id = user["customer_id"] if user else None
    contact_id = user["contact_id"] if user else None

    async def work(tx: Transaction) -> None:
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            SignInFailed(
                organisation_id=organisation_id,
                correlation_id=client.correlation_id,
                occurred_at=now,
                data=SignInFacts(
                    customer_id=customer_id,
                    contact_id=contact_id,
                    outcome="failed",
                    reason=reason,
                    **client.facts(),
                ),
            ),
        )
        for scope, lock in locks:
            await tx.emit(
                IDENTITY_ACCESS_EVENTS,
                SignInLockedOut(
                    organisation_id=organisation_id,
                    correlation_id=client.correlation_id,
                    occurred_at=now,
                    data=LockoutFacts(
                        scope="ip" if scope == "ip" else "account",
                        customer_id=customer_id if scope == "account" else None,
                        contact_id=contact_id if scope == "account" else None,
                        ip=client.ip[:64],
                        failures=lock.failures,
                        locked_until=lock.locked_until,
                    ),
                ),
            )

    await identity.store.transaction(work)


async def throttle_failure(
    identity: Identity,
    key: str,
    now: datetime,
    user: dict[str, Any],
    client: Client,
) -> None:
    """A wrong password outside sign-in (e.g. changing it) counts against the account too."""
    await record_failure(
        identity, user["organisation_id"], user, "wrong_current_password", client, [key], now
    )


# --- signing in ----------------------------------------------------------------------------------


async def _signed_in(
    identity: Identity,
    tx: Transaction,
    user: dict[str, Any],
    client: Client,
    now: datetime,
    *,
    second_factor: bool,
) -> TokenPair:
    tokens = await start_session(identity, tx, user, client, now, second_factor=second_factor)
    await tx.emit(
        IDENTITY_ACCESS_EVENTS,
        ContactSignedIn(
            organisation_id=user["organisation_id"],
            correlation_id=client.correlation_id,
            occurred_at=now,
            actor=Actor(kind="contact", id=user["contact_id"]),
            data=SignInFacts(
                customer_id=user["customer_id"],
                contact_id=user["contact_id"],
                session_id=tokens.session_id,
                outcome="succeeded",
                **client.facts(),
            ),
        ),
    )
    return tokens


async def sign_in(
    identity: Identity,
    portal_slug: str,
    email: str,
    password: str,
    client: Client,
    *,
    mfa_required: bool = False,
) -> TokenPair | MfaChallenge:
    """The password step. With `mfa_required` (the merchant's preference, told by the
    gateway) a right password answers a challenge for the code step instead of tokens."""
    merchant = await merchant_of(identity, portal_slug)
    organisation_id = merchant["_id"]
    now = identity.store.clock.now()
    keys = _keys(identity, organisation_id, email, client)
    try:
        await refuse_if_locked(identity, keys, now)
    except LockedOut:
        await record_failure(identity, organisation_id, None, "locked_out", client, [], now)
        raise
    user = await PortalUsers(identity.store.db).by_email(organisation_id, email)
    usable = user is not None and user.get("status") == "active"
    # Always verify (against a decoy hash when there is no user) so timing says nothing; the
    # decoy goes through the same admission, so a busy refusal says nothing either.
    matches = await _verify_admitted(
        identity, user.get("password_hash") if user else None, password
    )

    if not (usable and matches and user is not None):
        reason = (
            "unknown_email"
            if user is None
            else ("wrong_password" if usable else f"user_{user.get('status')}")
        )
        await record_failure(identity, organisation_id, user, reason, client, keys, now)
        raise Unauthorised(WRONG_CREDENTIALS, code="wrong_credentials")

    # The address is not cleared: one good account must not wash away guesses at others.
    await SignInThrottle(identity.store.db).clear(keys[0])
    if mfa_required:
        return await _challenge(identity, user, client, now)

    async def work(tx: Transaction) -> TokenPair:
        return await _signed_in(identity, tx, user, client, now, second_factor=False)

    tokens = await identity.store.transaction(work)
    assert tokens is not None
    return tokens


async def _challenge(
    identity: Identity, user: dict[str, Any], client: Client, now: datetime
) -> MfaChallenge:
    token = secrets.token_urlsafe(32)
    lifetime = timedelta(minutes=identity.settings.mfa_challenge_minutes)
    enrolment = not is_enrolled(user)
    await Challenges(identity.store.db).add(
        {
            "_id": uuid.uuid4().hex,
            "challenge_digest": token_digest(token),
            "organisation_id": user["organisation_id"],
            "customer_id": user["customer_id"],
            "contact_id": user["contact_id"],
            "email": user["email"],
            "enrolment": enrolment,
            "used": False,
            "wrong_codes": 0,
            "created_at": now,
            "expires_at": now + lifetime,
            **client.facts(),
        }
    )
    return MfaChallenge(
        challenge=token,
        enrolment_required=enrolment,
        expires_in=int(lifetime.total_seconds()),
    )


CHALLENGE_GONE = "this sign-in step has expired or was already used; sign in again"


async def _live_challenge(
    identity: Identity, portal_slug: str, challenge: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    merchant = await merchant_of(identity, portal_slug)
    now = identity.store.clock.now()
    found = await Challenges(identity.store.db).live(merchant["_id"], token_digest(challenge), now)
    if found is None:
        raise Unauthorised(CHALLENGE_GONE, code="mfa_challenge_invalid")
    user = await PortalUsers(identity.store.db).by_contact(
        found["organisation_id"], found["customer_id"], found["contact_id"]
    )
    if user is None or user.get("status") != "active":
        raise Unauthorised(CHALLENGE_GONE, code="mfa_challenge_invalid")
    return found, user


async def enrol_during_sign_in(
    identity: Identity, portal_slug: str, challenge: str
) -> dict[str, str]:
    """The merchant asks for a second factor and the contact has none yet: set one up now,
    between the password step and the code step."""
    found, user = await _live_challenge(identity, portal_slug, challenge)
    if not found["enrolment"]:
        raise Unauthorised(CHALLENGE_GONE, code="mfa_challenge_invalid")
    return (await start_enrolment(identity, user)).as_answer()


async def sign_in_with_code(
    identity: Identity, portal_slug: str, challenge: str, code: str, client: Client
) -> CodeAccepted:
    """The code step: a code from the app (or a recovery code) spends the challenge and
    starts the session. During enrolment the first code also confirms the app."""
    found, user = await _live_challenge(identity, portal_slug, challenge)
    now = identity.store.clock.now()
    keys = _keys(identity, found["organisation_id"], found["email"], client)
    await refuse_if_locked(identity, keys, now)
    recovery_codes: list[str] = []

    async def work(tx: Transaction) -> TokenPair:
        nonlocal recovery_codes
        if is_enrolled(user):
            await check_second_factor(identity, tx, user, code, client)
        else:
            recovery_codes = await confirm_enrolment(identity, tx, user, code, client, None)
        if not await Challenges(tx.db, tx.session).spend(found["_id"], now):
            raise Unauthorised(CHALLENGE_GONE, code="mfa_challenge_invalid")
        return await _signed_in(identity, tx, user, client, now, second_factor=True)

    try:
        tokens = await identity.store.transaction(work)
    except WrongCode:
        await Challenges(identity.store.db).count_wrong_code(
            found["_id"], identity.settings.mfa_challenge_attempts
        )
        await record_failure(
            identity, found["organisation_id"], user, "wrong_mfa_code", client, keys, now
        )
        raise
    assert tokens is not None
    return CodeAccepted(tokens=tokens, recovery_codes=recovery_codes)


# --- for other ways of signing in (single sign-on) ----------------------------------------------

SignedIn = TokenPair


async def open_session(
    identity: Identity,
    tx: Transaction,
    *,
    organisation_id: str,
    customer_id: str,
    contact_id: str,
    ip: str = "",
    user_agent: str = "",
) -> TokenPair:
    """Inside the caller's transaction: a session and its first token pair for a contact that
    another way (e.g. single sign-on) proved; the caller records the sign-in event."""
    user = {
        "organisation_id": organisation_id,
        "customer_id": customer_id,
        "contact_id": contact_id,
    }
    client = Client(ip=ip, user_agent=user_agent)
    return await start_session(
        identity, tx, user, client, identity.store.clock.now(), second_factor=False
    )
