"""Single sign-on settings events owned by the identity service (on identity.access-events).

Sign-ins through single sign-on stay `ContactSignedIn` / `SignInFailed` (identity.py), with
`data.reason` "sso" on success and "sso_<why>" on a refusal. The client secret never appears
in any message."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from portal_contracts.envelope import Envelope


class SsoSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(max_length=512)
    client_id: str = Field(max_length=512)
    # Empty: any contact who already has portal access may use the provider.
    allowed_email_domains: tuple[str, ...] = ()
    enabled: bool


class SsoConfigured(Envelope):
    """The merchant set up or changed its OpenID Connect provider (key: the organisation)."""

    type: Literal["SsoConfigured"] = "SsoConfigured"
    schema_version: Literal[1] = 1
    data: SsoSettings


class SsoProviderRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(max_length=512)


class SsoRemoved(Envelope):
    """The merchant removed single sign-on; contacts sign in with passwords again."""

    type: Literal["SsoRemoved"] = "SsoRemoved"
    schema_version: Literal[1] = 1
    data: SsoProviderRef


MESSAGES: tuple[type[Envelope], ...] = (SsoConfigured, SsoRemoved)
