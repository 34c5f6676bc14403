"""Identity's single sign-on use cases on the real database with a movable clock and a real
provider in this process: what expires, what is single use, and that access is checked again
when the one-time code is traded for tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from identity.adapters.oidc import OidcProviders
from identity.adapters.repositories import Merchants, PortalUsers, ensure_indexes
from identity.adapters.sso_repositories import ensure_indexes as ensure_sso_indexes
from identity.app import build
from identity.service_layer import sso
from identity.service_layer.sessions import Client
from identity.settings import IdentitySettings
from portal_runtime.clock import MovableClock
from portal_runtime.errors import Forbidden, ServiceError
from tests.support.oidc import OidcProvider, running_provider

pytestmark = pytest.mark.component
ORG, SLUG = "org_sso", "sso-tea"
EMAIL = "ana@tea.example"
CALLER = Client(ip="203.0.113.9", user_agent="test", correlation_id="c-1")


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with running_provider() as running:
        running.add_user("ana", EMAIL)
        yield running


@pytest.fixture
async def single_sign_on(
    mongo_uri: str, database_name: str, provider: OidcProvider
) -> AsyncIterator[tuple[sso.SingleSignOn, MovableClock]]:
    # The provider stamps tokens with the real time, so the clock starts there.
    clock = MovableClock(datetime.now(UTC))
    runtime, identity = build(
        IdentitySettings(mongo_uri=mongo_uri, mongo_database=database_name), clock
    )
    await runtime.store.ensure_indexes()
    await ensure_indexes(runtime.store.db)
    await ensure_sso_indexes(runtime.store.db)
    await Merchants(runtime.store.db).save(ORG, "Tea Co", SLUG)
    await PortalUsers(runtime.store.db).invite(ORG, "cus_1", "ct_1", EMAIL, "Ana", clock.now())
    service = sso.SingleSignOn(identity, OidcProviders(allow_private_hosts=True))
    client_id, secret = provider.register_client(sso.redirect_uri(identity, SLUG))
    await sso.save_configuration(
        service,
        ORG,
        issuer=provider.issuer,
        client_id=client_id,
        client_secret=secret,
        allowed_email_domains=[],
        enabled=True,
        correlation_id="setup",
    )
    yield service, clock
    await runtime.mongo.close()


async def _provider_answer(service: sso.SingleSignOn, provider: OidcProvider) -> dict[str, str]:
    url = await sso.start_sign_in(service, SLUG)
    async with httpx.AsyncClient() as http:
        back = await provider.authorize(http, url, "ana")
    return {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}


async def _finish(service: sso.SingleSignOn, answer: dict[str, str]) -> tuple[str, int]:
    return await sso.finish_sign_in(
        service,
        SLUG,
        state=answer.get("state"),
        code=answer.get("code"),
        error=answer.get("error"),
        caller=CALLER,
    )


async def test_a_sign_in_left_at_the_provider_too_long_must_start_again(
    single_sign_on: tuple[sso.SingleSignOn, MovableClock], provider: OidcProvider
) -> None:
    service, clock = single_sign_on
    answer = await _provider_answer(service, provider)
    clock.advance(timedelta(minutes=10, seconds=1))
    with pytest.raises(ServiceError) as expired:
        await _finish(service, answer)
    assert expired.value.code == "sso_state_expired"
    # And it is gone, not merely late.
    with pytest.raises(ServiceError) as again:
        await _finish(service, answer)
    assert again.value.code == "sso_state_invalid"


async def test_the_one_time_code_lasts_a_minute_and_works_once(
    single_sign_on: tuple[sso.SingleSignOn, MovableClock], provider: OidcProvider
) -> None:
    service, clock = single_sign_on
    code, lifetime = await _finish(service, await _provider_answer(service, provider))
    assert lifetime == 60
    clock.advance(timedelta(seconds=61))
    with pytest.raises(ServiceError) as late:
        await sso.redeem_hand_off(service, SLUG, code, CALLER)
    assert late.value.code == "sso_code_invalid"

    fresh, _ = await _finish(service, await _provider_answer(service, provider))
    tokens = await sso.redeem_hand_off(service, SLUG, fresh, CALLER)
    assert tokens.access_token
    assert tokens.refresh_token
    session = await service.identity.store.db["sessions"].find_one({"_id": tokens.session_id})
    assert session is not None
    assert (session["organisation_id"], session["customer_id"]) == (ORG, "cus_1")
    assert session["ip"] == CALLER.ip
    with pytest.raises(ServiceError) as twice:
        await sso.redeem_hand_off(service, SLUG, fresh, CALLER)
    assert twice.value.code == "sso_code_invalid"


async def test_access_taken_away_after_the_provider_answered_is_respected(
    single_sign_on: tuple[sso.SingleSignOn, MovableClock], provider: OidcProvider
) -> None:
    service, _ = single_sign_on
    code, _ = await _finish(service, await _provider_answer(service, provider))
    await service.identity.store.db["portal_users"].update_one(
        {"organisation_id": ORG, "contact_id": "ct_1"}, {"$set": {"status": "disabled"}}
    )
    with pytest.raises(Forbidden) as refused:
        await sso.redeem_hand_off(service, SLUG, code, CALLER)
    assert refused.value.code == "sso_no_portal_access"


async def test_the_client_secret_is_sealed_at_rest(
    single_sign_on: tuple[sso.SingleSignOn, MovableClock], provider: OidcProvider
) -> None:
    service, _ = single_sign_on
    stored = await service.identity.store.db["sso_configurations"].find_one({"_id": ORG})
    assert stored is not None
    sealed = stored["sealed_client_secret"]
    secret = service.identity.sealer.open(sealed)
    assert secret
    assert secret not in str(stored)
    view = await sso.read_configuration(service, ORG)
    assert secret not in str(view)
    assert view["client_secret_set"] is True


async def test_an_email_reassigned_at_the_provider_does_not_take_over_the_portal_user(
    single_sign_on: tuple[sso.SingleSignOn, MovableClock], provider: OidcProvider
) -> None:
    service, _ = single_sign_on
    first, _ = await _finish(service, await _provider_answer(service, provider))
    assert (await sso.redeem_hand_off(service, SLUG, first, CALLER)).access_token

    # Someone else now holds the address at the provider (a new account, a new subject).
    provider.add_user("ana-successor", EMAIL)
    url = await sso.start_sign_in(service, SLUG)
    async with httpx.AsyncClient() as http:
        back = await provider.authorize(http, url, "ana-successor")
    answer = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    with pytest.raises(Forbidden) as refused:
        await _finish(service, answer)
    assert refused.value.code == "sso_subject_changed"

    # The original account still signs in.
    again, _ = await _finish(service, await _provider_answer(service, provider))
    assert (await sso.redeem_hand_off(service, SLUG, again, CALLER)).access_token
