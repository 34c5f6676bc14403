"""Single sign-on with a merchant's OpenID Connect provider: the merchant's configuration, and
a contact's sign-in in three steps.

1. `start_sign_in`: a fresh state, nonce and PKCE verifier are kept here (the state only as
   a digest, the verifier sealed) for a few minutes; the browser goes to the provider.
2. `finish_sign_in` (the provider's redirect back): the state is taken once, on the portal
   that started it; the code is exchanged, the ID token checked, the verified email mapped to
   a portal user the merchant already gave access to. The answer is a one-time hand-off code
   (60 s), never tokens, because this step runs in a browser navigation.
3. `redeem_hand_off`: the portal page trades that code for the same access and refresh
   tokens a password sign-in gives.

Every success and refusal of steps 2 and 3 is a `ContactSignedIn` / `SignInFailed` event on
identity.access-events with a reason starting with "sso"."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from authlib.common.security import generate_token

from identity.adapters import oidc
from identity.adapters.repositories import Merchants, PortalUsers
from identity.adapters.sso_repositories import (
    SsoAttempts,
    SsoConfigurations,
    SsoHandoffs,
    SsoLinks,
)
from identity.domain.sso import (
    SSO_USABLE_STATUSES,
    SsoConfiguration,
    SsoRefused,
    check_may_enter,
    email_domains,
    issuer_url,
    provider_used_multi_factor,
    verified_email,
)
from identity.service_layer.context import Identity
from identity.service_layer.sessions import Client, TokenPair, start_session
from portal_contracts.envelope import Actor
from portal_contracts.identity import ContactSignedIn, SignInFacts, SignInFailed
from portal_contracts.sso import SsoConfigured, SsoProviderRef, SsoRemoved, SsoSettings
from portal_contracts.topics import IDENTITY_ACCESS_EVENTS
from portal_runtime.errors import Forbidden, NotFound, ServiceError, Unauthorised
from portal_runtime.sealing import token_digest
from portal_runtime.store import Transaction

log = logging.getLogger(__name__)

SSO_METHOD = "sso"


class SsoRequestInvalid(ServiceError):
    status = 400
    code = "sso_request_invalid"


class SsoConfigurationInvalid(ServiceError):
    status = 422
    code = "sso_configuration_invalid"


class SsoProviderUnavailable(ServiceError):
    status = 502
    code = "sso_provider_unavailable"


@dataclass(frozen=True)
class SingleSignOn:
    identity: Identity
    providers: oidc.OidcProviders


def allow_private_issuers(identity: Identity) -> bool:
    configured = identity.settings.sso_allow_private_issuers
    return identity.settings.profile == "local" if configured is None else configured


def redirect_uri(identity: Identity, portal_slug: str) -> str:
    """The callback the merchant registers at their provider (it moves with the portal)."""
    return f"{identity.settings.public_url.rstrip('/')}/portal/{portal_slug}/api/sso/callback"


# -- the merchant's configuration ------------------------------------------------------------


async def save_configuration(
    sso: SingleSignOn,
    organisation_id: str,
    *,
    issuer: str,
    client_id: str,
    client_secret: str | None,
    allowed_email_domains: list[str],
    enabled: bool,
    correlation_id: str,
) -> dict[str, Any]:
    identity = sso.identity
    merchant = await _merchant_by_id(identity, organisation_id)
    configurations = SsoConfigurations(identity.store.db)
    current = await configurations.of(organisation_id)
    try:
        issuer = issuer_url(issuer, allow_private_issuers(identity))
        domains = email_domains(allowed_email_domains)
    except SsoRefused as refused:
        raise SsoConfigurationInvalid(refused.detail, code=f"sso_{refused.reason}") from refused
    if client_secret:
        sealed_secret = identity.sealer.seal(client_secret)
    elif current is not None and current.client_id == client_id and current.issuer == issuer:
        sealed_secret = current.sealed_client_secret
    else:
        raise SsoConfigurationInvalid(
            "client_secret is required for a new provider or client id",
            code="sso_client_secret_missing",
        )
    if enabled:
        # Fail while the merchant is looking, not when a customer tries to sign in.
        try:
            await sso.providers.metadata(issuer)
        except oidc.OidcFailure as failure:
            raise SsoConfigurationInvalid(
                f"the issuer cannot be used: {failure.detail}", code=f"sso_{failure.reason}"
            ) from failure
    configuration = SsoConfiguration(
        organisation_id=organisation_id,
        issuer=issuer,
        client_id=client_id,
        sealed_client_secret=sealed_secret,
        allowed_email_domains=domains,
        enabled=enabled,
        updated_at=identity.store.clock.now(),
    )

    async def work(tx: Transaction) -> None:
        await SsoConfigurations(tx.db, tx.session).save(configuration)
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            SsoConfigured(
                organisation_id=organisation_id,
                correlation_id=correlation_id,
                occurred_at=configuration.updated_at,
                actor=Actor(kind="merchant", id=organisation_id),
                data=SsoSettings(
                    issuer=issuer,
                    client_id=client_id,
                    allowed_email_domains=domains,
                    enabled=enabled,
                ),
            ),
        )

    await identity.store.transaction(work)
    log.info("sso configuration of %s saved (enabled=%s)", organisation_id, enabled)
    return configuration.view(redirect_uri(identity, merchant["portal_slug"]))


async def read_configuration(sso: SingleSignOn, organisation_id: str) -> dict[str, Any]:
    merchant = await _merchant_by_id(sso.identity, organisation_id)
    configuration = await SsoConfigurations(sso.identity.store.db).of(organisation_id)
    if configuration is None:
        raise NotFound("single sign-on is not configured", code="sso_not_configured")
    return configuration.view(redirect_uri(sso.identity, merchant["portal_slug"]))


async def remove_configuration(
    sso: SingleSignOn, organisation_id: str, correlation_id: str
) -> None:
    identity = sso.identity
    current = await SsoConfigurations(identity.store.db).of(organisation_id)
    if current is None:
        raise NotFound("single sign-on is not configured", code="sso_not_configured")

    async def work(tx: Transaction) -> None:
        if not await SsoConfigurations(tx.db, tx.session).remove(organisation_id):
            raise NotFound("single sign-on is not configured", code="sso_not_configured")
        # Starting over with a provider starts over with its accounts too.
        await SsoLinks(tx.db, tx.session).forget_organisation(organisation_id)
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            SsoRemoved(
                organisation_id=organisation_id,
                correlation_id=correlation_id,
                occurred_at=identity.store.clock.now(),
                actor=Actor(kind="merchant", id=organisation_id),
                data=SsoProviderRef(issuer=current.issuer),
            ),
        )

    await identity.store.transaction(work)


# -- a contact's sign-in -------------------------------------------------------------------------


async def start_sign_in(sso: SingleSignOn, portal_slug: str) -> str:
    """The provider's authorization URL for a new attempt on this portal."""
    identity = sso.identity
    merchant = await _merchant_by_slug(identity, portal_slug)
    configuration = await _enabled_configuration(identity, merchant["_id"])
    metadata = await _metadata(sso, configuration)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    code_verifier = generate_token(64)
    now = identity.store.clock.now()
    await SsoAttempts(identity.store.db).add(
        token_digest(state),
        merchant["_id"],
        nonce,
        identity.sealer.seal(code_verifier),
        configuration.issuer,
        now,
        now + timedelta(minutes=identity.settings.sso_attempt_minutes),
    )
    return await oidc.authorization_url(
        metadata,
        configuration.client_id,
        redirect_uri(identity, portal_slug),
        state,
        nonce,
        code_verifier,
    )


