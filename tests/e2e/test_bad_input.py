"""Bad input never gets a 500: clear 4xx problems for HTTP, dead letters for messages."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from deploy.local.stack import LocalStack
from portal_contracts import topics
from tests.support.kafka import collect, produce
from tests.support.portal import create_customer, invitation_email, register_merchant

pytestmark = pytest.mark.e2e


async def test_admin_api_needs_a_valid_api_key(stack: LocalStack, http: httpx.AsyncClient) -> None:
    gateway = stack.urls["gateway"]
    missing = await http.post(f"{gateway}/admin/v1/customers", json={})
    invalid = await http.get(
        f"{gateway}/admin/v1/customers/cus_1", headers={"X-API-Key": "pk_not-a-key"}
    )
    assert missing.status_code == 401
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert invalid.status_code == 401
    assert invalid.json()["code"] == "api_key_invalid"
    no_operator = await http.post(
        f"{gateway}/operator/v1/merchants",
        json={"name": "X", "portal_slug": "x-1", "contact_email": "a@b.example"},
        headers={"X-Operator-Token": "wrong"},
    )
    assert no_operator.status_code == 401


async def test_invalid_bodies_are_400_naming_the_field(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    headers = {"X-API-Key": merchant["api_key"]}

    no_name = await http.post(
        f"{gateway}/admin/v1/customers",
        json={"primary_contact": {"first_name": "A"}},
        headers=headers,
    )
    assert no_name.status_code == 400
    assert "display_name" in no_name.json()["detail"]

    bad_email = await create_customer(http, gateway, merchant["api_key"], "not-an-email")
    assert bad_email.status_code == 400
    assert "email" in bad_email.json()["detail"]

    not_json = await http.post(
        f"{gateway}/admin/v1/customers",
        content=b"{oops",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert 400 <= not_json.status_code < 500

    no_email_portal = await create_customer(http, gateway, merchant["api_key"], None)
    assert no_email_portal.status_code == 422
    assert no_email_portal.json()["code"] == "contact_without_email"

    bad_slug = await http.post(
        f"{gateway}/operator/v1/merchants",
        json={"name": "X", "portal_slug": "Not A Slug!", "contact_email": "a@b.example"},
        headers={"X-Operator-Token": stack.operator_token},
    )
    assert bad_slug.status_code == 400
    assert "portal_slug" in bad_slug.json()["detail"]


async def test_unknown_ids_are_404(stack: LocalStack, http: httpx.AsyncClient) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    headers = {"X-API-Key": merchant["api_key"]}
    assert (
        await http.get(f"{gateway}/admin/v1/customers/cus_nope", headers=headers)
    ).status_code == 404
    assert (await http.get(f"{gateway}/admin/v1/commands/nope", headers=headers)).status_code == 404
    assert (
        await http.post(
            f"{gateway}/portal/no-such-portal/api/sessions",
            json={"email": "a@b.example", "password": "x"},
        )
    ).status_code == 404
    unknown_token = await http.post(
        f"{gateway}/portal/{merchant['slug']}/api/invitations/accept",
        json={"token": "x" * 43, "password": "correct-horse-42"},
    )
    assert unknown_token.status_code == 404


async def test_portal_home_needs_a_valid_token(stack: LocalStack, http: httpx.AsyncClient) -> None:
    gateway = stack.urls["gateway"]
    merchant = await register_merchant(http, gateway, stack.operator_token)
    home = f"{gateway}/portal/{merchant['slug']}/api/home"
    assert (await http.get(home)).status_code == 401
    forged = await http.get(home, headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert forged.status_code == 401
    assert forged.json()["code"] == "token_invalid"


def consumed_topics() -> dict[str, set[str]]:
    """Every topic each service consumes, read from the services' AsyncAPI documents (which a
    unit test keeps equal to the code), so a new consumer is poisoned here too."""
    consumed: dict[str, set[str]] = {}
    for document in sorted(Path("services").glob("*/asyncapi.json")):
        spec = json.loads(document.read_text())
        service = document.parent.name
        for operation in spec["operations"].values():
            if operation["action"] != "receive":
                continue
            channel = spec["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]
            consumed.setdefault(channel["address"], set()).add(service)
    return consumed


CONSUMED = consumed_topics()


async def test_malformed_messages_are_dead_lettered_and_consumers_carry_on(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    poison = f"poison-{uuid.uuid4().hex}".encode()
    for topic in CONSUMED:
        await produce(stack.kafka_bootstrap, topic, poison + b"{", key=b"poison")

    def every_consumer_dead_lettered(records: list) -> bool:  # type: ignore[type-arg]
        return _dead_lettered(records, poison) == {
            (topic, consumer) for topic, consumers in CONSUMED.items() for consumer in consumers
        }

    dead = await collect(
        stack.kafka_bootstrap,
        [topics.dead_letter_topic(t) for t in CONSUMED],
        every_consumer_dead_lettered,
        timeout=60,
    )
    assert every_consumer_dead_lettered(dead), _dead_lettered(dead, poison)

    # Every consumer moved on: the whole flow still works after the poison.
    merchant = await register_merchant(http, stack.urls["gateway"], stack.operator_token)
    email = f"after.poison.{uuid.uuid4().hex[:6]}@x.example"
    created = await create_customer(http, stack.urls["gateway"], merchant["api_key"], email)
    assert created.status_code == 201
    assert await invitation_email(http, stack.urls["mailbox"], email)


def _dead_lettered(records: list, poison: bytes) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    found = set()
    for record in records:
        if not record.value.startswith(poison):
            continue
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["dlt-reason"]
        found.add((headers["dlt-original-topic"], headers["dlt-consumer"]))
    return found
