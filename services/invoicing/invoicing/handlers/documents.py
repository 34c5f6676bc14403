"""Document commands arrive through `handlers/commands.py` (one subscriber per topic); this
module declares what the document use cases publish, and their indexes."""

from __future__ import annotations

from invoicing.adapters import document_repositories, project_repository
from portal_contracts.documents import CreditMessage, QuoteMessage
from portal_contracts.subscriptions import SubscriptionsCommand
from portal_contracts.topics import CREDIT_EVENTS, QUOTE_EVENTS, SUBSCRIPTIONS_COMMANDS
from portal_runtime.runtime import ServiceRuntime


def register(runtime: ServiceRuntime) -> None:
    broker = runtime.broker
    runtime.on_start.append(lambda: document_repositories.ensure_indexes(runtime.store.db))
    runtime.on_start.append(lambda: project_repository.ensure_indexes(runtime.store.db))
    broker.publisher(
        QUOTE_EVENTS,
        title="invoicing.quote-events:publish",
        description="Quote steps, sales orders, forwarded documents (outbox; key = customer).",
        schema=QuoteMessage,
    )
    broker.publisher(
        CREDIT_EVENTS,
        title="invoicing.credit-events:publish",
        description="Credit notes, applications, refunds; statements (outbox; key = customer).",
        schema=CreditMessage,
    )
    broker.publisher(
        SUBSCRIPTIONS_COMMANDS,
        title="subscriptions.commands:invoicing",
        description="A person a document was forwarded to becomes a contact (outbox).",
        schema=SubscriptionsCommand,
    )
