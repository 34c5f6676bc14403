"""Commands to the invoicing service and the events it publishes, one union per topic.

Topics: `invoicing.commands` (InvoicingCommand), `invoicing.invoice-events` (InvoiceMessage),
`invoicing.payment-events` (PaymentMessage), `invoicing.account-events` (AccountMessage).
A refused command is answered with `CommandRejected` (customers.py) on the events topic of the
aggregate it names (invoices or payments) with the command's correlation id.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Discriminator, Field, Tag

from portal_contracts import documents, projects
from portal_contracts.common import Money
from portal_contracts.customers import CommandRejected
from portal_contracts.envelope import Envelope, Unrecognised, message_tag


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- merchant set-up -------------------------------------------------------------------------


class Tax(_Data):
    name: str = Field(min_length=1, max_length=60)
    rate_basis_points: int = Field(ge=0, le=10_000, description="1900 = 19%")


class GatewaySetup(_Data):
    """How the merchant's payment gateway account is configured (the sandbox obeys it)."""

    supports_recurring: bool = True
    reference_transactions: bool = True
    credentials_valid: bool = True
    currencies: tuple[str, ...] = ("USD", "EUR", "GBP", "CAD", "AUD")
    minimum_amount_minor: int = Field(default=50, ge=0)


class InvoicingSetup(_Data):
    default_tax: Tax | None = None
    gateway: GatewaySetup = GatewaySetup()
    payment_terms_days: int = Field(default=14, ge=0, le=365)


class ConfigureInvoicing(Envelope):
    """Command (merchant): the default tax, payment terms and the gateway configuration."""

    type: Literal["ConfigureInvoicing"] = "ConfigureInvoicing"
    schema_version: Literal[1] = 1
    data: InvoicingSetup


class InvoicingConfigured(Envelope):
    type: Literal["InvoicingConfigured"] = "InvoicingConfigured"
    schema_version: Literal[1] = 1
    data: InvoicingSetup


# --- invoices --------------------------------------------------------------------------------

InvoiceStatus = Literal["draft", "sent", "viewed", "partially_paid", "paid", "overdue", "void"]


class InvoiceLine(_Data):
    description: str = Field(min_length=1, max_length=300)
    quantity: int = Field(ge=0)
    unit_amount_minor: int
    amount_minor: int


class NewInvoice(_Data):
    customer_id: str
    invoice_id: str = Field(min_length=1, max_length=64)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    lines: tuple[InvoiceLine, ...] = Field(min_length=1)
    discount_minor: int = Field(default=0, ge=0)
    due_in_days: int | None = Field(default=None, ge=0, le=365)
    allow_partial_payments: bool = False
    as_draft: bool = False
    subscription_id: str | None = None


class CreateInvoice(Envelope):
    """Command (merchant): raise an invoice for a customer."""

    type: Literal["CreateInvoice"] = "CreateInvoice"
    schema_version: Literal[1] = 1
    data: NewInvoice


class InvoiceRef(_Data):
    customer_id: str
    invoice_id: str


class SendInvoice(Envelope):
    """Command (merchant): a draft invoice becomes sent."""

    type: Literal["SendInvoice"] = "SendInvoice"
    schema_version: Literal[1] = 1
    data: InvoiceRef


class VoidInvoice(Envelope):
    type: Literal["VoidInvoice"] = "VoidInvoice"
    schema_version: Literal[1] = 1
    data: InvoiceRef


class InvoiceView(_Data):
    customer_id: str
    invoice_id: str
    contact_id: str


class MarkInvoiceViewed(Envelope):
    """Command (gateway): a contact opened the invoice in the portal."""

    type: Literal["MarkInvoiceViewed"] = "MarkInvoiceViewed"
    schema_version: Literal[1] = 1
    data: InvoiceView


class InvoiceSnapshot(_Data):
    customer_id: str
    invoice_id: str
    number: str
    status: InvoiceStatus
    currency: str
    lines: tuple[InvoiceLine, ...]
    subtotal_minor: int
    discount_minor: int
    tax_name: str
    tax_rate_basis_points: int
    tax_minor: int
    total_minor: int
    amount_paid_minor: int
    balance_minor: int
    issued_at: AwareDatetime
    due_at: AwareDatetime
    allow_partial_payments: bool
    subscription_id: str | None = None
    autocharge: bool = False
    viewed_at: AwareDatetime | None = None


