"""Why a charge or an invoice failed: the code, what the merchant can do, what the customer sees.

The CP codes follow the product's troubleshooting table; the wording is ours.
"""

from __future__ import annotations

from dataclasses import dataclass

CUSTOMER_RETRY = "The payment could not be completed. Please try another payment method."


@dataclass(frozen=True)
class Failure:
    code: str
    reason: str
    remedy: str
    customer_message: str = CUSTOMER_RETRY


FAILURES: dict[str, Failure] = {
    failure.code: failure
    for failure in (
        Failure(
            "CP1003",
            "The portal is linked to a customer contact that no longer exists.",
            "Check that the customer's contact still exists, or invite a current contact.",
        ),
        Failure(
            "CP1004",
            "The portal is linked to a subscription that no longer exists.",
            "Check that the subscription behind the charge still exists.",
        ),
        Failure(
            "CP2001",
            "No default tax is set up for the organisation, so invoices cannot be raised.",
            "Set a default tax with PUT /admin/v1/invoicing/setup (default_tax); charges that "
            "failed are invoiced again when you do.",
            "This invoice cannot be raised yet. The merchant has been told.",
        ),
        Failure(
            "CP3001",
            "Reference transactions (charging a saved method later) are off in the gateway "
            "account.",
            "Turn on reference transactions in the payment gateway account.",
        ),
        Failure(
            "CP3002",
            "The payment gateway refused the merchant's credentials.",
            "Enter the gateway credentials again in the invoicing set-up.",
            "Payments are unavailable at the moment. Please try again later.",
        ),
        Failure(
            "CP3003",
            "The gateway's fraud filters stopped the payment.",
            "Review the transaction; relax the fraud filters if it was genuine.",
        ),
        Failure(
            "CP3004",
            "The gateway could not verify the customer's billing address.",
            "Review which address fields the payment page asks for (card verification).",
            "Your billing address could not be verified. Check it or use another card.",
        ),
        Failure(
            "CP3005",
            "The same amount was charged to the same card a few minutes ago.",
            "Ask the customer to wait a few minutes before trying again.",
            "A payment of the same amount was just made with this card. Please wait a few "
            "minutes before trying again.",
        ),
        Failure(
            "CP4001",
            "The amount is below the gateway's minimum (discounts or credits may have lowered it).",
            "Make sure the amount charged is above the gateway's minimum.",
            "This amount is too small to pay online.",
        ),
        Failure(
            "CP4002",
            "The configured gateway cannot make recurring charges.",
            "Configure a payment gateway that supports recurring charges.",
        ),
        Failure(
            "CP4003",
            "The configured gateway does not accept this currency.",
            "Configure a payment gateway that accepts the invoice currency.",
            "Payments in this currency are not accepted online.",
        ),
        Failure(
            "card_declined",
            "The card issuer declined the charge.",
            "Ask the customer to contact their bank or use another card.",
            "Your card was declined. Please use another card or contact your bank.",
        ),
        Failure(
            "bank_payment_returned",
            "The bank returned the payment (e.g. insufficient funds or a closed account).",
            "Ask the customer to check the account or pay another way.",
            "Your bank payment did not go through. Please pay another way.",
        ),
        Failure(
            "no_payment_method",
            "The subscription has no usable saved payment method for an automatic charge.",
            "Ask the customer to add a payment method in the portal.",
            "Add a payment method so your invoices can be paid automatically.",
        ),
        Failure(
            "invalid_token",
            "The gateway does not know this card or bank token.",
            "Ask the customer to enter the card or account again.",
            "This card or account could not be used. Please enter it again.",
        ),
    )
}


def failure(code: str) -> Failure:
    return FAILURES[code]
