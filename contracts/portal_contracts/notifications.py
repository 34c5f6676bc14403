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


MESSAGES: tuple[type[Envelope], ...] = (SendPortalInvitation,)

NotificationsCommand = Annotated[
    Annotated[SendPortalInvitation, Tag("SendPortalInvitation.v1")] | Unrecognised,
    Discriminator(message_tag),
]