async def finish_sign_in(
    sso: SingleSignOn,
    portal_slug: str,
    *,
    state: str | None,
    code: str | None,
    error: str | None,
    caller: Client,
) -> tuple[str, int]:
    """(one-time hand-off code, its lifetime in seconds) for the provider's redirect back."""
    identity = sso.identity
    merchant = await _merchant_by_slug(identity, portal_slug)
    organisation_id: str = merchant["_id"]
    refusal = _Refusals(identity, organisation_id, caller)
    if not state:
        await refusal.record("state_missing")
        raise SsoRequestInvalid("the sign-in has no state; start again", code="sso_state_missing")
    attempt = await SsoAttempts(identity.store.db).take(token_digest(state), organisation_id)
    now = identity.store.clock.now()
    if attempt is None:
        await refusal.record("state_invalid")
        raise SsoRequestInvalid(
            "this sign-in link is not valid here or was already used; start again",
            code="sso_state_invalid",
        )
    if attempt["expires_at"] <= now:
        await refusal.record("state_expired")
        raise SsoRequestInvalid("this sign-in took too long; start again", code="sso_state_expired")
    configuration = await SsoConfigurations(identity.store.db).of(organisation_id)
    if configuration is None or not configuration.enabled:
        await refusal.record("disabled")
        raise NotFound("single sign-on is not enabled for this portal", code="sso_not_enabled")
    if configuration.issuer != attempt["issuer"]:
        await refusal.record("provider_changed")
        raise SsoRequestInvalid(
            "the portal's sign-in provider changed; start again", code="sso_state_invalid"
        )
    if error:
        await refusal.record("provider_refused")
        raise Unauthorised("the identity provider did not sign you in", code="sso_refused")
    if not code:
        await refusal.record("code_missing")
        raise SsoRequestInvalid("the identity provider sent no code", code="sso_code_missing")

    try:
        claims = await _verified_claims(
            sso,
            configuration,
            code=code,
            code_verifier=identity.sealer.open(attempt["sealed_code_verifier"]),
            nonce=attempt["nonce"],
            redirect=redirect_uri(identity, portal_slug),
        )
    except oidc.OidcFailure as failure:
        await refusal.record(failure.reason)
        if failure.reason in ("provider_unreachable", "provider_invalid"):
            raise SsoProviderUnavailable(failure.detail) from failure
        raise Unauthorised(failure.detail, code=f"sso_{failure.reason}") from failure

    try:
        email = verified_email(claims)
        user = check_may_enter(
            configuration,
            email,
            await PortalUsers(identity.store.db).by_email(organisation_id, email),
        )
    except SsoRefused as refused:
        await refusal.record(refused.reason)
        raise Forbidden(refused.detail, code=f"sso_{refused.reason}") from refused
    subject = str(claims["sub"])
    linked = await SsoLinks(identity.store.db).subject_of(
        organisation_id, user["customer_id"], user["contact_id"], configuration.issuer
    )
    if linked is not None and linked != subject:
        await refusal.record("subject_changed", user["customer_id"], user["contact_id"])
        raise Forbidden(
            "this email belongs to another account at the identity provider; "
            "ask the merchant to reset single sign-on",
            code="sso_subject_changed",
        )

    hand_off = secrets.token_urlsafe(32)
    lifetime = identity.settings.sso_handoff_seconds
    await SsoHandoffs(identity.store.db).add(
        token_digest(hand_off),
        {
            "organisation_id": organisation_id,
            "customer_id": user["customer_id"],
            "contact_id": user["contact_id"],
            "issuer": configuration.issuer,
            "subject": subject,
            "multi_factor": provider_used_multi_factor(claims),
            "created_at": now,
            "expires_at": now + timedelta(seconds=lifetime),
        },
    )
    return hand_off, lifetime


