"""Every email to a customer's contact, worded per portal language (English and German;
anything else falls back to English), and what each template needs to be written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from string import Template

from notifications.domain.invitations import (
    DEFAULT_LANGUAGE,
    RenderedMail,
    _english_date,
    _german_date,
    single_line,
)


class TemplateError(ValueError):
    """The command cannot be written as an email (unknown template, missing or bad value)."""


@dataclass(frozen=True)
class _Wording:
    subject: str
    body: str


@dataclass(frozen=True)
class EmailTemplate:
    """`values` and `sealed` name what the command must carry; `dates` which values are
    ISO 8601 moments to spell out in the reader's language; `optional` values default to ""."""

    values: tuple[str, ...]
    sealed: tuple[str, ...]
    wording: dict[str, _Wording]
    dates: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    needs_attachment: bool = False


_GREETING = {"en": "Hello", "de": "Hallo"}
_SIGN_OFF = {"en": "Kind regards,\n$merchant", "de": "Freundliche Grüße\n$merchant"}
_PURPOSES = {
    "en": {"secure_link": "open the secure link", "sign_in": "sign in"},
    "de": {"secure_link": "den sicheren Link zu öffnen", "sign_in": "sich anzumelden"},
}

TEMPLATES: dict[str, EmailTemplate] = {
    "portal_link_resent": EmailTemplate(
        values=(),
        sealed=("link",),
        wording={
            "en": _Wording(
                "Your link to the $merchant customer portal",
                "You asked for a new link to the $merchant customer portal. Open it to sign "
                "in:\n\n$link\n\nIf you did not ask for it, you can ignore this email.",
            ),
            "de": _Wording(
                "Ihr Link zum Kundenportal von $merchant",
                "Sie haben einen neuen Link zum Kundenportal von $merchant angefordert. "
                "Öffnen Sie ihn, um sich anzumelden:\n\n$link\n\nFalls Sie ihn nicht "
                "angefordert haben, können Sie diese E-Mail ignorieren.",
            ),
        },
    ),
    "sign_up_verification": EmailTemplate(
        values=(),
        sealed=("link",),
        wording={
            "en": _Wording(
                "Confirm your email address for $merchant",
                "Thanks for signing up with $merchant. Confirm your email address by opening "
                "this link:\n\n$link\n\nIf you did not sign up, you can ignore this email.",
            ),
            "de": _Wording(
                "Bestätigen Sie Ihre E-Mail-Adresse für $merchant",
                "Danke für Ihre Anmeldung bei $merchant. Bestätigen Sie Ihre E-Mail-Adresse "
                "mit diesem Link:\n\n$link\n\nFalls Sie sich nicht angemeldet haben, können "
                "Sie diese E-Mail ignorieren.",
            ),
        },
    ),
    "password_reset": EmailTemplate(
        values=("expires_at",),
        sealed=("link",),
        dates=("expires_at",),
        wording={
            "en": _Wording(
                "Reset your password for the $merchant portal",
                "Someone asked to reset the password of your $merchant portal account. To "
                "choose a new one, open this link before $expires_at:\n\n$link\n\nIf it was "
                "not you, ignore this email; your password stays as it is.",
            ),
            "de": _Wording(
                "Passwort für das Portal von $merchant zurücksetzen",
                "Jemand möchte das Passwort Ihres Kontos im Portal von $merchant "
                "zurücksetzen. Um ein neues zu wählen, öffnen Sie diesen Link bis "
                "$expires_at:\n\n$link\n\nWaren Sie es nicht, ignorieren Sie diese E-Mail; "
                "Ihr Passwort bleibt unverändert.",
            ),
        },
    ),
    "payment_receipt": EmailTemplate(
        values=("payment_number", "amount", "paid_at", "invoice_numbers"),
        sealed=(),
        dates=("paid_at",),
        needs_attachment=True,
        wording={
            "en": _Wording(
                "Receipt for your payment $payment_number to $merchant",
                "Thank you for your payment of $amount on $paid_at.\n\nPayment: "
                "$payment_number\nInvoices: $invoice_numbers\n\nThe receipt is attached.",
            ),
            "de": _Wording(
                "Beleg für Ihre Zahlung $payment_number an $merchant",
                "Vielen Dank für Ihre Zahlung über $amount am $paid_at.\n\nZahlung: "
                "$payment_number\nRechnungen: $invoice_numbers\n\nDer Beleg ist angehängt.",
            ),
        },
    ),
    "payment_failed": EmailTemplate(
        values=("invoice_number", "amount", "reason"),
        sealed=(),
        wording={
            "en": _Wording(
                "Your payment to $merchant did not go through",
                "We could not collect $amount for invoice $invoice_number.\n\nReason: "
                "$reason\n\nPlease check your payment method in the customer portal.",
            ),
            "de": _Wording(
                "Ihre Zahlung an $merchant ist fehlgeschlagen",
                "Wir konnten $amount für die Rechnung $invoice_number nicht einziehen.\n\n"
                "Grund: $reason\n\nBitte prüfen Sie Ihre Zahlungsart im Kundenportal.",
            ),
        },
    ),
    "transaction_comment": EmailTemplate(
        values=("document_kind", "document_number", "comment", "author"),
        sealed=(),
        wording={
            "en": _Wording(
                "New comment on $document_kind $document_number",
                "$author added a comment to $document_kind $document_number:\n\n"
                "$comment\n\nYou can read and answer it in the customer portal.",
            ),
            "de": _Wording(
                "Neuer Kommentar zu $document_kind $document_number",
                "$author hat $document_kind $document_number kommentiert:\n\n$comment\n\n"
                "Sie können ihn im Kundenportal lesen und beantworten.",
            ),
        },
    ),
    "forwarded_document": EmailTemplate(
        values=("document_kind", "document_number", "sender_name"),
        sealed=(),
        needs_attachment=True,
        wording={
            "en": _Wording(
                "$sender_name sent you $document_kind $document_number from $merchant",
                "$sender_name forwarded $document_kind $document_number from $merchant to "
                "you. You will find it attached to this email.",
            ),
            "de": _Wording(
                "$sender_name sendet Ihnen $document_kind $document_number von $merchant",
                "$sender_name hat Ihnen $document_kind $document_number von $merchant "
                "weitergeleitet. Sie finden das Dokument im Anhang.",
            ),
        },
    ),
    "one_time_code": EmailTemplate(
        values=("purpose", "expires_at"),
        sealed=("code",),
        dates=("expires_at",),
        wording={
            "en": _Wording(
                "Your $merchant verification code",
                "Your code to $purpose is:\n\n    $code\n\nIt works until $expires_at. Never "
                "share it with anyone; $merchant will not ask you for it.",
            ),
            "de": _Wording(
                "Ihr Bestätigungscode von $merchant",
                "Ihr Code, um $purpose, lautet:\n\n    $code\n\nEr gilt bis $expires_at. "
                "Geben Sie ihn nie weiter; $merchant wird Sie nie danach fragen.",
            ),
        },
    ),
    "review_request": EmailTemplate(
        values=(),
        sealed=(),
        optional=("portal_url",),
        wording={
            "en": _Wording(
                "How was your experience with $merchant?",
                "$merchant would like to hear what you think. You can rate them and write a "
                "short review in the customer portal.\n\n$portal_url",
            ),
            "de": _Wording(
                "Wie zufrieden sind Sie mit $merchant?",
                "$merchant möchte gern Ihre Meinung hören. Sie können im Kundenportal eine "
                "Bewertung abgeben und ein paar Worte schreiben.\n\n$portal_url",
            ),
        },
    ),
}

