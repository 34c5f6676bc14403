"""Topic names. Commands go to the owning service's topic; events to the aggregate family's.

Key = customer id (organisation id for organisation-level facts), so one customer's messages
stay in order on one partition.
"""

# subscriptions: customers, catalogue, subscriptions, the billing clock
SUBSCRIPTIONS_COMMANDS = "subscriptions.commands"
CUSTOMER_EVENTS = "subscriptions.customer-events"
CATALOGUE_EVENTS = "subscriptions.catalogue-events"
SUBSCRIPTION_EVENTS = "subscriptions.subscription-events"

# identity: portal access, sign-in, sessions
IDENTITY_COMMANDS = "identity.commands"
IDENTITY_ACCESS_EVENTS = "identity.access-events"

# invoicing: invoices, payments, methods, credits, quotes, statements
INVOICING_COMMANDS = "invoicing.commands"
INVOICING_ACCOUNT_EVENTS = "invoicing.account-events"
INVOICE_EVENTS = "invoicing.invoice-events"
PAYMENT_EVENTS = "invoicing.payment-events"
CREDIT_EVENTS = "invoicing.credit-events"
QUOTE_EVENTS = "invoicing.quote-events"

# notifications: mail, the merchant notification stream, portal activity
NOTIFICATIONS_COMMANDS = "notifications.commands"
MERCHANT_NOTIFICATIONS = "notifications.merchant-notifications"

# gateway: merchants and their portal settings; what customers do in the portal
MERCHANT_EVENTS = "gateway.merchant-events"
PORTAL_EVENTS = "gateway.portal-events"

ALL_TOPICS = (
    SUBSCRIPTIONS_COMMANDS,
    CUSTOMER_EVENTS,
    CATALOGUE_EVENTS,
    SUBSCRIPTION_EVENTS,
    IDENTITY_COMMANDS,
    IDENTITY_ACCESS_EVENTS,
    INVOICING_COMMANDS,
    INVOICING_ACCOUNT_EVENTS,
    INVOICE_EVENTS,
    PAYMENT_EVENTS,
    CREDIT_EVENTS,
    QUOTE_EVENTS,
    NOTIFICATIONS_COMMANDS,
    MERCHANT_NOTIFICATIONS,
    MERCHANT_EVENTS,
    PORTAL_EVENTS,
)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlt"