class InvoiceIssued(Envelope):
    type: Literal["InvoiceIssued"] = "InvoiceIssued"
    schema_version: Literal[1] = 1
    data: InvoiceSnapshot


class InvoiceUpdated(Envelope):
    """The invoice changed (status, amounts paid); `data` is the whole invoice as it is now."""

    type: Literal["InvoiceUpdated"] = "InvoiceUpdated"
    schema_version: Literal[1] = 1
    data: InvoiceSnapshot


class InvoiceViewedFacts(_Data):
    customer_id: str
    invoice_id: str
    contact_id: str
    viewed_at: AwareDatetime


class InvoiceViewed(Envelope):
    """First view of an invoice by the customer (recorded once)."""

    type: Literal["InvoiceViewed"] = "InvoiceViewed"
    schema_version: Literal[1] = 1
    data: InvoiceViewedFacts


class PaidInvoice(_Data):
    customer_id: str
    invoice_id: str
    subscription_id: str | None = None
    amount: Money


class InvoicePaid(Envelope):
    """The invoice is paid in full (subscriptions moves a past-due subscription back to live)."""

    type: Literal["InvoicePaid"] = "InvoicePaid"
    schema_version: Literal[1] = 1
    data: PaidInvoice


class InvoiceFailure(_Data):
    customer_id: str
    charge_id: str
    subscription_id: str | None = None
    code: str
    reason: str
    remedy: str


class InvoiceCreationFailed(Envelope):
    """A charge could not become an invoice (e.g. CP2001, no default tax); kept to retry."""

    type: Literal["InvoiceCreationFailed"] = "InvoiceCreationFailed"
    schema_version: Literal[1] = 1
    data: InvoiceFailure


class RenderedDocument(_Data):
    """A document's PDF, for the gateway's `documents` collection (it answers downloads)."""

    customer_id: str
    document_id: str
    kind: str = Field(min_length=1, max_length=40, description="invoice, receipt, ...")
    number: str
    filename: str
    content_base64: str = Field(min_length=1, max_length=4_000_000)


class DocumentRendered(Envelope):
    type: Literal["DocumentRendered"] = "DocumentRendered"
    schema_version: Literal[1] = 1
    data: RenderedDocument


# --- payments and payment methods -----------------------------------------------------------

PaymentStatus = Literal["pending", "succeeded", "failed"]


class PaymentRequest(_Data):
    """Pay `invoice_ids` (or, with `all_outstanding`, every open invoice) in one payment, with a
    saved method or a gateway token. `amount_minor` pays part of one invoice (when allowed)."""

    customer_id: str
    payment_id: str = Field(min_length=1, max_length=64)
    invoice_ids: tuple[str, ...] = ()
    all_outstanding: bool = False
    amount_minor: int | None = Field(default=None, gt=0)
    payment_method_id: str | None = None
    token: str | None = Field(default=None, max_length=200)
    save_method: bool = False
    prevent_duplicates: bool = True


class PayInvoices(Envelope):
    """Command (portal): pay invoices now."""

    type: Literal["PayInvoices"] = "PayInvoices"
    schema_version: Literal[1] = 1
    data: PaymentRequest


class BankPaymentResolution(_Data):
    customer_id: str
    payment_id: str
    outcome: Literal["settled", "failed"]


class ResolveBankPayment(Envelope):
    """Command (merchant, sandbox only): settle or fail a pending bank payment now."""

    type: Literal["ResolveBankPayment"] = "ResolveBankPayment"
    schema_version: Literal[1] = 1
    data: BankPaymentResolution


class Allocation(_Data):
    invoice_id: str
    invoice_number: str
    amount_minor: int


class MethodSummary(_Data):
    kind: Literal["card", "bank_account"]
    brand: str
    last4: str = Field(pattern=r"^[0-9]{4}$")
    exp_month: int | None = None
    exp_year: int | None = None


class PaymentFailure(_Data):
    code: str
    reason: str
    remedy: str
    customer_message: str


class PaymentSnapshot(_Data):
    customer_id: str
    payment_id: str
    number: str
    status: PaymentStatus
    amount: Money
    method: MethodSummary
    allocations: tuple[Allocation, ...]
    created_at: AwareDatetime
    settled_at: AwareDatetime | None = None
    failure: PaymentFailure | None = None
    autocharge: bool = False


