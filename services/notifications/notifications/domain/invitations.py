"""The portal invitation email, worded in the contact's language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from string import Template

DEFAULT_LANGUAGE = "en"

_ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str


@dataclass(frozen=True)
class _Wording:
    greeting: str
    subject: Template
    body: Template
    # Dates are spelled the way each language writes them; locales are not relied on, so the
    # result does not change with the machine the service runs on.
    date: Callable[[datetime], str]


def _english_date(moment: datetime) -> str:
    return f"{moment.day} {_ENGLISH_MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M} UTC"


def _german_date(moment: datetime) -> str:
    return f"{moment:%d.%m.%Y}, {moment:%H:%M} Uhr (UTC)"


_INVITATION: dict[str, _Wording] = {
    "en": _Wording(
        greeting="Hello",
        subject=Template("$merchant invites you to your customer portal"),
        body=Template(
            "$greeting\n"
            "\n"
            "$merchant has given you access to their customer portal, where you can see your\n"
            "subscriptions and invoices and keep your details up to date.\n"
            "\n"
            "To accept the invitation and choose a password, open this link:\n"
            "\n"
            "$link\n"
            "\n"
            "The link works until $expires. After that, ask $merchant to invite you again.\n"
            "\n"
            "If you were not expecting this email, you can ignore it.\n"
        ),
        date=_english_date,
    ),
    "de": _Wording(
        greeting="Hallo",
        subject=Template("$merchant lädt Sie in Ihr Kundenportal ein"),
        body=Template(
            "$greeting\n"
            "\n"
            "$merchant hat Ihnen Zugang zum Kundenportal gegeben. Dort sehen Sie Ihre\n"
            "Abonnements und Rechnungen und halten Ihre Angaben aktuell.\n"
            "\n"
            "Um die Einladung anzunehmen und ein Passwort zu wählen, öffnen Sie diesen Link:\n"
            "\n"
            "$link\n"
            "\n"
            "Der Link gilt bis $expires. Danach bitten Sie $merchant um eine neue Einladung.\n"
            "\n"
            "Falls Sie diese E-Mail nicht erwartet haben, können Sie sie ignorieren.\n"
        ),
        date=_german_date,
    ),
}

SUPPORTED_LANGUAGES = frozenset(_INVITATION)


def language_of(requested: str) -> str:
    """The supported language closest to `requested` ("de-AT" -> "de"); English otherwise."""
    primary = requested.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in _INVITATION else DEFAULT_LANGUAGE


def single_line(value: str) -> str:
    """Names go into headers and greetings: line breaks and runs of spaces become one space."""
    return " ".join(value.split())


def render_invitation(
    *,
    language: str,
    contact_name: str,
    merchant_name: str,
    link: str,
    expires_at: datetime,
) -> RenderedMail:
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    wording = _INVITATION[language_of(language)]
    name = single_line(contact_name)
    values = {
        "greeting": f"{wording.greeting} {name}," if name else f"{wording.greeting},",
        "merchant": single_line(merchant_name),
        "link": link,
        "expires": wording.date(expires_at.astimezone(UTC)),
    }
    return RenderedMail(
        subject=wording.subject.substitute(values),
        text=wording.body.substitute(values),
    )
