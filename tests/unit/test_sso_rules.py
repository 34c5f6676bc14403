"""Single sign-on rules that need no provider: ID token validation (signature, iss, aud, azp,
exp, nonce, at_hash, algorithms), which emails may enter, and which issuer URLs are usable."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from identity.adapters.oidc import OidcFailure, needs_fresh_keys, validate_id_token
from identity.domain.sso import (
    SsoConfiguration,
    SsoRefused,
    check_may_enter,
    email_domains,
    issuer_url,
    provider_used_multi_factor,
    verified_email,
)

pytestmark = pytest.mark.unit

ISSUER = "https://login.example.com"
CLIENT = "portal-client"
NONCE = "n-0S6_WzA2Mj"
NOW = int(time.time())
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
JWKS = KeySet([KEY]).as_dict(private=False)


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": CLIENT,
        "exp": NOW + 300,
        "iat": NOW,
        "nonce": NONCE,
        "email": "grace@compilers.example",
        "email_verified": True,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _token(claims: dict[str, Any], key: Any = KEY, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": "k1"}, claims, key)


def _validate(token: str, **changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT,
        "nonce": NONCE,
        "access_token": None,
        "algorithms": ("RS256",),
        "now": NOW,
    }
    arguments.update(changes)
    return validate_id_token(token, JWKS, **arguments)


def test_a_well_formed_token_gives_its_claims() -> None:
    claims = _validate(_token(_claims()))
    assert claims["email"] == "grace@compilers.example"
    assert claims["sub"] == "248289761001"


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"aud": "another-client"}, "issued to another client"),
        ({"aud": ["another-client", "third"]}, "issued to other clients"),
        ({"aud": [CLIENT, "other"], "azp": "other"}, "authorised party is another client"),
        ({"iss": "https://evil.example.com"}, "another issuer"),
        ({"nonce": "another-nonce"}, "another sign-in's nonce"),
        ({"nonce": None}, "no nonce"),
        ({"exp": NOW - 3600}, "expired an hour ago"),
        ({"sub": None}, "no subject"),
        ({"iat": None}, "no issue time"),
    ],
)
def test_a_token_that_does_not_match_this_sign_in_is_refused(
    changes: dict[str, Any], why: str
) -> None:
    with pytest.raises(OidcFailure) as refused:
        _validate(_token(_claims(**changes)))
    assert refused.value.reason == "id_token_invalid", why


def test_a_token_signed_by_another_key_is_refused_and_asks_for_fresh_keys() -> None:
    with pytest.raises(OidcFailure) as refused:
        _validate(_token(_claims(), key=OTHER_KEY))
    assert refused.value.reason == "id_token_invalid"
    assert needs_fresh_keys(refused.value)


def test_a_token_keyed_with_a_shared_secret_or_unsigned_is_refused() -> None:
    secret = OctKey.import_key("a-client-secret-that-an-attacker-guessed-0123456789")
    with pytest.raises(OidcFailure):
        _validate(_token(_claims(), key=secret, alg="HS256"))
    header = "eyJhbGciOiJub25lIn0"  # {"alg":"none"}
    payload = _token(_claims()).split(".")[1]
    with pytest.raises(OidcFailure):
        _validate(f"{header}.{payload}.")
    with pytest.raises(OidcFailure):
        _validate(_token(_claims()), algorithms=("HS256",))


def test_the_access_token_hash_must_match_the_access_token() -> None:
    at_hash = create_half_hash("the-access-token", "RS256")
    assert at_hash is not None
    token = _token(_claims(at_hash=at_hash.decode()))
    assert _validate(token, access_token="the-access-token")["sub"]
    with pytest.raises(OidcFailure):
        _validate(token, access_token="another-access-token")


def test_a_clock_a_little_behind_the_provider_is_tolerated_but_not_a_stale_token() -> None:
    assert _validate(_token(_claims(exp=NOW - 30)))["sub"]
    with pytest.raises(OidcFailure):
        _validate(_token(_claims(exp=NOW - 120)))


def test_garbage_is_refused_not_crashed_on() -> None:
    for garbage in ("", "not-a-jwt", "a.b.c", "x" * 5000):
        with pytest.raises(OidcFailure):
            _validate(garbage)


# -- emails ----------------------------------------------------------------------------------


def _configuration(domains: tuple[str, ...] = ()) -> SsoConfiguration:
    return SsoConfiguration(
        organisation_id="org_1",
        issuer=ISSUER,
        client_id=CLIENT,
        sealed_client_secret="sealed",
        allowed_email_domains=domains,
        enabled=True,
        updated_at=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"email": "grace@compilers.example"}, "email_unverified"),
        ({"email": "grace@compilers.example", "email_verified": False}, "email_unverified"),
        ({"email": "grace@compilers.example", "email_verified": "true"}, "email_unverified"),
        ({"email_verified": True}, "email_missing"),
        ({"email": "not-an-email", "email_verified": True}, "email_missing"),
    ],
)
def test_only_an_email_the_provider_verified_counts(claims: dict[str, Any], reason: str) -> None:
    with pytest.raises(SsoRefused) as refused:
        verified_email(claims)
    assert refused.value.reason == reason


def test_the_verified_email_is_compared_in_lower_case() -> None:
    claims = {"email": " Grace@Compilers.Example ", "email_verified": True}
    assert verified_email(claims) == "grace@compilers.example"


def test_sso_never_creates_access_and_respects_the_merchants_domains() -> None:
    user = {"customer_id": "c", "contact_id": "k", "status": "active"}
    email = "grace@compilers.example"
    assert check_may_enter(_configuration(), email, user) is user
    assert check_may_enter(_configuration(("compilers.example",)), email, user) is user
    assert check_may_enter(_configuration(), email, {**user, "status": "invited"})
    for refused_user in (None, {**user, "status": "disabled"}, {**user, "status": "revoked"}):
        with pytest.raises(SsoRefused) as refused:
            check_may_enter(_configuration(), email, refused_user)
        assert refused.value.reason == "no_portal_access"
    with pytest.raises(SsoRefused) as outside:
        check_may_enter(_configuration(("other.example",)), email, user)
    assert outside.value.reason == "domain_not_allowed"


def test_email_domains_are_normalised_and_checked() -> None:
    assert email_domains(["@Compilers.Example", "compilers.example", "b.co"]) == (
        "compilers.example",
        "b.co",
    )
    for bad in (["localhost"], ["a..b"], ["spaces in.example"], ["x@y.example"]):
        with pytest.raises(SsoRefused):
            email_domains(bad)


def test_the_amr_claim_tells_whether_the_provider_checked_a_second_factor() -> None:
    assert provider_used_multi_factor({"amr": ["pwd", "mfa"]})
    assert not provider_used_multi_factor({"amr": ["pwd"]})
    assert not provider_used_multi_factor({"amr": "mfa"})
    assert not provider_used_multi_factor({})


# -- issuer URLs ---------------------------------------------------------------------------


def test_issuers_must_be_public_https_addresses() -> None:
    assert issuer_url("https://login.example.com/", False) == "https://login.example.com"
    assert issuer_url("https://login.example.com/tenant/v2.0", False).endswith("/v2.0")
    refused = [
        "http://login.example.com",
        "ftp://login.example.com",
        "https://10.0.0.5",
        "https://169.254.169.254/latest",
        "https://localhost:8443",
        "https://[::1]",
        "https://user:pw@login.example.com",
        "https://login.example.com/?tenant=1",
        "not a url",
    ]
    for raw in refused:
        with pytest.raises(SsoRefused):
            issuer_url(raw, False)


def test_private_issuers_only_where_allowed() -> None:
    assert issuer_url("http://127.0.0.1:5000", True) == "http://127.0.0.1:5000"
    with pytest.raises(SsoRefused):
        issuer_url("http://127.0.0.1:5000", False)
    # Even where private hosts are allowed, a public host must use https.
    with pytest.raises(SsoRefused):
        issuer_url("http://login.example.com", True)
