"""Identity's internal HTTP API, called by the portal gateway only.

Credentials go over this synchronous call rather than Kafka so that passwords and fresh
tokens are never written to a retained log (docs/decisions.md). Routes acting for a signed-in
contact take the principal the gateway read from a valid access token."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard
from pydantic import BaseModel, ConfigDict, EmailStr, Field, SecretStr

from identity.service_layer import mfa, passwords, sessions
from identity.service_layer.context import Identity
from identity.service_layer.sessions import Client, Principal
from identity.service_layer.signing_in import (
    LockedOut,
    accept_invitation,
    enrol_during_sign_in,
    merchant_of,
    sign_in,
    sign_in_with_code,
)
from portal_runtime.errors import Unauthorised
from portal_runtime.http import problem
from portal_runtime.sealing import same_secret

SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
ID = Field(min_length=1, max_length=64)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _FromClient(_Body):
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)
    correlation_id: str = Field(min_length=1, max_length=128)

    def client(self) -> Client:
        return Client(ip=self.ip, user_agent=self.user_agent, correlation_id=self.correlation_id)


class _AsContact(_FromClient):
    organisation_id: str = ID
    customer_id: str = ID
    contact_id: str = ID
    session_id: str = ID

    def principal(self) -> Principal:
        return Principal(
            organisation_id=self.organisation_id,
            customer_id=self.customer_id,
            contact_id=self.contact_id,
            session_id=self.session_id,
        )


class AcceptInvitation(_Body):
    portal_slug: str = Field(pattern=SLUG)
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=1024)
    correlation_id: str = Field(min_length=1, max_length=128)


class SignIn(_FromClient):
    portal_slug: str = Field(pattern=SLUG)
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)
    # The merchant's "multi-factor authentication" preference, read by the gateway.
    mfa_required: bool = False


class CodeStep(_FromClient):
    portal_slug: str = Field(pattern=SLUG)
    challenge: str = Field(min_length=10, max_length=200)
    code: str = Field(min_length=6, max_length=32)


class ChallengeEnrolment(_FromClient):
    portal_slug: str = Field(pattern=SLUG)
    challenge: str = Field(min_length=10, max_length=200)


class Refresh(_FromClient):
    portal_slug: str = Field(pattern=SLUG)
    refresh_token: str = Field(min_length=10, max_length=200)


class ForgotPassword(_FromClient):
    portal_slug: str = Field(pattern=SLUG)
    email: EmailStr


class ResetPassword(_FromClient):
    portal_slug: str = Field(pattern=SLUG)
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class ContactOnly(_AsContact):
    pass


class EndSession(_AsContact):
    target_session_id: str = ID


class ChangePassword(_AsContact):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class ConfirmCode(_AsContact):
    code: str = Field(min_length=6, max_length=32)


class RemoveMfa(_AsContact):
    password: str = Field(min_length=1, max_length=1024)
    code: str = Field(min_length=6, max_length=32)


def internal_token_guard(expected: SecretStr) -> Guard:
    """Only a caller holding the shared secret (the gateway) may use the internal API: the
    network alone is not trusted. Constant-time compare; an empty setting refuses everyone."""
    secret = expected.get_secret_value()

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        presented = connection.headers.get("x-internal-token", "")
        if not secret or not same_secret(presented, secret):
            raise Unauthorised(
                "this internal API needs the X-Internal-Token of the deployment",
                code="internal_token_invalid",
            )

    return guard


def _locked_out(_: Request[Any, Any, Any], exc: LockedOut) -> Response[dict[str, Any]]:
    answer = problem(
        exc.status, "too many requests", exc.detail, code=exc.code, retry_after=exc.retry_after
    )
    answer.headers["Retry-After"] = str(exc.retry_after)
    return answer


def controller(identity: Identity) -> type[Controller]:
    class CredentialsController(Controller):
        path = "/internal/v1"
        exception_handlers = {LockedOut: _locked_out}

        @post("/invitations/accept", status_code=200)
        async def accept(self, data: AcceptInvitation) -> dict[str, Any]:
            contact = await accept_invitation(
                identity, data.portal_slug, data.token, data.password, data.correlation_id
            )
            return contact.model_dump()

        @post("/sessions", status_code=201)
        async def create_session(self, data: SignIn) -> Response[dict[str, Any]]:
            """201 with tokens, or 200 with an `mfa_required` challenge for the code step."""
            outcome = await sign_in(
                identity,
                data.portal_slug,
                data.email,
                data.password,
                data.client(),
                mfa_required=data.mfa_required,
            )
            if isinstance(outcome, sessions.TokenPair):
                return Response(outcome.as_answer(), status_code=201)
            return Response(outcome.as_answer(), status_code=200)

        @post("/sessions/mfa", status_code=201)
        async def code_step(self, data: CodeStep) -> dict[str, Any]:
            accepted = await sign_in_with_code(
                identity, data.portal_slug, data.challenge, data.code, data.client()
            )
            answer = accepted.tokens.as_answer()
            if accepted.recovery_codes:
                answer["recovery_codes"] = accepted.recovery_codes
            return answer

        @post("/sessions/mfa/enrolment", status_code=200)
        async def challenge_enrolment(self, data: ChallengeEnrolment) -> dict[str, str]:
            return await enrol_during_sign_in(identity, data.portal_slug, data.challenge)

        @post("/sessions/refresh", status_code=201)
        async def refresh(self, data: Refresh) -> dict[str, Any]:
            merchant = await merchant_of(identity, data.portal_slug)
            pair = await sessions.refresh(
                identity, merchant["_id"], data.refresh_token, data.client()
            )
            return pair.as_answer()

        @post("/sessions/list", status_code=200)
        async def list_sessions(self, data: ContactOnly) -> dict[str, Any]:
            return {"sessions": await sessions.sessions_of(identity, data.principal())}

        @post("/sessions/end", status_code=200)
        async def end_session(self, data: EndSession) -> dict[str, str]:
            await sessions.end_session(
                identity, data.principal(), data.target_session_id, data.client()
            )
            return {"status": "ended"}

        @post("/password/change", status_code=200)
        async def change_password(self, data: ChangePassword) -> dict[str, Any]:
            ended = await passwords.change_password(
                identity,
                data.principal(),
                data.current_password,
                data.new_password,
                data.client(),
            )
            return {"status": "changed", "other_sessions_ended": ended}

        @post("/password/forgot", status_code=202)
        async def forgot_password(self, data: ForgotPassword) -> dict[str, str]:
            await passwords.request_reset(identity, data.portal_slug, data.email, data.client())
            return {"status": "accepted"}

        @post("/password/reset", status_code=200)
        async def reset_password(self, data: ResetPassword) -> dict[str, str]:
            await passwords.reset_password(
                identity, data.portal_slug, data.token, data.password, data.client()
            )
            return {"status": "reset"}

        @post("/mfa/status", status_code=200)
        async def mfa_status(self, data: ContactOnly) -> dict[str, Any]:
            return await mfa.status(identity, data.principal())

        @post("/mfa/enrolment", status_code=200)
        async def mfa_enrol(self, data: ContactOnly) -> dict[str, str]:
            return (await mfa.enrol(identity, data.principal())).as_answer()

        @post("/mfa/enrolment/confirm", status_code=200)
        async def mfa_confirm(self, data: ConfirmCode) -> dict[str, Any]:
            codes = await mfa.confirm(identity, data.principal(), data.code, data.client())
            return {"recovery_codes": codes}

        @post("/mfa/recovery-codes", status_code=200)
        async def mfa_recovery_codes(self, data: ConfirmCode) -> dict[str, Any]:
            codes = await mfa.new_recovery_codes(
                identity, data.principal(), data.code, data.client()
            )
            return {"recovery_codes": codes}

        @post("/mfa/removal", status_code=200)
        async def mfa_remove(self, data: RemoveMfa) -> dict[str, str]:
            await mfa.remove(identity, data.principal(), data.password, data.code, data.client())
            return {"status": "removed"}

    return CredentialsController
