"""What the identity use cases need, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from identity.adapters.passwords import PasswordHashing
from identity.adapters.tokens import AccessTokens
from identity.settings import IdentitySettings
from portal_runtime.sealing import Sealer
from portal_runtime.store import Store


@dataclass(frozen=True)
class Identity:
    settings: IdentitySettings
    store: Store
    passwords: PasswordHashing
    tokens: AccessTokens
    sealer: Sealer