class PaymentSucceeded(Envelope):
    type: Literal["PaymentSucceeded"] = "PaymentSucceeded"
    schema_version: Literal[1] = 1
    data: PaymentSnapshot


class PaymentPending(Envelope):
    """A bank payment was accepted and waits to settle; its invoices cannot be paid again."""

    type: Literal["PaymentPending"] = "PaymentPending"
    schema_version: Literal[1] = 1
    data: PaymentSnapshot


class PaymentFailed(Envelope):
    type: Literal["PaymentFailed"] = "PaymentFailed"
    schema_version: Literal[1] = 1
    data: PaymentSnapshot


class AutochargeFailure(_Data):
    customer_id: str
    subscription_id: str | None
    invoice_id: str
    attempt: int = Field(ge=1)
    final: bool
    code: str


class AutochargeFailed(Envelope):
    """An automatic charge failed; `final` when no retry is left (subscriptions: past due)."""

    type: Literal["AutochargeFailed"] = "AutochargeFailed"
    schema_version: Literal[1] = 1
    data: AutochargeFailure


class NewPaymentMethod(_Data):
    customer_id: str
    payment_method_id: str = Field(min_length=1, max_length=64)
    token: str = Field(min_length=1, max_length=200)


class AddPaymentMethod(Envelope):
    type: Literal["AddPaymentMethod"] = "AddPaymentMethod"
    schema_version: Literal[1] = 1
    data: NewPaymentMethod


class PaymentMethodChange(_Data):
    customer_id: str
    payment_method_id: str
    new_payment_method_id: str = Field(min_length=1, max_length=64)
    token: str = Field(min_length=1, max_length=200)


class UpdatePaymentMethod(Envelope):
    """Command: replace a saved method with a new card or account (new token)."""

    type: Literal["UpdatePaymentMethod"] = "UpdatePaymentMethod"
    schema_version: Literal[1] = 1
    data: PaymentMethodChange


class PaymentMethodRef(_Data):
    customer_id: str
    payment_method_id: str


class RemovePaymentMethod(Envelope):
    type: Literal["RemovePaymentMethod"] = "RemovePaymentMethod"
    schema_version: Literal[1] = 1
    data: PaymentMethodRef


class SavedPaymentMethod(_Data):
    customer_id: str
    payment_method_id: str
    method: MethodSummary


class PaymentMethodAdded(Envelope):
    type: Literal["PaymentMethodAdded"] = "PaymentMethodAdded"
    schema_version: Literal[1] = 1
    data: SavedPaymentMethod


class Replacement(_Data):
    customer_id: str
    old_payment_method_id: str
    new_payment_method_id: str
    method: MethodSummary


class PaymentMethodReplaced(Envelope):
    """Subscriptions autocharging with the old method now use the new one."""

    type: Literal["PaymentMethodReplaced"] = "PaymentMethodReplaced"
    schema_version: Literal[1] = 1
    data: Replacement


class PaymentMethodRemoved(Envelope):
    type: Literal["PaymentMethodRemoved"] = "PaymentMethodRemoved"
    schema_version: Literal[1] = 1
    data: PaymentMethodRef


# --- the customer's account -------------------------------------------------------------------


class AccountBalance(_Data):
    customer_id: str
    outstanding: Money
    unused_credits: Money


class CustomerAccountOpened(Envelope):
    type: Literal["CustomerAccountOpened"] = "CustomerAccountOpened"
    schema_version: Literal[1] = 1
    data: AccountBalance


class AccountBalanceChanged(Envelope):
    type: Literal["AccountBalanceChanged"] = "AccountBalanceChanged"
    schema_version: Literal[1] = 1
    data: AccountBalance


MESSAGES: tuple[type[Envelope], ...] = (
    ConfigureInvoicing,
    InvoicingConfigured,
    CreateInvoice,
    SendInvoice,
    VoidInvoice,
    MarkInvoiceViewed,
    InvoiceIssued,
    InvoiceUpdated,
    InvoiceViewed,
    InvoicePaid,
    InvoiceCreationFailed,
    DocumentRendered,
    PayInvoices,
    ResolveBankPayment,
    PaymentSucceeded,
    PaymentPending,
    PaymentFailed,
    AutochargeFailed,
    AddPaymentMethod,
    UpdatePaymentMethod,
    RemovePaymentMethod,
    PaymentMethodAdded,
    PaymentMethodReplaced,
    PaymentMethodRemoved,
    CustomerAccountOpened,
    AccountBalanceChanged,
)

