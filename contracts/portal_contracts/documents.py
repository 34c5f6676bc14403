"""Customer documents owned by the invoicing service besides invoices and payments: quotes,
sales orders, credit notes, statements of account, and forwarding a document by email.

Quote, sales order and forwarding events travel on `invoicing.quote-events`; credit note and
statement events on `invoicing.credit-events` (both keyed by customer id). The commands travel
on `invoicing.commands` (the `InvoicingCommand` union in `invoicing.py`). A refused command is
answered with `CommandRejected` on the topic of the events it would have produced.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Discriminator, EmailStr, Field, Tag

from portal_contracts.common import Money
from portal_contracts.customers import CommandRejected
from portal_contracts.envelope import Envelope, Unrecognised, message_tag
from portal_contracts.projects import (
    ProjectCreated,
    TimeLogged,
    TimesheetApproved,
    TimesheetRejected,
    TimesheetSubmitted,
)

Id = Annotated[str, Field(min_length=1, max_length=64)]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DocumentLine(_Value):
    """One priced line: amount_minor = quantity * unit_amount_minor."""

    description: str = Field(min_length=1, max_length=300)
    quantity: int = Field(ge=1, le=1_000_000)
    unit_amount_minor: int = Field(ge=0)

    @property
    def amount_minor(self) -> int:
        return self.quantity * self.unit_amount_minor


class Recipient(_Value):
    """Who an email goes to (the gateway knows the customer's contacts)."""

    email: EmailStr
    name: str = Field(default="", max_length=200)
    contact_id: str | None = None


# ---------------------------------------------------------------- quotes


QuoteStatus = Literal["draft", "sent", "viewed", "accepted", "declined", "expired"]


class NewQuote(_Value):
    quote_id: Id
    customer_id: Id
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    lines: tuple[DocumentLine, ...] = Field(min_length=1, max_length=200)
    expires_on: dt.date | None = None
    notes: str = Field(default="", max_length=2000)
    send: bool = True


class CreateQuote(Envelope):
    """Command (merchant): create a quote for a customer, and send it unless `send` is off."""

    type: Literal["CreateQuote"] = "CreateQuote"
    schema_version: Literal[1] = 1
    data: NewQuote


class QuoteRef(_Value):
    quote_id: Id
    customer_id: Id


class SendQuote(Envelope):
    """Command (merchant): send a draft quote to the customer."""

    type: Literal["SendQuote"] = "SendQuote"
    schema_version: Literal[1] = 1
    data: QuoteRef


class RecordQuoteView(Envelope):
    """Command (portal): the customer opened the quote."""

    type: Literal["RecordQuoteView"] = "RecordQuoteView"
    schema_version: Literal[1] = 1
    data: QuoteRef


class QuoteAcceptance(_Value):
    quote_id: Id
    customer_id: Id
    contact_id: Id


class AcceptQuote(Envelope):
    """Command (portal): the customer accepts a sent or viewed quote."""

    type: Literal["AcceptQuote"] = "AcceptQuote"
    schema_version: Literal[1] = 1
    data: QuoteAcceptance


class QuoteRefusal(_Value):
    quote_id: Id
    customer_id: Id
    contact_id: Id
    reason: str = Field(min_length=1, max_length=1000)


class DeclineQuote(Envelope):
    """Command (portal): the customer declines a sent or viewed quote, saying why."""

    type: Literal["DeclineQuote"] = "DeclineQuote"
    schema_version: Literal[1] = 1
    data: QuoteRefusal


class NewComment(_Value):
    """A comment on a quote. A merchant's comment reaches the portal only with
    `show_in_portal`; `notify` (set by the gateway from the merchant's preference) asks for an
    email to the customer about it."""

    quote_id: Id
    customer_id: Id
    comment_id: Id
    author: Literal["merchant", "contact"]
    author_name: str = Field(default="", max_length=200)
    text: str = Field(min_length=1, max_length=4000)
    show_in_portal: bool = True
    notify: Recipient | None = None
    merchant_name: str = Field(default="", max_length=200)
    language: str = "en"


class CommentOnQuote(Envelope):
    type: Literal["CommentOnQuote"] = "CommentOnQuote"
    schema_version: Literal[1] = 1
    data: NewComment


class QuoteSnapshot(_Value):
    quote_id: str
    customer_id: str
    number: str
    status: QuoteStatus
    currency: str
    lines: tuple[DocumentLine, ...]
    total: Money
    expires_on: dt.date | None = None
    notes: str = ""
    created_at: AwareDatetime


class QuoteCreated(Envelope):
    type: Literal["QuoteCreated"] = "QuoteCreated"
    schema_version: Literal[1] = 1
    data: QuoteSnapshot


class QuoteStep(_Value):
    """A quote moved to `status` (sent, viewed, accepted, declined)."""

    quote_id: str
    customer_id: str
    number: str
    status: QuoteStatus
    at: AwareDatetime
    contact_id: str | None = None
    reason: str | None = None


class QuoteSent(Envelope):
    type: Literal["QuoteSent"] = "QuoteSent"
    schema_version: Literal[1] = 1
    data: QuoteStep


class QuoteViewed(Envelope):
    type: Literal["QuoteViewed"] = "QuoteViewed"
    schema_version: Literal[1] = 1
    data: QuoteStep


class QuoteAccepted(Envelope):
    type: Literal["QuoteAccepted"] = "QuoteAccepted"
    schema_version: Literal[1] = 1
    data: QuoteStep


class QuoteDeclined(Envelope):
    type: Literal["QuoteDeclined"] = "QuoteDeclined"
    schema_version: Literal[1] = 1
    data: QuoteStep


class QuoteExpiry(_Value):
    """A sent or viewed quote passed its `expires_on` date unanswered; it can no longer be
    accepted or declined."""

    quote_id: str
    customer_id: str
    number: str
    expires_on: dt.date


class QuoteExpired(Envelope):
    """Event (invoicing's clock): the quote's status is now `expired`."""

    type: Literal["QuoteExpired"] = "QuoteExpired"
    schema_version: Literal[1] = 1
    data: QuoteExpiry


class QuoteComment(_Value):
    quote_id: str
    customer_id: str
    comment_id: str
    author: Literal["merchant", "contact"]
    author_name: str = ""
    text: str
    show_in_portal: bool
    at: AwareDatetime


class QuoteCommentAdded(Envelope):
    type: Literal["QuoteCommentAdded"] = "QuoteCommentAdded"
    schema_version: Literal[1] = 1
    data: QuoteComment


# ---------------------------------------------------------------- sales orders


class NewSalesOrder(_Value):
    sales_order_id: Id
    customer_id: Id
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    lines: tuple[DocumentLine, ...] = Field(min_length=1, max_length=200)
    quote_id: str | None = None
    reference: str = Field(default="", max_length=200)


class CreateSalesOrder(Envelope):
    """Command (merchant): confirm an order for a customer."""

    type: Literal["CreateSalesOrder"] = "CreateSalesOrder"
    schema_version: Literal[1] = 1
    data: NewSalesOrder


class Fulfilment(_Value):
    sales_order_id: Id
    customer_id: Id
    invoice_id: Id
    invoice_number: str = Field(min_length=1, max_length=64)


class FulfilSalesOrder(Envelope):
    """Command (merchant): the order was delivered and invoiced by `invoice_id`."""

    type: Literal["FulfilSalesOrder"] = "FulfilSalesOrder"
    schema_version: Literal[1] = 1
    data: Fulfilment


class SalesOrderSnapshot(_Value):
    sales_order_id: str
    customer_id: str
    number: str
    status: Literal["confirmed", "fulfilled"]
    currency: str
    lines: tuple[DocumentLine, ...]
    total: Money
    quote_id: str | None = None
    reference: str = ""
    created_at: AwareDatetime


class SalesOrderCreated(Envelope):
    type: Literal["SalesOrderCreated"] = "SalesOrderCreated"
    schema_version: Literal[1] = 1
    data: SalesOrderSnapshot


class SalesOrderFulfilment(_Value):
    sales_order_id: str
    customer_id: str
    number: str
    invoice_id: str
    invoice_number: str
    at: AwareDatetime


class SalesOrderFulfilled(Envelope):
    type: Literal["SalesOrderFulfilled"] = "SalesOrderFulfilled"
    schema_version: Literal[1] = 1
    data: SalesOrderFulfilment


# ---------------------------------------------------------------- forwarding


class Forwarding(_Value):
    """Send an invoice or quote of the customer, with its PDF, to another person; that person
    becomes a contact of the customer."""

    customer_id: Id
    document_kind: Literal["invoice", "quote"]
    document_id: Id
    to: Recipient
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(default="", max_length=100)
    sender_name: str = Field(default="", max_length=200)
    merchant_name: str = Field(default="", max_length=200)
    language: str = "en"


class ForwardDocument(Envelope):
    type: Literal["ForwardDocument"] = "ForwardDocument"
    schema_version: Literal[1] = 1
    data: Forwarding


class ForwardedDocument(_Value):
    customer_id: str
    document_kind: Literal["invoice", "quote"]
    document_id: str
    document_number: str
    to_email: EmailStr
    contact_id: str | None = None
    at: AwareDatetime


class DocumentForwarded(Envelope):
    type: Literal["DocumentForwarded"] = "DocumentForwarded"
    schema_version: Literal[1] = 1
    data: ForwardedDocument


# ---------------------------------------------------------------- credit notes


class NewCreditNote(_Value):
    credit_note_id: Id
    customer_id: Id
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    lines: tuple[DocumentLine, ...] = Field(min_length=1, max_length=200)
    reason: str = Field(default="", max_length=500)
    invoice_id: str | None = None


class IssueCreditNote(Envelope):
    """Command (merchant): give the customer credit (returned goods, a goodwill gesture)."""

    type: Literal["IssueCreditNote"] = "IssueCreditNote"
    schema_version: Literal[1] = 1
    data: NewCreditNote


class CreditApplication(_Value):
    credit_note_id: Id
    customer_id: Id
    invoice_id: Id
    amount_minor: int = Field(gt=0)


class ApplyCredit(Envelope):
    """Command (merchant): use available credit of a credit note against an open invoice."""

    type: Literal["ApplyCredit"] = "ApplyCredit"
    schema_version: Literal[1] = 1
    data: CreditApplication


class CreditRefund(_Value):
    credit_note_id: Id
    customer_id: Id
    refund_id: Id
    amount_minor: int = Field(gt=0)
    reference: str = Field(default="", max_length=200)


class RefundCredit(Envelope):
    """Command (merchant): pay available credit back to the customer."""

    type: Literal["RefundCredit"] = "RefundCredit"
    schema_version: Literal[1] = 1
    data: CreditRefund


class CreditNoteSnapshot(_Value):
    credit_note_id: str
    customer_id: str
    number: str
    status: Literal["open", "closed"]
    currency: str
    lines: tuple[DocumentLine, ...]
    total: Money
    available: Money
    reason: str = ""
    issued_at: AwareDatetime


class CreditNoteIssued(Envelope):
    type: Literal["CreditNoteIssued"] = "CreditNoteIssued"
    schema_version: Literal[1] = 1
    data: CreditNoteSnapshot


class CreditUse(_Value):
    """Credit applied to an invoice (`invoice_id`) or refunded (`refund_id`)."""

    credit_note_id: str
    customer_id: str
    number: str
    amount: Money
    available: Money
    status: Literal["open", "closed"]
    at: AwareDatetime
    invoice_id: str | None = None
    refund_id: str | None = None
    reference: str = ""


class CreditApplied(Envelope):
    """Credit reduced an invoice's balance by `amount` (the invoice owner applies it too)."""

    type: Literal["CreditApplied"] = "CreditApplied"
    schema_version: Literal[1] = 1
    data: CreditUse


class CreditRefunded(Envelope):
    type: Literal["CreditRefunded"] = "CreditRefunded"
    schema_version: Literal[1] = 1
    data: CreditUse


# ---------------------------------------------------------------- statements


class StatementRequest(_Value):
    statement_id: Id
    customer_id: Id
    period_start: dt.date
    period_end: dt.date
    merchant_name: str = Field(default="", max_length=200)


class GenerateStatement(Envelope):
    """Command (portal or merchant): a statement of account for a date range (inclusive)."""

    type: Literal["GenerateStatement"] = "GenerateStatement"
    schema_version: Literal[1] = 1
    data: StatementRequest


class StatementLine(_Value):
    date: dt.date
    kind: Literal["invoice", "payment", "credit_note", "refund"]
    reference: str
    # Positive raises what the customer owes (invoices, refunds), negative lowers it.
    amount_minor: int
    balance_minor: int


class Ageing(_Value):
    """What is still owed at the end of the period, by days past the due date."""

    current: int = 0
    days_1_30: int = 0
    days_31_60: int = 0
    days_61_90: int = 0
    over_90: int = 0


class StatementPart(_Value):
    """One piece of a generated statement: lines and a slice of the PDF (base64). Big
    statements are split so no message grows past the broker's size limit."""

    statement_id: str
    customer_id: str
    index: int = Field(ge=0)
    lines: tuple[StatementLine, ...] = ()
    pdf_base64: str = Field(default="", max_length=400_000)


class StatementPartGenerated(Envelope):
    type: Literal["StatementPartGenerated"] = "StatementPartGenerated"
    schema_version: Literal[1] = 1
    data: StatementPart


class StatementSummary(_Value):
    """Sent after all of its parts: opening + invoiced + refunded - paid - credited = closing."""

    statement_id: str
    customer_id: str
    period_start: dt.date
    period_end: dt.date
    currency: str
    opening_balance_minor: int
    invoiced_minor: int
    paid_minor: int
    credited_minor: int
    refunded_minor: int
    closing_balance_minor: int
    ageing: Ageing
    line_count: int
    parts: int
    generated_at: AwareDatetime


class StatementGenerated(Envelope):
    type: Literal["StatementGenerated"] = "StatementGenerated"
    schema_version: Literal[1] = 1
    data: StatementSummary


# ---------------------------------------------------------------- unions

COMMANDS: tuple[type[Envelope], ...] = (
    CreateQuote,
    SendQuote,
    RecordQuoteView,
    AcceptQuote,
    DeclineQuote,
    CommentOnQuote,
    CreateSalesOrder,
    FulfilSalesOrder,
    ForwardDocument,
    IssueCreditNote,
    ApplyCredit,
    RefundCredit,
    GenerateStatement,
)

MESSAGES: tuple[type[Envelope], ...] = (
    *COMMANDS,
    QuoteCreated,
    QuoteSent,
    QuoteViewed,
    QuoteAccepted,
    QuoteDeclined,
    QuoteExpired,
    QuoteCommentAdded,
    SalesOrderCreated,
    SalesOrderFulfilled,
    DocumentForwarded,
    CreditNoteIssued,
    CreditApplied,
    CreditRefunded,
    StatementPartGenerated,
    StatementGenerated,
)

QuoteMessage = Annotated[
    Annotated[QuoteCreated, Tag("QuoteCreated.v1")]
    | Annotated[QuoteSent, Tag("QuoteSent.v1")]
    | Annotated[QuoteViewed, Tag("QuoteViewed.v1")]
    | Annotated[QuoteAccepted, Tag("QuoteAccepted.v1")]
    | Annotated[QuoteDeclined, Tag("QuoteDeclined.v1")]
    | Annotated[QuoteExpired, Tag("QuoteExpired.v1")]
    | Annotated[QuoteCommentAdded, Tag("QuoteCommentAdded.v1")]
    | Annotated[SalesOrderCreated, Tag("SalesOrderCreated.v1")]
    | Annotated[SalesOrderFulfilled, Tag("SalesOrderFulfilled.v1")]
    | Annotated[DocumentForwarded, Tag("DocumentForwarded.v1")]
    | Annotated[ProjectCreated, Tag("ProjectCreated.v1")]
    | Annotated[TimeLogged, Tag("TimeLogged.v1")]
    | Annotated[TimesheetSubmitted, Tag("TimesheetSubmitted.v1")]
    | Annotated[TimesheetApproved, Tag("TimesheetApproved.v1")]
    | Annotated[TimesheetRejected, Tag("TimesheetRejected.v1")]
    | Annotated[CommandRejected, Tag("CommandRejected.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
"""`invoicing.quote-events`: quotes, sales orders, forwarded documents, projects and
timesheets (`projects.py`), refusals."""

CreditMessage = Annotated[
    Annotated[CreditNoteIssued, Tag("CreditNoteIssued.v1")]
    | Annotated[CreditApplied, Tag("CreditApplied.v1")]
    | Annotated[CreditRefunded, Tag("CreditRefunded.v1")]
    | Annotated[StatementPartGenerated, Tag("StatementPartGenerated.v1")]
    | Annotated[StatementGenerated, Tag("StatementGenerated.v1")]
    | Annotated[CommandRejected, Tag("CommandRejected.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
"""`invoicing.credit-events`: credit notes, statements of account, refusals."""

DocumentsCommand = Annotated[
    Annotated[CreateQuote, Tag("CreateQuote.v1")]
    | Annotated[SendQuote, Tag("SendQuote.v1")]
    | Annotated[RecordQuoteView, Tag("RecordQuoteView.v1")]
    | Annotated[AcceptQuote, Tag("AcceptQuote.v1")]
    | Annotated[DeclineQuote, Tag("DeclineQuote.v1")]
    | Annotated[CommentOnQuote, Tag("CommentOnQuote.v1")]
    | Annotated[CreateSalesOrder, Tag("CreateSalesOrder.v1")]
    | Annotated[FulfilSalesOrder, Tag("FulfilSalesOrder.v1")]
    | Annotated[ForwardDocument, Tag("ForwardDocument.v1")]
    | Annotated[IssueCreditNote, Tag("IssueCreditNote.v1")]
    | Annotated[ApplyCredit, Tag("ApplyCredit.v1")]
    | Annotated[RefundCredit, Tag("RefundCredit.v1")]
    | Annotated[GenerateStatement, Tag("GenerateStatement.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
"""The document commands on `invoicing.commands`; `InvoicingCommand` lists them too."""