async def redeem_hand_off(
    sso: SingleSignOn, portal_slug: str, hand_off: str, caller: Client
) -> TokenPair:
    """The session tokens for a hand-off code from `finish_sign_in`, once."""
    identity = sso.identity
    merchant = await _merchant_by_slug(identity, portal_slug)
    organisation_id: str = merchant["_id"]
    refusal = _Refusals(identity, organisation_id, caller)
    grant = await SsoHandoffs(identity.store.db).take(token_digest(hand_off), organisation_id)
    now = identity.store.clock.now()
    if grant is None or grant["expires_at"] <= now:
        await refusal.record("hand_off_invalid")
        raise SsoRequestInvalid(
            "this sign-in code is not valid or was already used; start again",
            code="sso_code_invalid",
        )
    # Access may have been taken away since the provider's answer.
    user = await PortalUsers(identity.store.db).by_contact(
        organisation_id, grant["customer_id"], grant["contact_id"]
    )
    if user is None or user.get("status") not in SSO_USABLE_STATUSES:
        await refusal.record("no_portal_access", grant["customer_id"], grant["contact_id"])
        raise Forbidden("this email has no access to this portal", code="sso_no_portal_access")

    async def record_success(tx: Transaction) -> TokenPair:
        await SsoLinks(tx.db, tx.session).link(
            organisation_id,
            grant["customer_id"],
            grant["contact_id"],
            grant["issuer"],
            grant["subject"],
            now,
        )
        signed_in = await start_session(
            identity, tx, user, caller, now, second_factor=bool(grant.get("multi_factor"))
        )
        await tx.emit(
            IDENTITY_ACCESS_EVENTS,
            ContactSignedIn(
                organisation_id=organisation_id,
                correlation_id=caller.correlation_id,
                occurred_at=now,
                actor=Actor(kind="contact", id=grant["contact_id"]),
                data=SignInFacts(
                    customer_id=grant["customer_id"],
                    contact_id=grant["contact_id"],
                    session_id=signed_in.session_id,
                    outcome="succeeded",
                    **caller.facts(),
                    reason=SSO_METHOD,
                ),
            ),
        )
        return signed_in

    signed_in = await identity.store.transaction(record_success)
    if signed_in is None:  # only a repeated message returns nothing; this is no message
        raise RuntimeError("the sign-in transaction returned nothing")
    return signed_in


