"""Multi-factor authentication with an authenticator app (TOTP): setting it up, checking a
code or a recovery code, and removing it.

The seed is sealed at rest (Fernet; `IDENTITY_MFA_SEALING_KEY`, else the service's sealing
key). Recovery codes are stored as digests salted with the contact, and each one is spent by
one atomic `$pull`. A TOTP code's time step is recorded atomically, so a code (or any earlier
one) is never accepted twice."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal

import segno

from identity.adapters.credentials import SecondFactors, contact_filter
from identity.adapters.repositories import Merchants, PortalUsers
from identity.domain import mfa
from identity.service_layer.context import Identity
from identity.service_layer.sessions import Client, Principal
from portal_contracts.envelope import Actor
from portal_contracts.sessions import (
    CredentialFacts,
    MfaEnrolled,
    MfaRecoveryCodeUsed,
    MfaRemoved,
)
from portal_contracts.topics import IDENTITY_ACCESS_EVENTS
from portal_runtime.errors import Conflict, Forbidden, NotFound, ServiceError
from portal_runtime.sealing import Sealer, token_digest
from portal_runtime.store import Transaction


class WrongCode(ServiceError):
    status = 401
    code = "mfa_code_wrong"


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_code: str  # an SVG data URI

    def as_answer(self) -> dict[str, str]:
        return {"secret": self.secret, "otpauth_uri": self.otpauth_uri, "qr_code": self.qr_code}


def seed_sealer(identity: Identity) -> Sealer:
    return Sealer(identity.settings.mfa_sealing_key or identity.settings.sealing_key)


def recovery_digest(user: dict[str, Any], code: str) -> str:
    return token_digest(f"{user['organisation_id']}:{user['contact_id']}:{mfa.normalise(code)}")


def who_of(user: dict[str, Any]) -> dict[str, str]:
    return contact_filter(user["organisation_id"], user["customer_id"], user["contact_id"])


def is_enrolled(user: dict[str, Any]) -> bool:
    return bool(user.get("mfa"))


async def user_of(identity: Identity, principal: Principal) -> dict[str, Any]:
    user = await PortalUsers(identity.store.db).by_contact(
        principal.organisation_id, principal.customer_id, principal.contact_id
    )
    if user is None or user.get("status") != "active":
        raise NotFound("your portal account is not active", code="portal_user_not_found")
    return user


async def start_enrolment(identity: Identity, user: dict[str, Any]) -> Enrolment:
    """A fresh seed, kept pending until a first code confirms the app has it."""
    if is_enrolled(user):
        raise Conflict("an authenticator app is already set up", code="mfa_already_enrolled")
    merchant = await Merchants(identity.store.db).by_id(user["organisation_id"])
    issuer = merchant["name"] if merchant else identity.settings.mfa_issuer
    secret = mfa.new_secret()
    uri = mfa.provisioning_uri(secret, user["email"], issuer)
    svg = segno.make(uri, error="m").svg_inline(scale=4).encode()
    await SecondFactors(identity.store.db).start(
        who_of(user), seed_sealer(identity).seal(secret), identity.store.clock.now()
    )
    return Enrolment(
        secret=secret,
        otpauth_uri=uri,
        qr_code="data:image/svg+xml;base64," + base64.b64encode(svg).decode(),
    )


async def confirm_enrolment(
    identity: Identity,
    tx: Transaction,
    user: dict[str, Any],
    code: str,
    client: Client,
    session_id: str | None,
) -> list[str]:
    """Inside the caller's transaction: the first code proves the app holds the pending seed.
    Answers the recovery codes, shown this once."""
    pending = user.get("mfa_pending")
    if not pending:
        raise Conflict(
            "start setting up the authenticator app first", code="mfa_enrolment_not_started"
        )
    now = identity.store.clock.now()
    secret = seed_sealer(identity).open(pending["sealed_secret"])
    step = mfa.matching_step(secret, code, now)
    if step is None:
        raise WrongCode("the code is not right; check the time on your device and try again")
    codes = mfa.new_recovery_codes()
    confirmed = await SecondFactors(tx.db, tx.session).confirm(
        who_of(user),
        pending["sealed_secret"],
        step,
        [recovery_digest(user, c) for c in codes],
        now,
    )
    if not confirmed:
        raise Conflict("the set-up was replaced; start again", code="mfa_enrolment_replaced")
    await tx.emit(
        IDENTITY_ACCESS_EVENTS,
        MfaEnrolled(
            organisation_id=user["organisation_id"],
            correlation_id=client.correlation_id,
            occurred_at=now,
            actor=Actor(kind="contact", id=user["contact_id"]),
            data=CredentialFacts(
                customer_id=user["customer_id"],
                contact_id=user["contact_id"],
                session_id=session_id,
                **client.facts(),
            ),
        ),
    )
    return codes


async def check_second_factor(
    identity: Identity, tx: Transaction, user: dict[str, Any], code: str, client: Client
) -> Literal["totp", "recovery_code"]:
    """Inside the caller's transaction: a current code from the app, or an unused recovery
    code. Raises WrongCode otherwise (also for a code used before)."""
    now = identity.store.clock.now()
    factors = SecondFactors(tx.db, tx.session)
    if mfa.looks_like_totp(code):
        secret = seed_sealer(identity).open(user["mfa"]["sealed_secret"])
        step = mfa.matching_step(secret, code, now)
        if step is not None and await factors.use_step(who_of(user), step):
            return "totp"
        raise WrongCode("the code is not right or was already used; wait for the next one")
    left = await factors.use_recovery_code(who_of(user), recovery_digest(user, code))
    if left is None:
        raise WrongCode("the recovery code is not right or was already used")
    await tx.emit(
        IDENTITY_ACCESS_EVENTS,
        MfaRecoveryCodeUsed(
            organisation_id=user["organisation_id"],
            correlation_id=client.correlation_id,
            occurred_at=now,
            actor=Actor(kind="contact", id=user["contact_id"]),
            data=CredentialFacts(
                customer_id=user["customer_id"], contact_id=user["contact_id"], **client.facts()
            ),
        ),
    )
    return "recovery_code"


async def enrol(identity: Identity, principal: Principal) -> Enrolment:
    return await start_enrolment(identity, await user_of(identity, principal))


async def confirm(identity: Identity, principal: Principal, code: str, client: Client) -> list[str]:
    user = await user_of(identity, principal)

    async def work(tx: Transaction) -> list[str]:
        return await confirm_enrolment(identity, tx, user, code, client, principal.session_id)

    codes = await identity.store.transaction(work)
    return codes or []


async def status(identity: Identity, principal: Principal) -> dict[str, Any]:
    user = await user_of(identity, principal)
    factor = user.get("mfa") or {}
    return {
        "enrolled": bool(factor),
        "enrolled_at": factor["enrolled_at"].isoformat() if factor else None,
        "recovery_codes_left": len(factor.get("recovery_digests", [])),
    }


async def remove(
    identity: Identity, principal: Principal, password: str, code: str, client: Client
) -> None:
    """Both the password and a current code (or a recovery code) are needed, so a session
    left open on a shared computer cannot switch the second factor off."""
    user = await user_of(identity, principal)
    if not is_enrolled(user):
        raise NotFound("no authenticator app is set up", code="mfa_not_enrolled")
    if not await identity.passwords.verify(user.get("password_hash"), password):
        raise Forbidden("the password is not right", code="wrong_password")
    now = identity.store.clock.now()

    async def work(tx: Transaction) -> None:
        await check_second_factor(identity, tx, user, code, client)
        await SecondFactors(tx.db, tx.session).remove(who_of(user))
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            MfaRemoved(
                organisation_id=user["organisation_id"],
                correlation_id=client.correlation_id,
                occurred_at=now,
                actor=principal.actor,
                data=CredentialFacts(
                    customer_id=user["customer_id"],
                    contact_id=user["contact_id"],
                    session_id=principal.session_id,
                    **client.facts(),
                ),
            ),
        )

    await identity.store.transaction(work)


async def new_recovery_codes(
    identity: Identity, principal: Principal, code: str, client: Client
) -> list[str]:
    """Replace every recovery code (after a current code), e.g. when few are left."""
    user = await user_of(identity, principal)
    if not is_enrolled(user):
        raise NotFound("no authenticator app is set up", code="mfa_not_enrolled")
    codes = mfa.new_recovery_codes()

    async def work(tx: Transaction) -> None:
        await check_second_factor(identity, tx, user, code, client)
        await SecondFactors(tx.db, tx.session).replace_recovery_codes(
            who_of(user), [recovery_digest(user, c) for c in codes]
        )

    await identity.store.transaction(work)
    return codes
