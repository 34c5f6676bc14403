"""Every message type by `Type.vN` tag, and one discriminated union per topic."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Tag, TypeAdapter

from portal_contracts.customers import CommandRejected, CreateCustomer, CustomerCreated
from portal_contracts.envelope import Envelope, UnrecognisedMessage, message_tag
from portal_contracts.identity import (
    ContactSignedIn,
    PortalAccessRefused,
    PortalInvitationAccepted,
    PortalInvitationIssued,
    SignInFailed,
)
from portal_contracts.invoicing import CustomerAccountOpened
from portal_contracts.merchants import MerchantRegistered
from portal_contracts.notifications import SendPortalInvitation

_ALL: tuple[type[Envelope], ...] = (
    MerchantRegistered,
    CreateCustomer,
    CustomerCreated,
    CommandRejected,
    PortalInvitationIssued,
    PortalInvitationAccepted,
    PortalAccessRefused,
    ContactSignedIn,
    SignInFailed,
    SendPortalInvitation,
    CustomerAccountOpened,
)


def _tag_of(model: type[Envelope]) -> str:
    fields = model.model_fields
    return f"{fields['type'].default}.v{fields['schema_version'].default}"


MESSAGE_TYPES: dict[str, type[Envelope]] = {_tag_of(m): m for m in _ALL}

_U = Annotated[UnrecognisedMessage, Tag("unrecognised")]

MerchantMessage = Annotated[
    Annotated[MerchantRegistered, Tag("MerchantRegistered.v1")] | _U,
    Discriminator(message_tag),
]
SubscriptionsCommand = Annotated[
    Annotated[CreateCustomer, Tag("CreateCustomer.v1")] | _U,
    Discriminator(message_tag),
]
CustomerMessage = Annotated[
    Annotated[CustomerCreated, Tag("CustomerCreated.v1")]
    | Annotated[CommandRejected, Tag("CommandRejected.v1")]
    | _U,
    Discriminator(message_tag),
]
AccessMessage = Annotated[
    Annotated[PortalInvitationIssued, Tag("PortalInvitationIssued.v1")]
    | Annotated[PortalInvitationAccepted, Tag("PortalInvitationAccepted.v1")]
    | Annotated[PortalAccessRefused, Tag("PortalAccessRefused.v1")]
    | Annotated[ContactSignedIn, Tag("ContactSignedIn.v1")]
    | Annotated[SignInFailed, Tag("SignInFailed.v1")]
    | _U,
    Discriminator(message_tag),
]
NotificationsCommand = Annotated[
    Annotated[SendPortalInvitation, Tag("SendPortalInvitation.v1")] | _U,
    Discriminator(message_tag),
]
AccountMessage = Annotated[
    Annotated[CustomerAccountOpened, Tag("CustomerAccountOpened.v1")] | _U,
    Discriminator(message_tag),
]

_BODY: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])


def parse_message(raw: bytes | str | dict[str, Any]) -> Envelope | UnrecognisedMessage:
    """Parse any message by its tag; raises pydantic.ValidationError for a malformed one."""
    body = _BODY.validate_json(raw) if isinstance(raw, bytes | str) else raw
    tag = message_tag(body)
    if tag == "unrecognised":
        return UnrecognisedMessage.model_validate(body)
    return MESSAGE_TYPES[tag].model_validate(body)
