"""Commands to the notifications service."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Discriminator, EmailStr, Field, Tag

from portal_contracts.customers import CommandRejected
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
    "review_request",  # values: portal_url (optional)
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


# Commands from the gateway (merchant admin API and portal) to notifications.


class WebhookEndpoint(BaseModel):
    """`sealed_secret` is the endpoint's signing secret, sealed for notifications (Fernet,
    `*_SEALING_KEY`): the merchant saw it once in the gateway's answer; nobody else does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint_id: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    description: str = Field(default="", max_length=200)
    sealed_secret: str = Field(min_length=1)


class RegisterWebhookEndpoint(Envelope):
    type: Literal["RegisterWebhookEndpoint"] = "RegisterWebhookEndpoint"
    schema_version: Literal[1] = 1
    data: WebhookEndpoint


class EndpointRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint_id: str = Field(min_length=1, max_length=64)


class RemoveWebhookEndpoint(Envelope):
    type: Literal["RemoveWebhookEndpoint"] = "RemoveWebhookEndpoint"
    schema_version: Literal[1] = 1
    data: EndpointRef


class SecretRotation(BaseModel):
    """A new signing secret for an endpoint, sealed like the first one. Until
    `previous_valid_until` deliveries are signed with both the new and the replaced secret,
    so the merchant's receiver can switch without rejecting any delivery."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint_id: str = Field(min_length=1, max_length=64)
    sealed_secret: str = Field(min_length=1)
    previous_valid_until: AwareDatetime


class RotateWebhookSecret(Envelope):
    type: Literal["RotateWebhookSecret"] = "RotateWebhookSecret"
    schema_version: Literal[1] = 1
    data: SecretRotation


class DeliveryRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    delivery_id: str = Field(min_length=1, max_length=64)


class ReplayWebhookDelivery(Envelope):
    """Send a delivery again now (same event id and body), whatever its status."""

    type: Literal["ReplayWebhookDelivery"] = "ReplayWebhookDelivery"
    schema_version: Literal[1] = 1
    data: DeliveryRef


class Review(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    review_id: str = Field(min_length=1, max_length=64)
    customer_id: str
    contact_id: str
    customer_name: str = Field(default="", max_length=200)
    rating: int = Field(ge=1, le=5)
    text: str = Field(default="", max_length=5000)


class SubmitReview(Envelope):
    type: Literal["SubmitReview"] = "SubmitReview"
    schema_version: Literal[1] = 1
    data: Review


class MessageToMerchant(BaseModel):
    """A customer's contact writes to the merchant from the portal; `reply_to` is the
    contact's address as the merchant knows it (from the customer's record)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    contact_id: str
    customer_name: str = Field(default="", max_length=200)
    reply_to: EmailStr | None = None
    subject: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=5000)


class EmailMerchant(Envelope):
    type: Literal["EmailMerchant"] = "EmailMerchant"
    schema_version: Literal[1] = 1
    data: MessageToMerchant


# Events notifications publishes on `notifications.merchant-notifications`.

NotificationKind = Literal[
    "payment.made",
    "payment.failed",
    "comment.added",
    "quote.approved",
    "quote.declined",
    "timesheet.approved",
    "timesheet.rejected",
    "review.submitted",
    "subscription.updated",
    "subscription.cancelled",
    "invoice.first_viewed",
    "email.undeliverable",
    "webhook.dead",
]


class MerchantNotification(BaseModel):
    """Something in the portal the merchant wants to hear about. `summary` is one readable
    line; `details` the facts behind it (document ids, amounts) as strings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    notification_id: str = Field(min_length=1, max_length=64)
    kind: NotificationKind
    customer_id: str | None = None
    contact_id: str | None = None
    subject_id: str | None = None
    summary: str = Field(max_length=500)
    details: dict[str, str] = Field(default_factory=dict)


class MerchantNotified(Envelope):
    """The notification stream: in the merchant's feed, in its webhooks, on this topic."""

    type: Literal["MerchantNotified"] = "MerchantNotified"
    schema_version: Literal[1] = 1
    data: MerchantNotification


class WebhookEndpointFacts(BaseModel):
    """An endpoint as the merchant sees it; never its secrets. After a rotation,
    `secret_rotated_at` says when and `previous_secret_valid_until` until when deliveries
    still carry a signature with the replaced secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint_id: str
    url: str
    description: str = ""
    status: Literal["active", "removed"]
    secret_rotated_at: AwareDatetime | None = None
    previous_secret_valid_until: AwareDatetime | None = None


class WebhookEndpointChanged(Envelope):
    type: Literal["WebhookEndpointChanged"] = "WebhookEndpointChanged"
    schema_version: Literal[1] = 1
    data: WebhookEndpointFacts


class WebhookDeliveryFacts(BaseModel):
    """Where one delivery of one notification to one endpoint stands."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    delivery_id: str
    endpoint_id: str
    notification_event_id: str
    notification_kind: str
    status: Literal["pending", "delivered", "retrying", "dead"]
    attempts: int = Field(ge=0)
    response_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    next_attempt_at: AwareDatetime | None = None
    delivered_at: AwareDatetime | None = None


class WebhookDeliveryChanged(Envelope):
    type: Literal["WebhookDeliveryChanged"] = "WebhookDeliveryChanged"
    schema_version: Literal[1] = 1
    data: WebhookDeliveryFacts


class ReviewSubmitted(Envelope):
    type: Literal["ReviewSubmitted"] = "ReviewSubmitted"
    schema_version: Literal[1] = 1
    data: Review


MESSAGES: tuple[type[Envelope], ...] = (
    SendPortalInvitation,
    SendCustomerEmail,
    RegisterWebhookEndpoint,
    RemoveWebhookEndpoint,
    RotateWebhookSecret,
    ReplayWebhookDelivery,
    SubmitReview,
    EmailMerchant,
    MerchantNotified,
    WebhookEndpointChanged,
    WebhookDeliveryChanged,
    ReviewSubmitted,
)

NotificationsCommand = Annotated[
    Annotated[SendPortalInvitation, Tag("SendPortalInvitation.v1")]
    | Annotated[SendCustomerEmail, Tag("SendCustomerEmail.v1")]
    | Annotated[RegisterWebhookEndpoint, Tag("RegisterWebhookEndpoint.v1")]
    | Annotated[RemoveWebhookEndpoint, Tag("RemoveWebhookEndpoint.v1")]
    | Annotated[RotateWebhookSecret, Tag("RotateWebhookSecret.v1")]
    | Annotated[ReplayWebhookDelivery, Tag("ReplayWebhookDelivery.v1")]
    | Annotated[SubmitReview, Tag("SubmitReview.v1")]
    | Annotated[EmailMerchant, Tag("EmailMerchant.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]

NotificationMessage = Annotated[
    Annotated[MerchantNotified, Tag("MerchantNotified.v1")]
    | Annotated[WebhookEndpointChanged, Tag("WebhookEndpointChanged.v1")]
    | Annotated[WebhookDeliveryChanged, Tag("WebhookDeliveryChanged.v1")]
    | Annotated[ReviewSubmitted, Tag("ReviewSubmitted.v1")]
    | Annotated[CommandRejected, Tag("CommandRejected.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
"""What notifications writes on `notifications.merchant-notifications`. Only `MerchantNotified`
is the merchant's notification stream (webhooks carry only it); the others keep the gateway's
views (webhook endpoints, delivery log, reviews) and command outcomes up to date."""
