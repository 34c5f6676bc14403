"""The relying-party side of OpenID Connect, on authlib: provider discovery and keys, the
authorization URL (code flow, PKCE S256, state, nonce), the code exchange, and ID token
validation (signature by the provider's JWKS, iss, aud, azp, exp, iat, nonce, at_hash)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from identity.domain.sso import address_is_private, host_is_private

log = logging.getLogger(__name__)

SCOPES = "openid email"
# Asymmetric only: an HMAC-signed ID token would be keyed with the client secret.
ACCEPTED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
CLOCK_LEEWAY_SECONDS = 60
MAX_DOCUMENT_BYTES = 256 * 1024


class OidcFailure(Exception):
    """The provider could not be used or its answer could not be trusted; `reason` is a code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    token_endpoint_auth_method: str


@dataclass
class _Cached:
    metadata: ProviderMetadata
    fetched_at: float
    jwks: dict[str, Any] | None = None
    jwks_fetched_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class OidcProviders:
    """Discovery documents and key sets per issuer, cached for `cache_seconds` (a key set is
    fetched again at once when a token names a key it does not hold)."""

    def __init__(self, allow_private_hosts: bool, cache_seconds: float = 300.0) -> None:
        self._allow_private = allow_private_hosts
        self._cache_seconds = cache_seconds
        self._cache: dict[str, _Cached] = {}

    async def metadata(self, issuer: str) -> ProviderMetadata:
        cached = self._cache.get(issuer)
        if cached and time.monotonic() - cached.fetched_at < self._cache_seconds:
            return cached.metadata
        document = await self._fetch_json(f"{issuer}/.well-known/openid-configuration")
        metadata = self._read_metadata(issuer, document)
        self._cache[issuer] = _Cached(metadata, time.monotonic())
        return metadata

    async def key_set(self, metadata: ProviderMetadata, refresh: bool = False) -> dict[str, Any]:
        cached = self._cache.get(metadata.issuer) or _Cached(metadata, time.monotonic())
        self._cache.setdefault(metadata.issuer, cached)
        async with cached.lock:
            fresh = time.monotonic() - cached.jwks_fetched_at < self._cache_seconds
            if cached.jwks is None or not fresh or refresh:
                document = await self._fetch_json(metadata.jwks_uri)
                if not isinstance(document.get("keys"), list):
                    raise OidcFailure("provider_invalid", "the provider's key set has no keys")
                cached.jwks, cached.jwks_fetched_at = document, time.monotonic()
            return cached.jwks

    def _read_metadata(self, issuer: str, document: dict[str, Any]) -> ProviderMetadata:
        # OpenID Connect Discovery 1.0 section 4.3: the document must name the same issuer.
        if document.get("issuer") != issuer:
            raise OidcFailure(
                "provider_invalid", "the provider's discovery document names another issuer"
            )
        endpoints = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            url = document.get(name)
            if not isinstance(url, str) or not self._usable_url(url):
                raise OidcFailure("provider_invalid", f"the provider's {name} is not usable")
            endpoints[name] = url
        offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = tuple(a for a in offered if a in ACCEPTED_ALGORITHMS)
        if not algorithms:
            raise OidcFailure("provider_invalid", "the provider signs ID tokens in no usable way")
        methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        return ProviderMetadata(
            issuer=issuer,
            authorization_endpoint=endpoints["authorization_endpoint"],
            token_endpoint=endpoints["token_endpoint"],
            jwks_uri=endpoints["jwks_uri"],
            algorithms=algorithms,
            token_endpoint_auth_method=method,
        )

    def _usable_url(self, url: str) -> bool:
        parts = urlsplit(url)
        if not parts.hostname:
            return False
        if host_is_private(parts.hostname):
            return self._allow_private and parts.scheme in ("http", "https")
        return parts.scheme == "https"

    async def check_reachable_safely(self, url: str) -> None:
        """Refuse a provider whose name resolves into a private network (the issuer URL comes
        from a merchant; identity must not become a way to probe internal hosts)."""
        host = urlsplit(url).hostname or ""
        if self._allow_private:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None)
        except OSError as unknown:
            raise OidcFailure("provider_unreachable", f"'{host}' cannot be resolved") from unknown
        if any(address_is_private(str(info[4][0])) for info in infos):
            raise OidcFailure("provider_invalid", "the provider must be on the public internet")

    async def _fetch_json(self, url: str) -> dict[str, Any]:
        if not self._usable_url(url):
            raise OidcFailure("provider_invalid", "the provider URL is not usable")
        await self.check_reachable_safely(url)
        try:
            async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as http:
                response = await http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as down:
            raise OidcFailure(
                "provider_unreachable", "the identity provider cannot be reached"
            ) from down
        if response.status_code != 200 or len(response.content) > MAX_DOCUMENT_BYTES:
            raise OidcFailure(
                "provider_unreachable",
                f"the identity provider answered {response.status_code} for {url}",
            )
        try:
            document = response.json()
        except ValueError as garbled:
            raise OidcFailure("provider_invalid", f"{url} did not answer JSON") from garbled
        if not isinstance(document, dict):
            raise OidcFailure("provider_invalid", f"{url} did not answer a JSON object")
        return document


