"""Identity's OpenID Connect client (identity/adapters/oidc.py) against a real provider in this
process: discovery, the PKCE-protected code exchange, and ID token checks on real tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from identity.adapters import oidc
from tests.support.oidc import OidcProvider, running_provider

pytestmark = pytest.mark.component
CALLBACK = "http://127.0.0.1:9/portal/acme/api/sso/callback"
VERIFIER = "v" * 20 + "-verifier-that-is-long-enough-for-pkce-rules"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with running_provider() as running:
        yield running


async def _code(provider: OidcProvider, client_id: str, nonce: str = "nonce-1") -> str:
    metadata = await oidc.OidcProviders(True).metadata(provider.issuer)
    url = await oidc.authorization_url(metadata, client_id, CALLBACK, "state-1", nonce, VERIFIER)
    provider.add_user("grace", "grace@compilers.example")
    async with httpx.AsyncClient() as http:
        back = await provider.authorize(http, url, "grace")
    assert back.startswith(CALLBACK)
    assert parse_qs(urlsplit(back).query)["state"] == ["state-1"]
    return parse_qs(urlsplit(back).query)["code"][0]


async def test_the_code_exchange_gives_an_id_token_that_validates(
    provider: OidcProvider,
) -> None:
    client_id, secret = provider.register_client(CALLBACK)
    providers = oidc.OidcProviders(True)
    metadata = await providers.metadata(provider.issuer)
    code = await _code(provider, client_id)
    token = await oidc.exchange_code(metadata, client_id, secret, CALLBACK, code, VERIFIER)
    claims = oidc.validate_id_token(
        token["id_token"],
        await providers.key_set(metadata),
        issuer=provider.issuer,
        client_id=client_id,
        nonce="nonce-1",
        access_token=token["access_token"],
        algorithms=metadata.algorithms,
        now=int(time.time()),
    )
    assert claims["email"] == "grace@compilers.example"
    assert claims["email_verified"] is True
    # A code works once.
    with pytest.raises(oidc.OidcFailure) as again:
        await oidc.exchange_code(metadata, client_id, secret, CALLBACK, code, VERIFIER)
    assert again.value.reason == "code_refused"


async def test_a_code_is_useless_without_its_pkce_verifier_or_the_client_secret(
    provider: OidcProvider,
) -> None:
    client_id, secret = provider.register_client(CALLBACK)
    metadata = await oidc.OidcProviders(True).metadata(provider.issuer)
    stolen = await _code(provider, client_id)
    with pytest.raises(oidc.OidcFailure) as no_verifier:
        await oidc.exchange_code(metadata, client_id, secret, CALLBACK, stolen, VERIFIER + "x")
    assert no_verifier.value.reason == "code_refused"
    other = await _code(provider, client_id)
    with pytest.raises(oidc.OidcFailure) as wrong_secret:
        await oidc.exchange_code(metadata, client_id, secret + "x", CALLBACK, other, VERIFIER)
    assert wrong_secret.value.reason == "code_refused"


async def test_discovery_refuses_private_hosts_unless_allowed(
    provider: OidcProvider,
) -> None:
    with pytest.raises(oidc.OidcFailure) as private:
        await oidc.OidcProviders(False).metadata(provider.issuer)
    assert private.value.reason == "provider_invalid"
    metadata = await oidc.OidcProviders(True).metadata(provider.issuer)
    assert metadata.issuer == provider.issuer
    assert metadata.algorithms == ("RS256",)
