"""Commands to the notifications service."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Discriminator, EmailStr, Field, Tag

from portal_contracts.envelope import Envelope, Unrecognised, message_tag


class InvitationEmail(BaseModel):
    """`sealed_link` is the invitation URL encrypted for the notifications service only:
    the link grants access, so it never travels in clear on a topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    contact_id: str
    to_email: EmailStr
    to_name: str
    merchant_name: str
    language: str = "en"
    sealed_link: str = Field(min_length=1)
    expires_at: AwareDatetime


class SendPortalInvitation(Envelope):
    type: Literal["SendPortalInvitation"] = "SendPortalInvitation"
    schema_version: Literal[1] = 1
    data: InvitationEmail


EmailTemplate = Literal[
    "portal_link_resent",  # values: none; sealed: link
    "sign_up_verification",  # sealed: link
    "password_reset",  # values: expires_at; sealed: link
    "payment_receipt",  # values: payment_number, amount, paid_at, invoice_numbers; + PDF
    "payment_failed",  # values: invoice_number, amount, reason
    "transaction_comment",  # values: document_kind, document_number, comment, author
    "forwarded_document",  # values: document_kind, document_number, sender_name; + PDF
    "one_time_code",  # values: purpose, expires_at; sealed: code
]


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: str = Field(min_length=1, max_length=200)
    content_type: str = "application/pdf"
    content_base64: str = Field(min_length=1, max_length=2_000_000)


class CustomerEmail(BaseModel):
    """An email to a customer's contact, written by notifications from `template` in the
    customer's portal language. `values` fill the template; `sealed_values` hold what grants
    access (links, one-time codes), encrypted for the notifications service only (Fernet,
    `*_SEALING_KEY`), so they never travel in clear on a topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    template: EmailTemplate
    customer_id: str
    contact_id: str | None = None
    to_email: EmailStr
    to_name: str = Field(default="", max_length=200)
    merchant_name: str
    language: str = "en"
    values: dict[str, str] = Field(default_factory=dict)
    sealed_values: dict[str, str] = Field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


class SendCustomerEmail(Envelope):
    """Command: send one email to a customer's contact. The envelope's event id is the
    idempotency key: a repeated command sends nothing twice."""

    type: Literal["SendCustomerEmail"] = "SendCustomerEmail"
    schema_version: Literal[1] = 1
    data: CustomerEmail


MESSAGES: tuple[type[Envelope], ...] = (SendPortalInvitation, SendCustomerEmail)

NotificationsCommand = Annotated[
    Annotated[SendPortalInvitation, Tag("SendPortalInvitation.v1")]
    | Annotated[SendCustomerEmail, Tag("SendCustomerEmail.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
