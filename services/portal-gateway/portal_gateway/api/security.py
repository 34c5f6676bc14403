"""Checking a contact's access token: signature, expiry, audience, and that it belongs to
the portal it is used on. Costs no database round trip."""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from portal_runtime.errors import Unauthorised

ISSUER = "portal-identity"
AUDIENCE = "portal-gateway"


@dataclass(frozen=True)
class PortalPrincipal:
    organisation_id: str
    customer_id: str
    contact_id: str
    session_id: str


class TokenVerifier:
    def __init__(self, public_key_pem: str) -> None:
        self._key = public_key_pem

    def verify(self, authorization: str | None, organisation_id: str) -> PortalPrincipal:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorised(
                "sign in first: send 'Authorization: Bearer <token>'", code="token_missing"
            )
        try:
            claims = jwt.decode(
                authorization.removeprefix("Bearer ").strip(),
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
        if claims["org"] != organisation_id:
            raise Unauthorised(
                "the session token is not valid for this portal", code="token_wrong_portal"
            )
        return PortalPrincipal(
            organisation_id=claims["org"],
            customer_id=claims["cus"],
            contact_id=claims["sub"],
            session_id=claims["sid"],
        )
