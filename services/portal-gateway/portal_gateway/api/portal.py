"""The customer portal's API, reached by the merchant's portal address (slug): signing in
(password, one-time code, refresh), signing out, the contact's own sessions, passwords and the
authenticator app. Credentials are checked by identity over its internal API; this gateway
checks access tokens itself with identity's public key (no call per request)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from portal_gateway.adapters.identity_client import IdentityRefusal
from portal_gateway.adapters.read_models import CustomerViews
from portal_gateway.api.client_address import client_address
from portal_gateway.api.schemas import SLUG, Credentials, InvitationAcceptance
from portal_gateway.api.security import PORTAL_DEPENDENCIES, PortalPrincipal, portal_guard
from portal_gateway.domain.preferences import require
from portal_gateway.domain.views import home_view
from portal_gateway.service_layer.context import Gateway
from portal_gateway.service_layer.merchants import merchant_for_portal
from portal_gateway.service_layer.preferences import preferences_of, settings_of
from portal_runtime.errors import NotFound
from portal_runtime.http import problem

Slug = Annotated[str, Parameter(pattern=SLUG, max_length=63)]
AnyRequest = Request[Any, Any, Any]
MFA = "multi-factor authentication"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodeStep(_Body):
    challenge: str = Field(min_length=10, max_length=200)
    code: str = Field(min_length=6, max_length=32, description="6 digits, or a recovery code")


class ChallengeOnly(_Body):
    challenge: str = Field(min_length=10, max_length=200)


class RefreshRequest(_Body):
    refresh_token: str = Field(min_length=10, max_length=200)


class ForgotPassword(_Body):
    email: EmailStr


class ResetPassword(_Body):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class PasswordChange(_Body):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class OneTimeCode(_Body):
    code: str = Field(min_length=6, max_length=32)


class MfaRemoval(_Body):
    password: str = Field(min_length=1, max_length=1024)
    code: str = Field(min_length=6, max_length=32, description="6 digits, or a recovery code")


def _refused(_: AnyRequest, exc: IdentityRefusal) -> Response[dict[str, Any]]:
    """Identity's refusal as a problem response; a lockout keeps its Retry-After."""
    extra: dict[str, Any] = {"code": exc.code}
    if exc.retry_after is not None:
        extra["retry_after"] = exc.retry_after
    answer = problem(exc.status, exc.code.replace("_", " "), exc.detail, **extra)
    if exc.retry_after is not None:
        answer.headers["Retry-After"] = str(exc.retry_after)
    return answer


def _client(request: AnyRequest) -> dict[str, str]:
    return {
        "ip": client_address(request.scope),
        "user_agent": request.headers.get("user-agent", "")[:512],
        "correlation_id": uuid.uuid4().hex,
    }


def _as_contact(principal: PortalPrincipal, request: AnyRequest) -> dict[str, str]:
    return {
        "organisation_id": principal.organisation_id,
        "customer_id": principal.customer_id,
        "contact_id": principal.contact_id,
        "session_id": principal.session_id,
        **_client(request),
    }