# -- helpers ----------------------------------------------------------------------------------


class _Refusals:
    def __init__(self, identity: Identity, organisation_id: str, caller: Client) -> None:
        self.identity = identity
        self.organisation_id = organisation_id
        self.caller = caller

    async def record(
        self, reason: str, customer_id: str | None = None, contact_id: str | None = None
    ) -> None:
        event = SignInFailed(
            organisation_id=self.organisation_id,
            correlation_id=self.caller.correlation_id,
            occurred_at=self.identity.store.clock.now(),
            data=SignInFacts(
                customer_id=customer_id,
                contact_id=contact_id,
                outcome="failed",
                **self.caller.facts(),
                reason=f"{SSO_METHOD}_{reason}",
            ),
        )

        async def work(tx: Transaction) -> None:
            await tx.emit(IDENTITY_ACCESS_EVENTS, event)

        await self.identity.store.transaction(work)


async def _verified_claims(
    sso: SingleSignOn,
    configuration: SsoConfiguration,
    *,
    code: str,
    code_verifier: str,
    nonce: str,
    redirect: str,
) -> dict[str, Any]:
    metadata = await sso.providers.metadata(configuration.issuer)
    token = await oidc.exchange_code(
        metadata,
        configuration.client_id,
        sso.identity.sealer.open(configuration.sealed_client_secret),
        redirect,
        code,
        code_verifier,
    )
    access_token = token.get("access_token")

    def validate(jwks: dict[str, Any]) -> dict[str, Any]:
        return oidc.validate_id_token(
            token["id_token"],
            jwks,
            issuer=configuration.issuer,
            client_id=configuration.client_id,
            nonce=nonce,
            access_token=access_token if isinstance(access_token, str) else None,
            algorithms=metadata.algorithms,
            now=int(sso.identity.store.clock.now().timestamp()),
        )

    try:
        return validate(await sso.providers.key_set(metadata))
    except oidc.OidcFailure as failure:
        if not oidc.needs_fresh_keys(failure):
            raise
        return validate(await sso.providers.key_set(metadata, refresh=True))


async def _metadata(sso: SingleSignOn, configuration: SsoConfiguration) -> oidc.ProviderMetadata:
    try:
        return await sso.providers.metadata(configuration.issuer)
    except oidc.OidcFailure as failure:
        raise SsoProviderUnavailable(
            "the portal's sign-in provider cannot be reached; try again"
        ) from failure


async def _enabled_configuration(identity: Identity, organisation_id: str) -> SsoConfiguration:
    configuration = await SsoConfigurations(identity.store.db).of(organisation_id)
    if configuration is None or not configuration.enabled:
        raise NotFound("single sign-on is not enabled for this portal", code="sso_not_enabled")
    return configuration


async def _merchant_by_slug(identity: Identity, portal_slug: str) -> dict[str, Any]:
    merchant = await Merchants(identity.store.db).by_slug(portal_slug)
    if merchant is None:
        raise NotFound(f"there is no portal at '{portal_slug}'")
    return merchant


async def _merchant_by_id(identity: Identity, organisation_id: str) -> dict[str, Any]:
    merchant = await Merchants(identity.store.db).by_id(organisation_id)
    if merchant is None:
        raise NotFound("this merchant is not known to identity yet; try again in a moment")
    return merchant
