"""Topic names. Commands go to the owning service's topic; events to the aggregate family's."""

SUBSCRIPTIONS_COMMANDS = "subscriptions.commands"
CUSTOMER_EVENTS = "subscriptions.customer-events"
IDENTITY_ACCESS_EVENTS = "identity.access-events"
INVOICING_ACCOUNT_EVENTS = "invoicing.account-events"
NOTIFICATIONS_COMMANDS = "notifications.commands"
MERCHANT_EVENTS = "gateway.merchant-events"

ALL_TOPICS = (
    SUBSCRIPTIONS_COMMANDS,
    CUSTOMER_EVENTS,
    IDENTITY_ACCESS_EVENTS,
    INVOICING_ACCOUNT_EVENTS,
    NOTIFICATIONS_COMMANDS,
    MERCHANT_EVENTS,
)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlt"
