"""The gateway's access-token check: signature, audience, portal, expiry, and its cache of
tokens already verified (which must never outlive a token or cross portals)."""

from __future__ import annotations

import datetime

import pytest

from identity.adapters.tokens import AccessTokens
from identity.settings import IdentitySettings
from portal_gateway.api.security import TokenVerifier
from portal_gateway.settings import GatewaySettings
from portal_runtime.errors import Unauthorised

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def token(now: datetime.datetime, organisation_id: str = "org_a") -> str:
    tokens = AccessTokens(IdentitySettings().token_private_key, datetime.timedelta(minutes=10))
    return tokens.issue(
        organisation_id=organisation_id,
        customer_id="cus_1",
        contact_id="ct_1",
        session_id="ses_1",
        now=now,
    )


def test_a_verified_token_is_answered_from_the_cache_until_it_expires() -> None:
    issued = datetime.datetime.now(datetime.UTC)
    clock = Clock(issued.timestamp())
    verifier = TokenVerifier(GatewaySettings().token_public_key, now=clock)
    bearer = f"Bearer {token(issued)}"

    assert verifier.verify(bearer, "org_a").customer_id == "cus_1"
    assert verifier.verify(bearer, "org_a").session_id == "ses_1"  # from the cache

    clock.now = issued.timestamp() + 11 * 60
    with pytest.raises(Unauthorised) as expired:
        verifier.verify(bearer, "org_a")
    assert expired.value.code == "token_expired"


def test_a_cached_token_is_still_refused_on_another_portal() -> None:
    issued = datetime.datetime.now(datetime.UTC)
    verifier = TokenVerifier(GatewaySettings().token_public_key)
    bearer = f"Bearer {token(issued)}"
    verifier.verify(bearer, "org_a")

    with pytest.raises(Unauthorised) as wrong_portal:
        verifier.verify(bearer, "org_b")
    assert wrong_portal.value.code == "token_wrong_portal"


def test_a_tampered_token_is_refused_even_after_the_real_one_was_cached() -> None:
    issued = datetime.datetime.now(datetime.UTC)
    verifier = TokenVerifier(GatewaySettings().token_public_key)
    real = token(issued)
    verifier.verify(f"Bearer {real}", "org_a")
    head, payload, signature = real.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}AAAA"

    with pytest.raises(Unauthorised) as invalid:
        verifier.verify(f"Bearer {tampered}", "org_a")
    assert invalid.value.code == "token_invalid"
