"""Signing in through the gateway the way a portal contact does, for the e2e tests; and a
contact who can sign in, written straight into identity's database, for tests that run
identity in-process."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from deploy.local.stack import LocalStack
from identity.adapters.passwords import PasswordHashing
from identity.settings import DEV_TOKEN_PRIVATE_KEY
from tests.support.portal import create_customer, invitation_email, register_merchant, token_from
from tests.support.waiting import eventually

PASSWORD = "correct-horse-42"
RESET_LINK = re.compile(r"https?://\S+/reset-password\?token=\S+")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def portal_contact(
    http: httpx.AsyncClient, stack: LocalStack, merchant: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A fresh merchant (unless given) with one customer whose contact set PASSWORD."""
    gateway, mailbox = stack.urls["gateway"], stack.urls["mailbox"]
    merchant = merchant or await register_merchant(
        http, gateway, stack.operator_token, "Orbit Software"
    )
    email = f"ada.{uuid.uuid4().hex[:8]}@engines.example"
    created = await create_customer(http, gateway, merchant["api_key"], email)
    assert created.status_code == 201, created.text
    _, token = token_from(await invitation_email(http, mailbox, email))
    accepted = await http.post(
        f"{gateway}/portal/{merchant['slug']}/api/invitations/accept",
        json={"token": token, "password": PASSWORD},
    )
    assert accepted.status_code == 200, accepted.text
    return {
        "merchant": merchant,
        "slug": merchant["slug"],
        "email": email,
        "customer_id": created.json()["customer_id"],
        "api": f"{gateway}/portal/{merchant['slug']}/api",
    }


async def stored_contact(identity_db: Any, organisation_id: str, password: str = PASSWORD) -> str:
    """A fresh active contact of a new customer of the organisation, with `password` (hashed
    with the cheapest argon2 cost); its email."""
    email = f"ada.{uuid.uuid4().hex[:8]}@engines.example"
    await identity_db["portal_users"].insert_one(
        {
            "organisation_id": organisation_id,
            "customer_id": f"cus_{uuid.uuid4().hex[:8]}",
            "contact_id": f"ct_{uuid.uuid4().hex[:8]}",
            "email": email,
            "name": "Ada Lovelace",
            "status": "active",
            "password_hash": await PasswordHashing(1, 1024, 1).hash(password),
            "created_at": datetime.now(UTC),
        }
    )
    return email


async def sign_in(
    http: httpx.AsyncClient, contact: dict[str, Any], password: str = PASSWORD, **headers: str
) -> httpx.Response:
    return await http.post(
        f"{contact['api']}/sessions",
        json={"email": contact["email"], "password": password},
        headers=headers,
    )


async def tokens(http: httpx.AsyncClient, contact: dict[str, Any]) -> dict[str, Any]:
    answer = await sign_in(http, contact)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def refused_soon(http: httpx.AsyncClient, contact: dict[str, Any], access: str) -> None:
    """An ended session's access token is refused once the revocation reached the gateway
    (an event hop, not the token's 10 minutes)."""

    async def probe() -> bool:
        home = await http.get(f"{contact['api']}/home", headers=bearer(access))
        return home.status_code == 401

    await eventually(probe, timeout=20)


async def still_works(http: httpx.AsyncClient, contact: dict[str, Any], access: str) -> bool:
    home = await http.get(f"{contact['api']}/home", headers=bearer(access))
    return home.status_code == 200


def token_signed_now(claims: dict[str, Any]) -> str:
    """An access token signed with the development key, with any claims (e.g. a past exp)."""
    key = serialization.load_pem_private_key(DEV_TOKEN_PRIVATE_KEY.encode(), password=None)
    base = {"iss": "portal-identity", "aud": "portal-gateway"}
    return jwt.encode({**base, **claims}, key, algorithm="EdDSA")  # type: ignore[arg-type]


def expired_copy(access: str) -> str:
    """The same session's token, as if issued 20 minutes ago (10-minute lifetime)."""
    claims = jwt.decode(access, options={"verify_signature": False})
    then = datetime.now(UTC) - timedelta(minutes=20)
    claims["iat"] = int(then.timestamp())
    claims["exp"] = int((then + timedelta(minutes=10)).timestamp())
    return token_signed_now(claims)


async def reset_email_token(http: httpx.AsyncClient, mailbox: str, email: str) -> str:
    async def probe() -> str | None:
        messages = (await http.get(f"{mailbox}/api/messages")).json()
        for message in reversed(messages):
            if email in message["to"]:
                match = RESET_LINK.search(message["text"])
                if match:
                    return str(parse_qs(urlparse(match.group(0)).query)["token"][0])
        return None

    return await eventually(probe, timeout=30)
