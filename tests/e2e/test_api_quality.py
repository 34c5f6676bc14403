"""The gateway's published API, fuzzed from its own OpenAPI document with schemathesis against
the running local stack: no input, however odd, gets a 5xx, and every error is a problem
response (RFC 9457). Requests carry a real merchant API key and a real portal session, and
portal paths use that merchant's portal, so the fuzzing gets past the guards."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from deploy.local.stack import LocalStack
from tests.support.portal import create_customer, invitation_email, register_merchant, token_from

pytestmark = pytest.mark.e2e
PASSWORD = "fuzzing-portal-password-2026!"


async def _signed_in(stack: LocalStack) -> dict[str, str]:
    async with httpx.AsyncClient(timeout=30) as http:
        gateway = stack.urls.gateway
        merchant = await register_merchant(http, gateway, stack.operator_token, "Fuzz Ltd")
        email = f"fuzz-{uuid.uuid4().hex[:8]}@fuzz.example"
        created = await create_customer(http, gateway, merchant["api_key"], email)
        assert created.status_code == 201, created.text
        _, token = token_from(await invitation_email(http, stack.urls.mailbox, email))
        portal = f"{gateway}/portal/{merchant['slug']}/api"
        accepted = await http.post(
            f"{portal}/invitations/accept", json={"token": token, "password": PASSWORD}
        )
        assert accepted.status_code == 200, accepted.text
        session = await http.post(f"{portal}/sessions", json={"email": email, "password": PASSWORD})
        assert session.status_code == 201, session.text
        return {
            "slug": merchant["slug"],
            "api_key": merchant["api_key"],
            "access_token": session.json()["access_token"],
        }


@pytest.fixture(scope="module")
def credentials(stack: LocalStack) -> dict[str, str]:
    return asyncio.run(_signed_in(stack))


def is_problem_response(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error answer is `application/problem+json` with a status and a detail."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/problem+json"), (
        f"{response.status_code} answered as {content_type!r}"
    )
    body = response.json()
    assert body.get("status") == response.status_code, body
    assert body.get("detail"), body
    return True


@pytest.mark.timeout(900)
def test_no_input_gets_a_server_error(credentials: dict[str, str], stack: LocalStack) -> None:
    """Each operation of the document with generated inputs (twenty examples each); every
    failure is collected so one run shows all of them."""
    schema = schemathesis.openapi.from_url(f"{stack.urls.gateway}/schema/openapi.json")
    headers = {
        "X-API-Key": credentials["api_key"],
        "Authorization": f"Bearer {credentials['access_token']}",
        "X-Operator-Token": stack.operator_token,
    }
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        exerciser(operation.label, operation.as_strategy(), credentials, headers, failures)()
    assert operations > 5
    assert not failures, "\n\n".join(failures[:20])


def exerciser(
    label: str,
    strategy: Any,
    credentials: dict[str, str],
    headers: dict[str, str],
    failures: list[str],
) -> Any:
    """A hypothesis test over one operation. Failures are collected, not raised: raising makes
    hypothesis replay and shrink the case against a live, changing system, which hides the
    first answer."""

    @given(case=strategy)
    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def exercise(case: Any) -> None:
        if "slug" in (case.path_parameters or {}):
            case.path_parameters["slug"] = credentials["slug"]
        response = case.call(headers=headers, timeout=60)
        try:
            case.validate_response(response, checks=[not_a_server_error, is_problem_response])
        except Exception as failure:
            failures.append(
                f"{label} -> {response.status_code} {response.text[:300]!r}: {str(failure)[:300]}"
            )

    return exercise
