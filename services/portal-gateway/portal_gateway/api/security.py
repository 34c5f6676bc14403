"""Checking a contact's access token: signature, expiry, audience, that it belongs to the
portal it is used on, and that its session was not ended (the revocation list, kept in memory
and refreshed at most once a second: adapters/revocations.py). No database round trip per
request."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers import BaseRouteHandler

from portal_gateway.adapters.revocations import RevocationList
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.merchants import merchant_for_portal
from portal_runtime.errors import NotFound, Unauthorised

ISSUER = "portal-identity"
AUDIENCE = "portal-gateway"
VERIFIED_TOKENS_KEPT = 50_000


@dataclass(frozen=True)
class PortalPrincipal:
    organisation_id: str
    customer_id: str
    contact_id: str
    session_id: str
    issued_at: datetime


class TokenVerifier:
    def __init__(self, public_key_pem: str, now: Callable[[], float] = time.time) -> None:
        # Parsed once: parsing the PEM on every request costs more than the signature check.
        key = load_pem_public_key(public_key_pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the token public key must be an Ed25519 key")
        self._key = key
        # Tokens already verified, until they expire: a signature check costs more than the
        # rest of a dashboard read. Bounded; cleared when full.
        self._verified: dict[str, tuple[float, PortalPrincipal]] = {}
        self._now = now

    def verify(self, authorization: str | None, organisation_id: str) -> PortalPrincipal:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorised(
                "sign in first: send 'Authorization: Bearer <token>'", code="token_missing"
            )
        token = authorization.removeprefix("Bearer ").strip()
        known = self._verified.get(token)
        if known is None:
            principal = self._decode(token)
        elif known[0] <= self._now():
            raise Unauthorised("the session token has expired", code="token_expired")
        else:
            principal = known[1]
        if principal.organisation_id != organisation_id:
            raise Unauthorised(
                "the session token is not valid for this portal", code="token_wrong_portal"
            )
        return principal

    def _decode(self, token: str) -> PortalPrincipal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["EdDSA"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "org", "cus", "sid"]},
            )
        except jwt.ExpiredSignatureError as expired:
            raise Unauthorised("the session token has expired", code="token_expired") from expired
        except jwt.PyJWTError as bad:
            raise Unauthorised("the session token is not valid", code="token_invalid") from bad
        principal = PortalPrincipal(
            organisation_id=claims["org"],
            customer_id=claims["cus"],
            contact_id=claims["sub"],
            session_id=claims["sid"],
            issued_at=datetime.fromtimestamp(
                claims["iat_ms"] / 1000 if "iat_ms" in claims else claims["iat"], UTC
            ),
        )
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        self._verified[token] = (float(claims["exp"]), principal)
        return principal


def revocation_list(gateway: Gateway) -> RevocationList:
    """The one revocation list of this gateway instance (kept on the gateway object)."""
    found: RevocationList | None = getattr(gateway, "_revocation_list", None)
    if found is None:
        found = RevocationList(gateway.store.db)
        setattr(gateway, "_revocation_list", found)  # noqa: B010
    return found


def portal_guard(gateway: Gateway) -> Any:
    """Guard for every signed-in portal route under `/portal/{slug}/...`: the portal must exist
    and the bearer token must be valid for it. Sets `merchant` and `principal` on the
    connection state; `PORTAL_DEPENDENCIES` hands them to the handlers."""
    tokens = TokenVerifier(gateway.settings.token_public_key)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        slug = str(connection.path_params.get("slug", ""))
        merchant = await merchant_for_portal(gateway, slug)
        if merchant is None:
            raise NotFound(f"there is no portal at '{slug}'")
        principal = tokens.verify(connection.headers.get("authorization"), str(merchant["_id"]))
        if await revocation_list(gateway).is_revoked(
            principal.organisation_id,
            principal.customer_id,
            principal.contact_id,
            principal.session_id,
            principal.issued_at,
        ):
            raise Unauthorised("this session has ended; sign in again", code="session_revoked")
        connection.state.merchant = merchant
        connection.state.principal = principal

    return guard


def _principal(request: ASGIConnection[Any, Any, Any, Any]) -> PortalPrincipal:
    principal: PortalPrincipal = request.state.principal
    return principal


def _merchant(request: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    merchant: dict[str, Any] = request.state.merchant
    return merchant


PORTAL_DEPENDENCIES = {
    "principal": Provide(_principal, sync_to_thread=False),
    "merchant": Provide(_merchant, sync_to_thread=False),
}
