"""Access tokens: short-lived JWTs signed with Ed25519, checked by the gateway with the
public key alone (no database round trip per request)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

ISSUER = "portal-identity"
AUDIENCE = "portal-gateway"


class AccessTokens:
    def __init__(self, private_key_pem: SecretStr, lifetime: timedelta) -> None:
        key = serialization.load_pem_private_key(
            private_key_pem.get_secret_value().encode(), password=None
        )
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the token signing key must be an Ed25519 private key")
        self._key = key
        self.lifetime = lifetime

    def issue(
        self,
        *,
        organisation_id: str,
        customer_id: str,
        contact_id: str,
        session_id: str,
        now: datetime,
    ) -> str:
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": contact_id,
            "org": organisation_id,
            "cus": customer_id,
            "sid": session_id,
            "iat": int(now.timestamp()),
            # Issue time to the millisecond: a revocation "everything issued before T" must not
            # also refuse a session signed in later within the same second.
            "iat_ms": int(now.timestamp() * 1000),
            "exp": int((now + self.lifetime).timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA")