def _client(
    metadata: ProviderMetadata, client_id: str, client_secret: str, redirect_uri: str
) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=metadata.token_endpoint_auth_method,
        scope=SCOPES,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=10.0,
        follow_redirects=False,
    )


async def authorization_url(
    metadata: ProviderMetadata,
    client_id: str,
    redirect_uri: str,
    state: str,
    nonce: str,
    code_verifier: str,
) -> str:
    """Where to send the browser: the provider's authorization endpoint with the code flow,
    PKCE S256 (the verifier stays here), state and nonce."""
    async with _client(metadata, client_id, "", redirect_uri) as client:
        url, _ = client.create_authorization_url(
            metadata.authorization_endpoint,
            state=state,
            code_verifier=code_verifier,
            nonce=nonce,
        )
    return str(url)


async def exchange_code(
    metadata: ProviderMetadata,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    code_verifier: str,
) -> dict[str, Any]:
    """The token endpoint's answer for an authorization code (with the PKCE verifier)."""
    async with _client(metadata, client_id, client_secret, redirect_uri) as client:
        try:
            token = await client.fetch_token(
                metadata.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            )
        except OAuthError as refused:
            log.info("token endpoint of %s refused the code: %s", metadata.issuer, refused.error)
            raise OidcFailure(
                "code_refused", "the identity provider did not accept the sign-in"
            ) from refused
        except (httpx.HTTPError, ValueError) as down:
            raise OidcFailure(
                "provider_unreachable", "the identity provider cannot be reached"
            ) from down
    if not isinstance(token, dict) or not isinstance(token.get("id_token"), str):
        raise OidcFailure("id_token_missing", "the identity provider sent no ID token")
    return dict(token)


def validate_id_token(
    id_token: str,
    jwks: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str | None,
    algorithms: tuple[str, ...],
    now: int,
) -> dict[str, Any]:
    """The ID token's claims, once its signature (one of the provider's keys, an accepted
    algorithm), issuer, audience, authorised party, expiry, issue time, nonce and access token
    hash all check out. Raises OidcFailure("id_token_invalid") otherwise."""
    usable = [a for a in algorithms if a in ACCEPTED_ALGORITHMS]
    if not usable:
        raise OidcFailure("id_token_invalid", "the identity provider's answer is not valid")
    try:
        key_set = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        token = jwt.decode(id_token, key_set, algorithms=usable)
        claims = CodeIDToken(
            token.claims,
            token.header,
            {
                "iss": {"essential": True, "value": issuer},
                "aud": {"essential": True, "value": client_id},
                "nonce": {"essential": True, "value": nonce},
            },
            {"nonce": nonce, "client_id": client_id, "access_token": access_token},
        )
        claims.validate(now=now, leeway=CLOCK_LEEWAY_SECONDS)
    except (JoseError, ValueError, KeyError, TypeError) as bad:
        log.info("ID token from %s refused: %r", issuer, bad)
        raise OidcFailure(
            "id_token_invalid", "the identity provider's answer is not valid"
        ) from bad
    return dict(claims)


def needs_fresh_keys(failure: OidcFailure) -> bool:
    """A token signed with a key we have not seen yet: the provider may have rotated keys."""
    cause = failure.__cause__
    return failure.reason == "id_token_invalid" and type(cause).__name__ in (
        "InvalidKeyIdError",
        "MissingKeyError",
        "BadSignatureError",
    )


__all__ = [
    "OidcFailure",
    "OidcProviders",
    "ProviderMetadata",
    "authorization_url",
    "exchange_code",
    "validate_id_token",
]
