"""Single sign-on rules: what a merchant's OpenID Connect configuration may say, and which
verified identities may enter a portal through it. Pure: no I/O."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

# Portal users in these states were given access by the merchant; SSO only proves the email.
SSO_USABLE_STATUSES = frozenset({"active", "invited"})


class SsoRefused(Exception):
    """A sign-in or configuration the rules do not allow; `reason` is a short stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class SsoConfiguration:
    organisation_id: str
    issuer: str
    client_id: str
    sealed_client_secret: str
    allowed_email_domains: tuple[str, ...]
    enabled: bool
    updated_at: datetime

    def view(self, redirect_uri: str) -> dict[str, Any]:
        """What the merchant may see: never the client secret."""
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret_set": bool(self.sealed_client_secret),
            "allowed_email_domains": list(self.allowed_email_domains),
            "access": "allowed_email_domains" if self.allowed_email_domains else "existing_users",
            "enabled": self.enabled,
            "redirect_uri": redirect_uri,
            "updated_at": self.updated_at.isoformat(),
        }


def issuer_url(raw: str, allow_private_hosts: bool) -> str:
    """The issuer as providers write it (no trailing slash). HTTPS only, except a private or
    loopback host when allowed (local development and tests)."""
    issuer = raw.strip().rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SsoRefused("issuer_invalid", "the issuer must be an https URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise SsoRefused(
            "issuer_invalid", "the issuer URL must not carry credentials, a query or a fragment"
        )
    private = host_is_private(parts.hostname)
    if private and not allow_private_hosts:
        raise SsoRefused("issuer_invalid", "the issuer must be a public internet address")
    if parts.scheme == "http" and not private:
        raise SsoRefused("issuer_invalid", "the issuer must be an https URL")
    return issuer


def host_is_private(host: str) -> bool:
    """True for names and addresses that point inside a network rather than at a provider."""
    if host.lower() == "localhost" or host.lower().endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global


def address_is_private(address: str) -> bool:
    return not ipaddress.ip_address(address.split("%", 1)[0]).is_global


def email_domains(raw: list[str]) -> tuple[str, ...]:
    domains: list[str] = []
    for entry in raw:
        domain = entry.strip().lower().lstrip("@")
        labels = domain.split(".")
        if len(labels) < 2 or not all(
            label and len(label) <= 63 and label.replace("-", "").isalnum() for label in labels
        ):
            raise SsoRefused("domain_invalid", f"'{entry}' is not an email domain")
        if domain not in domains:
            domains.append(domain)
    return tuple(domains)


def verified_email(claims: dict[str, Any]) -> str:
    """The email the provider vouches for; a claim without `email_verified: true` proves
    nothing about who reads that mailbox."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SsoRefused("email_missing", "the identity provider did not share an email address")
    if claims.get("email_verified") is not True:
        raise SsoRefused(
            "email_unverified", "the identity provider has not verified this email address"
        )
    return email.strip().lower()


def check_may_enter(
    configuration: SsoConfiguration, email: str, user: dict[str, Any] | None
) -> dict[str, Any]:
    """SSO never creates access: the email must belong to a portal user the merchant already
    gave access to, within the domains the merchant trusts this provider for."""
    domain = email.rsplit("@", 1)[1]
    if configuration.allowed_email_domains and domain not in configuration.allowed_email_domains:
        raise SsoRefused(
            "domain_not_allowed", "this email domain may not sign in to this portal with SSO"
        )
    if user is None:
        raise SsoRefused("no_portal_access", "this email has no access to this portal")
    if user.get("status") not in SSO_USABLE_STATUSES:
        raise SsoRefused("no_portal_access", "this email has no access to this portal")
    return user


# RFC 8176 authentication method references that mean more than one factor was checked.
MULTI_FACTOR_METHODS = frozenset({"mfa", "otp", "hwk", "swk", "sms", "fido"})


def provider_used_multi_factor(claims: dict[str, Any]) -> bool:
    """Whether the provider says it checked a second factor (the `amr` claim)."""
    methods = claims.get("amr")
    return isinstance(methods, list) and any(m in MULTI_FACTOR_METHODS for m in methods)