_DATES = {"en": _english_date, "de": _german_date}


def _language(requested: str) -> str:
    primary = requested.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in _GREETING else DEFAULT_LANGUAGE


def _moment(name: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as bad:
        raise TemplateError(f"value '{name}' is not an ISO 8601 date and time") from bad
    if moment.tzinfo is None:
        raise TemplateError(f"value '{name}' has no time zone")
    return moment.astimezone(UTC)


def render_customer_email(
    *,
    template: str,
    language: str,
    contact_name: str,
    merchant_name: str,
    values: dict[str, str],
    sealed: dict[str, str],
    attachments: int,
) -> RenderedMail:
    """Raises TemplateError when the command does not carry what the template needs."""
    spec = TEMPLATES.get(template)
    if spec is None:
        raise TemplateError(f"there is no email template '{template}'")
    missing = [v for v in spec.values if not values.get(v)]
    missing += [s for s in spec.sealed if not sealed.get(s)]
    if missing:
        raise TemplateError(f"template '{template}' needs {', '.join(sorted(missing))}")
    if spec.needs_attachment and attachments == 0:
        raise TemplateError(f"template '{template}' needs the document attached")
    lang = _language(language)
    filled: dict[str, str] = {o: "" for o in spec.optional}
    filled |= {name: values[name] for name in spec.values + spec.optional if name in values}
    for name in spec.dates:
        filled[name] = _DATES[lang](_moment(name, values[name]))
    if "purpose" in filled:
        filled["purpose"] = _PURPOSES[lang].get(filled["purpose"], filled["purpose"])
    for name in ("document_kind", "author", "sender_name", "invoice_numbers", "payment_number"):
        if name in filled:
            filled[name] = single_line(filled[name])
    filled |= {name: sealed[name] for name in spec.sealed}
    filled["merchant"] = single_line(merchant_name)
    wording = spec.wording[lang]
    name = single_line(contact_name)
    greeting = f"{_GREETING[lang]} {name}," if name else f"{_GREETING[lang]},"
    sign_off = Template(_SIGN_OFF[lang]).substitute(merchant=filled["merchant"])
    try:
        subject = single_line(Template(wording.subject).substitute(filled))
        body = Template(wording.body).substitute(filled)
    except (KeyError, ValueError) as bad:
        raise TemplateError(f"template '{template}' could not be filled: {bad}") from bad
    return RenderedMail(subject=subject, text=f"{greeting}\n\n{body.rstrip()}\n\n{sign_off}\n")
