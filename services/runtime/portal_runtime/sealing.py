"""Encryption for secrets at rest and for values that must cross a topic (Fernet)."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from portal_runtime.errors import PermanentFailure


class Sealer:
    def __init__(self, key: SecretStr) -> None:
        self._fernet = Fernet(key.get_secret_value().encode())

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as bad:
            raise PermanentFailure("sealed value cannot be opened with this key") from bad


def token_digest(token: str) -> str:
    """How tokens are stored: a SHA-256 digest (tokens are long and random, so no salt)."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
