"""Golden samples of every message version: what is on the wire today must stay readable."""

from __future__ import annotations

import json
from datetime import datetime
from importlib.resources import files
from typing import Any

import pytest
from pydantic import ValidationError

from portal_contracts import MESSAGE_TYPES, UnrecognisedMessage, parse_message
from portal_contracts.customers import CreateCustomer
from portal_contracts.merchants import MerchantRegistered

pytestmark = pytest.mark.unit

SAMPLES = files("portal_contracts") / "samples"
SAMPLE_NAMES = sorted(p.name for p in SAMPLES.iterdir() if p.name.endswith(".json"))


def sample(tag: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((SAMPLES / f"{tag}.json").read_text(encoding="utf-8"))
    return body


def test_every_message_version_has_a_golden_sample() -> None:
    missing = sorted(f"{tag}.json" for tag in MESSAGE_TYPES if f"{tag}.json" not in SAMPLE_NAMES)
    assert not missing, f"add golden samples under portal_contracts/samples/: {missing}"


def test_every_sample_names_a_registered_message_version() -> None:
    # A version may only be retired by deleting its sample on purpose, never by accident.
    strays = [name for name in SAMPLE_NAMES if name.removesuffix(".json") not in MESSAGE_TYPES]
    assert not strays, f"samples of versions MESSAGE_TYPES no longer reads: {strays}"


@pytest.mark.parametrize("tag", sorted(MESSAGE_TYPES))
def test_sample_parses_to_its_class_and_serialises_back_unchanged(tag: str) -> None:
    raw = (SAMPLES / f"{tag}.json").read_bytes()

    message = parse_message(raw)

    assert type(message) is MESSAGE_TYPES[tag]
    assert message.model_dump(mode="json") == json.loads(raw)


@pytest.mark.parametrize("tag", sorted(MESSAGE_TYPES))
def test_messages_are_frozen(tag: str) -> None:
    message = parse_message(sample(tag))

    with pytest.raises(ValidationError, match="frozen"):
        message.organisation_id = "org_someone_else"  # type: ignore[misc]
    data = message.data  # type: ignore[union-attr]
    first_field = next(iter(type(data).model_fields))
    with pytest.raises(ValidationError, match="frozen"):
        setattr(data, first_field, getattr(data, first_field))


def test_a_naive_occurred_at_is_rejected() -> None:
    body = sample("CreateCustomer.v1") | {"occurred_at": "2025-03-04T09:15:00"}

    with pytest.raises(ValidationError, match="timezone"):
        parse_message(body)


def test_a_naive_datetime_is_rejected_when_building_a_message() -> None:
    body = sample("CreateCustomer.v1")
    body["occurred_at"] = datetime(2025, 3, 4, 9, 15)  # naive on purpose

    with pytest.raises(ValidationError, match="timezone"):
        CreateCustomer.model_validate(body)


def test_an_unknown_type_parses_to_unrecognised_message() -> None:
    body = sample("CustomerCreated.v1") | {"type": "CustomerArchived"}

    message = parse_message(json.dumps(body).encode())

    assert isinstance(message, UnrecognisedMessage)
    assert message.type == "CustomerArchived"
    assert message.schema_version == 1


def test_a_future_version_of_a_known_type_parses_to_unrecognised_message() -> None:
    body = sample("CreateCustomer.v1") | {"schema_version": 2}

    assert isinstance(parse_message(body), UnrecognisedMessage)


@pytest.mark.parametrize(
    ("path", "field"),
    [((), "occurred_at"), ((), "organisation_id"), (("data",), "primary_contact")],
)
def test_a_known_type_with_a_missing_field_is_rejected(path: tuple[str, ...], field: str) -> None:
    body = sample("CreateCustomer.v1")
    holder = body
    for name in path:
        holder = holder[name]
    del holder[field]

    with pytest.raises(ValidationError, match=field):
        parse_message(json.dumps(body))


@pytest.mark.parametrize(
    "tag",
    [
        "CreateCustomer.v1",
        "CustomerCreated.v1",
        "CommandRejected.v1",
        "PortalInvitationIssued.v1",
        "SendPortalInvitation.v1",
        "CustomerAccountOpened.v1",
    ],
)
def test_a_customer_message_is_keyed_by_its_customer(tag: str) -> None:
    body = sample(tag)

    assert parse_message(body).key() == body["data"]["customer_id"]  # type: ignore[union-attr]


def test_merchant_registered_is_keyed_by_its_organisation() -> None:
    message = parse_message(sample("MerchantRegistered.v1"))

    assert isinstance(message, MerchantRegistered)
    assert message.key() == "org_acme_fitness"