# Other modules of the invoicing service add their commands here (one line each).
InvoicingCommand = Annotated[
    Annotated[ConfigureInvoicing, Tag("ConfigureInvoicing.v1")]
    | Annotated[CreateInvoice, Tag("CreateInvoice.v1")]
    | Annotated[SendInvoice, Tag("SendInvoice.v1")]
    | Annotated[VoidInvoice, Tag("VoidInvoice.v1")]
    | Annotated[MarkInvoiceViewed, Tag("MarkInvoiceViewed.v1")]
    | Annotated[PayInvoices, Tag("PayInvoices.v1")]
    | Annotated[ResolveBankPayment, Tag("ResolveBankPayment.v1")]
    | Annotated[AddPaymentMethod, Tag("AddPaymentMethod.v1")]
    | Annotated[UpdatePaymentMethod, Tag("UpdatePaymentMethod.v1")]
    | Annotated[RemovePaymentMethod, Tag("RemovePaymentMethod.v1")]
    | Annotated[documents.CreateQuote, Tag("CreateQuote.v1")]
    | Annotated[documents.SendQuote, Tag("SendQuote.v1")]
    | Annotated[documents.RecordQuoteView, Tag("RecordQuoteView.v1")]
    | Annotated[documents.AcceptQuote, Tag("AcceptQuote.v1")]
    | Annotated[documents.DeclineQuote, Tag("DeclineQuote.v1")]
    | Annotated[documents.CommentOnQuote, Tag("CommentOnQuote.v1")]
    | Annotated[documents.CreateSalesOrder, Tag("CreateSalesOrder.v1")]
    | Annotated[documents.FulfilSalesOrder, Tag("FulfilSalesOrder.v1")]
    | Annotated[documents.ForwardDocument, Tag("ForwardDocument.v1")]
    | Annotated[documents.IssueCreditNote, Tag("IssueCreditNote.v1")]
    | Annotated[documents.ApplyCredit, Tag("ApplyCredit.v1")]
    | Annotated[documents.RefundCredit, Tag("RefundCredit.v1")]
    | Annotated[documents.GenerateStatement, Tag("GenerateStatement.v1")]
    | Annotated[projects.CreateProject, Tag("CreateProject.v1")]
    | Annotated[projects.LogTime, Tag("LogTime.v1")]
    | Annotated[projects.SubmitTimesheet, Tag("SubmitTimesheet.v1")]
    | Annotated[projects.ApproveTimesheet, Tag("ApproveTimesheet.v1")]
    | Annotated[projects.RejectTimesheet, Tag("RejectTimesheet.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
InvoiceMessage = Annotated[
    Annotated[InvoicingConfigured, Tag("InvoicingConfigured.v1")]
    | Annotated[InvoiceIssued, Tag("InvoiceIssued.v1")]
    | Annotated[InvoiceUpdated, Tag("InvoiceUpdated.v1")]
    | Annotated[InvoiceViewed, Tag("InvoiceViewed.v1")]
    | Annotated[InvoicePaid, Tag("InvoicePaid.v1")]
    | Annotated[InvoiceCreationFailed, Tag("InvoiceCreationFailed.v1")]
    | Annotated[DocumentRendered, Tag("DocumentRendered.v1")]
    | Annotated[CommandRejected, Tag("CommandRejected.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
PaymentMessage = Annotated[
    Annotated[PaymentSucceeded, Tag("PaymentSucceeded.v1")]
    | Annotated[PaymentPending, Tag("PaymentPending.v1")]
    | Annotated[PaymentFailed, Tag("PaymentFailed.v1")]
    | Annotated[AutochargeFailed, Tag("AutochargeFailed.v1")]
    | Annotated[PaymentMethodAdded, Tag("PaymentMethodAdded.v1")]
    | Annotated[PaymentMethodReplaced, Tag("PaymentMethodReplaced.v1")]
    | Annotated[PaymentMethodRemoved, Tag("PaymentMethodRemoved.v1")]
    | Annotated[CommandRejected, Tag("CommandRejected.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
AccountMessage = Annotated[
    Annotated[CustomerAccountOpened, Tag("CustomerAccountOpened.v1")]
    | Annotated[AccountBalanceChanged, Tag("AccountBalanceChanged.v1")]
    | Unrecognised,
    Discriminator(message_tag),
]
