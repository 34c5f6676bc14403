"""The gateway in memory: Litestar's test client, FastStream's TestKafkaBroker, the real
database. A fake subscriptions service answers the gateway's commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker
from litestar.testing import AsyncTestClient
from pydantic import SecretStr
from pymongo import AsyncMongoClient

from portal_contracts.customers import CommandRejected, CreateCustomer, CustomerCreated, Rejection
from portal_contracts.registry import SubscriptionsCommand
from portal_contracts.topics import CUSTOMER_EVENTS, SUBSCRIPTIONS_COMMANDS
from portal_gateway.adapters.read_models import Commands
from portal_gateway.app import create_app
from portal_gateway.settings import GatewaySettings

pytestmark = pytest.mark.component
OPERATOR = {"X-Operator-Token": "operator-secret"}


@pytest.fixture
async def client(mongo_uri: str, database_name: str) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    app = create_app(
        GatewaySettings(
            mongo_uri=mongo_uri,
            mongo_database=database_name,
            operator_token=SecretStr("operator-secret"),
            command_timeout_seconds=5,
        )
    )
    broker = app.state.runtime.broker

    @broker.subscriber(SUBSCRIPTIONS_COMMANDS, group_id="fake-subscriptions")
    async def fake_subscriptions(message: SubscriptionsCommand) -> None:
        """Accepts every customer except those called 'Duplicate'."""
        assert isinstance(message, CreateCustomer)
        now = datetime.now(UTC)
        if message.data.display_name == "Duplicate":
            await broker.publish(
                CommandRejected(
                    **message.follow_up(),
                    occurred_at=now,
                    data=Rejection(
                        customer_id=message.data.customer_id,
                        command_type=message.type,
                        code="customer_exists",
                        reason="a customer with this id already exists",
                    ),
                ).model_dump(mode="json"),
                CUSTOMER_EVENTS,
            )
            return
        customer = message.data
        await broker.publish(
            CustomerCreated(
                **message.follow_up(),
                occurred_at=now,
                data={
                    "customer_id": customer.customer_id,
                    "display_name": customer.display_name,
                    "currency": customer.currency,
                    "contacts": [customer.primary_contact.model_dump()],
                    "portal_enabled": customer.enable_portal,
                },
            ).model_dump(mode="json"),
            CUSTOMER_EVENTS,
        )

    async with TestKafkaBroker(broker), AsyncTestClient(app) as test_client:
        yield test_client


async def merchant_key(client: AsyncTestClient, slug: str) -> str:  # type: ignore[type-arg]
    response = await client.post(
        "/operator/v1/merchants",
        json={"name": "Component Co", "portal_slug": slug, "contact_email": "a@b.example"},
        headers=OPERATOR,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


async def test_create_customer_answers_with_the_outcome_and_reads_its_own_write(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    key = await merchant_key(client, "component-one")
    created = await client.post(
        "/admin/v1/customers",
        json={
            "display_name": "Ann Example",
            "primary_contact": {"first_name": "Ann", "email": "ann@example.com"},
        },
        headers={"X-API-Key": key, "Idempotency-Key": "order-1"},
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["customer_id"]
    read = await client.get(f"/admin/v1/customers/{customer_id}", headers={"X-API-Key": key})
    assert read.status_code == 200
    assert read.json()["display_name"] == "Ann Example"

    repeated = await client.post(
        "/admin/v1/customers",
        json={
            "display_name": "Ann Example",
            "primary_contact": {"first_name": "Ann", "email": "ann@example.com"},
        },
        headers={"X-API-Key": key, "Idempotency-Key": "order-1"},
    )
    assert repeated.status_code == 201
    assert repeated.json()["customer_id"] == customer_id


async def test_a_refused_command_is_answered_with_its_reason(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    key = await merchant_key(client, "component-two")
    refused = await client.post(
        "/admin/v1/customers",
        json={"display_name": "Duplicate", "primary_contact": {"first_name": "D"}},
        headers={"X-API-Key": key},
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "customer_exists"


async def test_slug_taken_and_bad_input(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await merchant_key(client, "component-three")
    again = await client.post(
        "/operator/v1/merchants",
        json={"name": "Other", "portal_slug": "component-three", "contact_email": "a@b.example"},
        headers=OPERATOR,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "portal_slug_taken"
    missing_field = await client.post(
        "/operator/v1/merchants", json={"name": "Other"}, headers=OPERATOR
    )
    assert missing_field.status_code == 400
    assert set(missing_field.json()["fields"]) >= {"portal_slug", "contact_email"}


async def test_a_merchant_reads_where_any_of_its_commands_stands(
    client: AsyncTestClient,  # type: ignore[type-arg]
    mongo_uri: str,
    database_name: str,
) -> None:
    response = await client.post(
        "/operator/v1/merchants",
        json={"name": "Status Co", "portal_slug": "component-four", "contact_email": "s@b.example"},
        headers=OPERATOR,
    )
    assert response.status_code == 201, response.text
    merchant = response.json()
    key = {"X-API-Key": merchant["api_key"]}
    other_key = {"X-API-Key": await merchant_key(client, "component-five")}
    # The app runs on the test client's own loop: the test writes with a client of its own.
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    commands = Commands(mongo[database_name])
    await commands.add(
        {
            "_id": "cmd_invoice_1",
            "organisation_id": merchant["organisation_id"],
            "correlation_id": "corr-invoice-1",
            "type": "CreateInvoice",
            "customer_id": "cus_1",
            "outcomes": ["InvoiceIssued", "CommandRejected"],
            "status": "pending",
            "created_at": datetime.now(UTC),
        }
    )

    pending = await client.get("/admin/v1/commands/cmd_invoice_1", headers=key)
    assert pending.status_code == 202, pending.text
    assert pending.json()["status_url"] == "/admin/v1/commands/cmd_invoice_1"

    outcome = {"status": "succeeded", "outcome_type": "InvoiceIssued", "result": {"n": "INV-1"}}
    assert await commands.finish("corr-invoice-1", "InvoiceIssued", outcome)
    settled = await client.get("/admin/v1/commands/cmd_invoice_1", headers=key)
    assert settled.status_code == 200, settled.text
    assert settled.json() == {
        "command_id": "cmd_invoice_1",
        "command": "CreateInvoice",
        "status": "succeeded",
        "outcome": "InvoiceIssued",
        "result": {"n": "INV-1"},
    }
    # Another merchant's key finds nothing there.
    assert (
        await client.get("/admin/v1/commands/cmd_invoice_1", headers=other_key)
    ).status_code == 404