def controllers(gateway: Gateway) -> list[type[Controller]]:
    async def portal(slug: str) -> dict[str, Any]:
        merchant = await merchant_for_portal(gateway, slug)
        if merchant is None:
            raise NotFound(f"there is no portal at '{slug}'")
        return merchant

    async def require_mfa_enabled(organisation_id: str) -> None:
        prefs = await preferences_of(gateway, organisation_id)
        require(prefs.portal.multi_factor_authentication, MFA)

    class PortalController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal"]
        exception_handlers = {IdentityRefusal: _refused}

        @post("/invitations/accept", status_code=200)
        async def accept_invitation(self, slug: Slug, data: InvitationAcceptance) -> dict[str, Any]:
            """Set the first password with the token from the invitation email."""
            await portal(slug)
            await gateway.identity.call(
                "/internal/v1/invitations/accept",
                {
                    "portal_slug": slug,
                    "token": data.token,
                    "password": data.password,
                    "correlation_id": uuid.uuid4().hex,
                },
            )
            return {"status": "accepted"}

        @post("/sessions", status_code=201)
        async def sign_in(
            self, slug: Slug, data: Credentials, request: AnyRequest
        ) -> Response[dict[str, Any]]:
            """Sign in with email and password. Answers 201 with an access and a refresh
            token, or, when the merchant asks for a second factor, 200 with
            `mfa_required` and a short-lived `challenge` for `POST sessions/mfa`
            (`enrolment_required`: set up the authenticator app first). Too many failures
            answer 429 with Retry-After."""
            merchant = await portal(slug)
            prefs = await preferences_of(gateway, str(merchant["_id"]))
            status, answer = await gateway.identity.exchange(
                "/internal/v1/sessions",
                {
                    "portal_slug": slug,
                    "email": data.email,
                    "password": data.password,
                    "mfa_required": prefs.portal.multi_factor_authentication,
                    **_client(request),
                },
            )
            return Response(answer, status_code=status)

        # Beside the public `POST sessions` (one path may not span two controllers), so
        # guarded here rather than by the controller.
        @get(
            "/sessions",
            guards=[portal_guard(gateway)],
            dependencies=PORTAL_DEPENDENCIES,
            security=[{"BearerToken": []}],
        )
        async def list_sessions(
            self, slug: Slug, principal: PortalPrincipal, request: AnyRequest
        ) -> dict[str, Any]:
            """Your signed-in sessions (devices): when they started and were last used, from
            where; `current` marks this one."""
            return await gateway.identity.call(
                "/internal/v1/sessions/list", _as_contact(principal, request)
            )

        @post("/sessions/mfa", status_code=201)
        async def sign_in_with_code(
            self, slug: Slug, data: CodeStep, request: AnyRequest
        ) -> dict[str, Any]:
            """The second step: a code from the authenticator app (or a recovery code) with
            the challenge; answers the tokens (and, after a first set-up, the recovery
            codes, shown this once)."""
            await portal(slug)
            return await gateway.identity.call(
                "/internal/v1/sessions/mfa",
                {"portal_slug": slug, "challenge": data.challenge, "code": data.code}
                | _client(request),
            )

        @post("/sessions/mfa/enrolment", status_code=200)
        async def enrol_while_signing_in(
            self, slug: Slug, data: ChallengeOnly, request: AnyRequest
        ) -> dict[str, Any]:
            """Set up the authenticator app during sign-in (`enrolment_required`): answers
            the secret, its otpauth URI and a QR code to scan; then `POST sessions/mfa`."""
            await portal(slug)
            return await gateway.identity.call(
                "/internal/v1/sessions/mfa/enrolment",
                {"portal_slug": slug, "challenge": data.challenge} | _client(request),
            )

        @post("/sessions/refresh", status_code=201)
        async def refresh(
            self, slug: Slug, data: RefreshRequest, request: AnyRequest
        ) -> dict[str, Any]:
            """A new access token and a new refresh token for a refresh token, which stops
            working. Using a refresh token a second time ends its session."""
            await portal(slug)
            return await gateway.identity.call(
                "/internal/v1/sessions/refresh",
                {"portal_slug": slug, "refresh_token": data.refresh_token} | _client(request),
            )

        @post("/password/forgot", status_code=202)
        async def forgot_password(
            self, slug: Slug, data: ForgotPassword, request: AnyRequest
        ) -> dict[str, str]:
            """Email a password reset link. The answer is the same whether or not the email
            belongs to a contact of this portal."""
            await portal(slug)
            await gateway.identity.call(
                "/internal/v1/password/forgot",
                {"portal_slug": slug, "email": data.email} | _client(request),
            )
            return {"status": "if this email belongs to an account, a reset link is on its way"}

        @post("/password/reset", status_code=200)
        async def reset_password(
            self, slug: Slug, data: ResetPassword, request: AnyRequest
        ) -> dict[str, str]:
            """Set a new password with the token from the reset email (once; it expires).
            Every session of the contact ends."""
            await portal(slug)
            await gateway.identity.call(
                "/internal/v1/password/reset",
                {"portal_slug": slug, "token": data.token, "password": data.password}
                | _client(request),
            )
            return {"status": "reset"}

    class SessionsController(Controller):
        """What a signed-in contact does with their own sessions and credentials."""

        path = "/portal/{slug:str}/api"
        tags = ["portal"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]
        exception_handlers = {IdentityRefusal: _refused}

        @delete("/sessions/{session_id:str}", status_code=204)
        async def end_session(
            self, slug: Slug, session_id: str, principal: PortalPrincipal, request: AnyRequest
        ) -> None:
            """Sign out (`current`) or end another of your sessions; its access token stops
            working at once."""
            target = principal.session_id if session_id == "current" else session_id
            await gateway.identity.call(
                "/internal/v1/sessions/end",
                {"target_session_id": target} | _as_contact(principal, request),
            )

        @post("/password", status_code=200)
        async def change_password(
            self, slug: Slug, data: PasswordChange, principal: PortalPrincipal, request: AnyRequest
        ) -> dict[str, Any]:
            """Change your password (the current one is needed); every other session ends."""
            return await gateway.identity.call(
                "/internal/v1/password/change",
                {"current_password": data.current_password, "new_password": data.new_password}
                | _as_contact(principal, request),
            )

        @get("/mfa")
        async def mfa_status(
            self, slug: Slug, principal: PortalPrincipal, request: AnyRequest
        ) -> dict[str, Any]:
            """Whether an authenticator app is set up and how many recovery codes are left."""
            await require_mfa_enabled(principal.organisation_id)
            return await gateway.identity.call(
                "/internal/v1/mfa/status", _as_contact(principal, request)
            )

        @post("/mfa/enrolment", status_code=200)
        async def start_mfa(
            self, slug: Slug, principal: PortalPrincipal, request: AnyRequest
        ) -> dict[str, Any]:
            """Start setting up an authenticator app: the secret, its otpauth URI and a QR
            code (SVG data URI). Confirm with a first code."""
            await require_mfa_enabled(principal.organisation_id)
            return await gateway.identity.call(
                "/internal/v1/mfa/enrolment", _as_contact(principal, request)
            )

        @post("/mfa/enrolment/confirm", status_code=200)
        async def confirm_mfa(
            self, slug: Slug, data: OneTimeCode, principal: PortalPrincipal, request: AnyRequest
        ) -> dict[str, Any]:
            """Finish the set-up with the app's current code; answers ten single-use
            recovery codes, shown this once."""
            await require_mfa_enabled(principal.organisation_id)
            return await gateway.identity.call(
                "/internal/v1/mfa/enrolment/confirm",
                {"code": data.code} | _as_contact(principal, request),
            )

        @post("/mfa/recovery-codes", status_code=200)
        async def new_recovery_codes(
            self, slug: Slug, data: OneTimeCode, principal: PortalPrincipal, request: AnyRequest
        ) -> dict[str, Any]:
            """Replace all recovery codes (a current code is needed)."""
            await require_mfa_enabled(principal.organisation_id)
            return await gateway.identity.call(
                "/internal/v1/mfa/recovery-codes",
                {"code": data.code} | _as_contact(principal, request),
            )

        @post("/mfa/removal", status_code=200)
        async def remove_mfa(
            self, slug: Slug, data: MfaRemoval, principal: PortalPrincipal, request: AnyRequest
        ) -> dict[str, Any]:
            """Remove the authenticator app (password and a current or recovery code)."""
            await require_mfa_enabled(principal.organisation_id)
            return await gateway.identity.call(
                "/internal/v1/mfa/removal",
                {"password": data.password, "code": data.code} | _as_contact(principal, request),
            )

    class HomeController(Controller):
        path = "/portal/{slug:str}/api"
        tags = ["portal"]
        guards = [portal_guard(gateway)]
        dependencies = PORTAL_DEPENDENCIES
        security = [{"BearerToken": []}]

        @get("/home")
        async def home(
            self, slug: Slug, principal: PortalPrincipal, merchant: dict[str, Any]
        ) -> dict[str, Any]:
            """The signed-in contact's dashboard: the portal's banner and tabs, their account and
            contact persons, the merchant's contact details, what is owed (open invoices soonest
            due first), unused credits, the last payment and the quotes awaiting an answer."""
            customer = await CustomerViews(gateway.store.db).get(
                principal.organisation_id, principal.customer_id
            )
            if customer is None:
                raise NotFound("your account is still being set up; try again in a moment")
            saved = await settings_of(gateway, principal.organisation_id)
            return home_view(customer, merchant, principal.contact_id, saved)

    return [PortalController, SessionsController, HomeController]
