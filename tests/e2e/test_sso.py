"""Single sign-on through the whole local stack with a real OpenID Connect provider running in
this process (tests/support/oidc.py): the browser's redirects are followed by hand, from the
portal to the provider's sign-in page, back to the portal's callback, to the tokens."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from deploy.local.stack import LocalStack
from portal_contracts.topics import IDENTITY_ACCESS_EVENTS
from tests.support.kafka import collect, messages_of
from tests.support.oidc import OidcProvider, running_provider
from tests.support.portal import create_customer, invitation_email, register_merchant
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with running_provider() as running:
        yield running


class Portal:
    """One merchant with single sign-on set up at the provider, seen from a browser."""

    def __init__(
        self, stack: LocalStack, http: httpx.AsyncClient, merchant: dict[str, Any]
    ) -> None:
        self.gateway = stack.urls["gateway"]
        self.http = http
        self.merchant = merchant
        self.slug: str = merchant["slug"]
        self.api = f"{self.gateway}/portal/{self.slug}/api"
        self.admin = {"X-API-Key": merchant["api_key"]}

    @property
    def callback(self) -> str:
        return f"{self.api}/sso/callback"

    async def configure(self, **settings: Any) -> httpx.Response:
        async def saved() -> httpx.Response | None:
            response = await self.http.put(
                f"{self.gateway}/admin/v1/sso", json=settings, headers=self.admin
            )
            # Identity learns of a new merchant from an event: wait until it has.
            return None if response.status_code == 404 else response

        return await eventually(saved, timeout=30)

    async def start(self) -> str:
        started = await self.http.get(f"{self.api}/sso/start")
        assert started.status_code == 302, started.text
        return started.headers["location"]

    async def hand_off_code(self, callback_url: str) -> str:
        answer = await self.http.get(callback_url)
        assert answer.status_code == 302, answer.text
        page, _, fragment = answer.headers["location"].partition("#")
        assert page == f"{self.gateway}/portal/{self.slug}/sign-in/sso"
        assert answer.headers["cache-control"] == "no-store"
        return parse_qs(fragment)["code"][0]

    async def tokens(self, code: str) -> httpx.Response:
        return await self.http.post(f"{self.api}/sso/sessions", json={"code": code})


async def _portal_with_sso(
    stack: LocalStack, http: httpx.AsyncClient, provider: OidcProvider, name: str
) -> Portal:
    merchant = await register_merchant(http, stack.urls["gateway"], stack.operator_token, name)
    portal = Portal(stack, http, merchant)
    client_id, client_secret = provider.register_client(portal.callback)
    saved = await portal.configure(
        issuer=provider.issuer, client_id=client_id, client_secret=client_secret
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["redirect_uri"] == portal.callback
    portal.merchant["client_id"] = client_id
    return portal


async def _invited_contact(stack: LocalStack, http: httpx.AsyncClient, portal: Portal) -> str:
    email = f"grace.{uuid.uuid4().hex[:8]}@compilers.example"
    created = await create_customer(http, stack.urls["gateway"], portal.merchant["api_key"], email)
    assert created.status_code == 201, created.text
    # The invitation email means identity holds the portal user.
    await invitation_email(http, stack.urls["mailbox"], email)
    return email


def _events(records: list[Any], organisation_id: str) -> list[dict[str, Any]]:
    return messages_of(records, organisation_id)


async def test_contact_signs_in_with_the_merchants_provider_and_gets_a_portal_session(
    stack: LocalStack, http: httpx.AsyncClient, provider: OidcProvider
) -> None:
    portal = await _portal_with_sso(stack, http, provider, "Sso Travel")
    email = await _invited_contact(stack, http, portal)
    sub = f"user-{uuid.uuid4().hex[:8]}"
    provider.add_user(sub, email.upper(), email_verified=True)

    shown = await http.get(f"{portal.gateway}/admin/v1/sso", headers=portal.admin)
    assert shown.status_code == 200, shown.text
    assert shown.json()["client_secret_set"] is True
    assert "client_secret" not in shown.json()
    assert shown.json()["enabled"] is True

    authorization_url = await portal.start()
    query = parse_qs(urlsplit(authorization_url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [portal.callback]
    assert query["client_id"] == [portal.merchant["client_id"]]
    assert query["state"]
    assert query["nonce"]
    assert query["code_challenge"]

    callback_url = await provider.authorize(http, authorization_url, sub)
    assert callback_url.startswith(portal.callback)
    code = await portal.hand_off_code(callback_url)

    signed_in = await portal.tokens(code)
    assert signed_in.status_code == 201, signed_in.text
    tokens = signed_in.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"]

    async def home() -> httpx.Response | None:
        answer = await http.get(
            f"{portal.api}/home", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        return answer if answer.status_code == 200 else None

    assert (await eventually(home)).json()

    # The same sign-in cannot be played twice: not the provider's answer, not the code.
    replayed = await http.get(callback_url)
    assert replayed.status_code == 400
    assert replayed.json()["code"] == "sso_state_invalid"
    again = await portal.tokens(code)
    assert again.status_code == 400
    assert again.json()["code"] == "sso_code_invalid"

    organisation_id = portal.merchant["organisation_id"]

    def seen(records: list[Any]) -> bool:
        events = _events(records, organisation_id)
        return (
            any(e["type"] == "ContactSignedIn" for e in events)
            and any(e["type"] == "SsoConfigured" for e in events)
            and any(
                e["type"] == "SignInFailed" and e["data"]["reason"] == "sso_hand_off_invalid"
                for e in events
            )
        )

    events = _events(
        await collect(stack.kafka_bootstrap, [IDENTITY_ACCESS_EVENTS], seen), organisation_id
    )
    success = [e for e in events if e["type"] == "ContactSignedIn"]
    assert len(success) == 1
    assert success[0]["data"]["reason"] == "sso"
    assert success[0]["data"]["session_id"] == tokens["session_id"]
    reasons = {e["data"]["reason"] for e in events if e["type"] == "SignInFailed"}
    assert {"sso_state_invalid", "sso_hand_off_invalid"} <= reasons
    configured = [e for e in events if e["type"] == "SsoConfigured"]
    assert configured[0]["data"]["client_id"] == portal.merchant["client_id"]
    assert "secret" not in json.dumps(configured)


async def test_sso_refuses_what_it_cannot_vouch_for(
    stack: LocalStack, http: httpx.AsyncClient, provider: OidcProvider
) -> None:
    portal_a = await _portal_with_sso(stack, http, provider, "Sso Alpha")
    portal_b = await _portal_with_sso(stack, http, provider, "Sso Beta")
    email_a = await _invited_contact(stack, http, portal_a)
    email_b = await _invited_contact(stack, http, portal_b)
    user_a, user_b = f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
    provider.add_user(user_a, email_a)
    provider.add_user(user_b, email_b)

    # No state, or one nobody issued.
    missing = await http.get(f"{portal_a.callback}?code=abc")
    assert missing.status_code == 400
    assert missing.json()["code"] == "sso_state_missing"
    forged = await http.get(f"{portal_a.callback}?code=abc&state=forged-state-value")
    assert forged.status_code == 400
    assert forged.json()["code"] == "sso_state_invalid"

    # A's sign-in brought back to B's portal is refused there, and still works at A.
    callback_a = await provider.authorize(http, await portal_a.start(), user_a)
    on_b = await http.get(
        callback_a.replace(f"/portal/{portal_a.slug}/", f"/portal/{portal_b.slug}/")
    )
    assert on_b.status_code == 400
    assert on_b.json()["code"] == "sso_state_invalid"
    signed_in_a = await portal_a.tokens(await portal_a.hand_off_code(callback_a))
    assert signed_in_a.status_code == 201, signed_in_a.text

    # A contact of merchant A, proved by the provider, has no access to B's portal; an email
    # nobody invited gets the same answer.
    callback = await provider.authorize(http, await portal_b.start(), user_a)
    other_merchant = await http.get(callback)
    stranger_sub = f"s-{uuid.uuid4().hex[:8]}"
    provider.add_user(stranger_sub, f"{stranger_sub}@compilers.example")
    stranger = await http.get(await provider.authorize(http, await portal_b.start(), stranger_sub))
    assert other_merchant.status_code == stranger.status_code == 403
    assert other_merchant.json()["detail"] == stranger.json()["detail"]
    assert other_merchant.json()["code"] == "sso_no_portal_access"

    # An email the provider has not verified proves nothing.
    provider.add_user(user_b, email_b, email_verified=False)
    unverified = await http.get(await provider.authorize(http, await portal_b.start(), user_b))
    assert unverified.status_code == 403
    assert unverified.json()["code"] == "sso_email_unverified"
    provider.add_user(user_b, email_b, email_verified=True)

    # The person says no at the provider. This provider leaves the state out of its error
    # answer, so the portal cannot tie it to a sign-in; a compliant one sends it back.
    start_url = await portal_b.start()
    stateless = await http.get(await provider.deny(http, start_url))
    assert stateless.status_code == 400
    state = parse_qs(urlsplit(start_url).query)["state"][0]
    denied = await http.get(f"{portal_b.callback}?error=access_denied&state={state}")
    assert denied.status_code == 401
    assert denied.json()["code"] == "sso_refused"

    # Only the domains the merchant trusts this provider for.
    settings = {"issuer": provider.issuer, "client_id": portal_b.merchant["client_id"]}
    narrowed = await portal_b.configure(**settings, allowed_email_domains=["other.example"])
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["access"] == "allowed_email_domains"
    outside = await http.get(await provider.authorize(http, await portal_b.start(), user_b))
    assert outside.status_code == 403
    assert outside.json()["code"] == "sso_domain_not_allowed"
    widened = await portal_b.configure(**settings, allowed_email_domains=["compilers.example"])
    assert widened.status_code == 200, widened.text
    inside = await portal_b.hand_off_code(
        await provider.authorize(http, await portal_b.start(), user_b)
    )
    assert (await portal_b.tokens(inside)).status_code == 201

    # Switched off: no new sign-ins, and none already under way finishes.
    under_way = await provider.authorize(http, await portal_b.start(), user_b)
    disabled = await portal_b.configure(**settings, enabled=False)
    assert disabled.status_code == 200, disabled.text
    assert (await http.get(f"{portal_b.api}/sso/start")).status_code == 404
    late = await http.get(under_way)
    assert late.status_code == 404
    assert late.json()["code"] == "sso_not_enabled"

    removed = await http.delete(f"{portal_b.gateway}/admin/v1/sso", headers=portal_b.admin)
    assert removed.status_code == 204
    gone = await http.get(f"{portal_b.gateway}/admin/v1/sso", headers=portal_b.admin)
    assert gone.status_code == 404


async def test_merchant_sso_settings_need_the_merchants_key_and_never_show_the_secret(
    stack: LocalStack, http: httpx.AsyncClient, provider: OidcProvider
) -> None:
    portal = await _portal_with_sso(stack, http, provider, "Sso Gamma")
    other = await _portal_with_sso(stack, http, provider, "Sso Delta")
    sso = f"{portal.gateway}/admin/v1/sso"

    assert (await http.get(sso)).status_code == 401
    assert (await http.get(sso, headers={"X-API-Key": "not-a-key"})).status_code == 401
    assert (await http.delete(sso)).status_code == 401
    anonymous = await http.put(sso, json={"issuer": provider.issuer, "client_id": "x"})
    assert anonymous.status_code == 401

    mine = (await http.get(sso, headers=portal.admin)).json()
    theirs = (await http.get(sso, headers=other.admin)).json()
    assert mine["client_id"] == portal.merchant["client_id"]
    assert theirs["client_id"] == other.merchant["client_id"]
    assert "secret" not in json.dumps(mine).replace("client_secret_set", "")

    # A new client id needs its secret; a provider that is not an OIDC issuer is refused.
    no_secret = await portal.configure(issuer=provider.issuer, client_id="another-client")
    assert no_secret.status_code == 422
    assert no_secret.json()["code"] == "sso_client_secret_missing"
    not_an_issuer = await portal.configure(
        issuer=f"{portal.gateway}/nowhere", client_id="c", client_secret="s"
    )
    assert not_an_issuer.status_code == 422
    plain_http = await portal.configure(
        issuer="http://login.example.com", client_id="c", client_secret="s"
    )
    assert plain_http.status_code == 422
    assert plain_http.json()["code"] == "sso_issuer_invalid"
    # Nothing of that was saved.
    assert (await http.get(sso, headers=portal.admin)).json() == mine
