"""Recording portal activity: every successful portal action (any method but GET) and every
view or download of a document becomes a `PortalActivityRecorded` event (outbox, topic
`gateway.portal-events`) with who, which customer, what, when and from where.

An ASGI middleware, so no route has to remember it: it sees the route that answered (its path
template), the signed-in contact the portal guard found, and the response status. It records
after the response went out, so it adds nothing to what the customer waits for; a failure to
record is logged, never turned into an error for the customer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from portal_contracts.envelope import Actor
from portal_contracts.portal import PortalActivity, PortalActivityRecorded
from portal_contracts.topics import PORTAL_EVENTS
from portal_gateway.api.client_address import client_address
from portal_gateway.service_layer.commands import sending_lock
from portal_gateway.service_layer.context import Gateway
from portal_runtime.store import Transaction

log = logging.getLogger(__name__)

# Portal areas whose single documents count as viewed when read one by one.
DOCUMENT_MODULES = frozenset(
    {
        "invoices",
        "quotes",
        "credit-notes",
        "credit_notes",
        "sales-orders",
        "sales_orders",
        "statements",
        "payments",
        "documents",
        "timesheets",
        "projects",
    }
)
_DOWNLOADS = frozenset({"pdf", "download", "receipt"})
# Asked with POST but change nothing: what a change would cost is not a change.
_READS_BY_POST = frozenset({"preview"})
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}


@dataclass(frozen=True)
class Described:
    module: str
    action: str
    subject_id: str | None


def describe(method: str, template: str, path_params: dict[str, Any]) -> Described | None:
    """What a portal request did, from its route: `/portal/{slug}/api/invoices/{id}/pdf` read
    with GET is a download of that invoice; `POST .../quotes/{id}/approve` an approval of that
    quote. None for reads that are not document views, and for routes outside the portal API."""
    if "/api/" not in template:
        return None
    segments = [s for s in template.split("/api/", 1)[1].split("/") if s]
    words = [s for s in segments if not s.startswith("{")]
    if not words:
        return None
    module, rest = words[0], words[1:]
    names = [s.strip("{}").split(":")[0] for s in segments if s.startswith("{")]
    subject = next((str(path_params[n]) for n in names if n in path_params), None)
    if method == "GET":
        if rest and rest[-1] in _DOWNLOADS:
            return Described(module, "download", subject)
        if module in DOCUMENT_MODULES and subject and not rest and segments[-1].startswith("{"):
            return Described(module, "view", subject)
        return None
    if method not in _VERBS or (rest and rest[-1] in _READS_BY_POST):
        return None
    action = ".".join(rest) or _VERBS[method]
    if method == "DELETE" and rest:
        action = f"{action}.delete"
    return Described(module, action, subject)


def middleware(gateway: Gateway) -> Callable[[ASGIApp], ASGIApp]:
    """`Litestar(middleware=[activity.middleware(gateway)])`."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def record_activity(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            status = 0

            async def send_and_watch(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            await app(scope, receive, send_and_watch)
            principal = (scope.get("state") or {}).get("principal")
            if principal is None or not 200 <= status < 300:
                return
            try:
                await _record(gateway, scope, principal, status)
            except Exception:
                log.exception("could not record portal activity on %s", scope.get("path"))

        return record_activity

    return wrap


async def _record(gateway: Gateway, scope: Scope, principal: Any, status: int) -> None:
    template = str(scope.get("path_template") or "")
    method = str(scope.get("method", "GET")).upper()
    described = describe(method, template, dict(scope.get("path_params") or {}))
    if described is None:
        return
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    event = PortalActivityRecorded(
        occurred_at=gateway.store.clock.now(),
        organisation_id=principal.organisation_id,
        correlation_id=headers.get("x-request-id", "")[:128] or uuid.uuid4().hex,
        actor=Actor(kind="contact", id=principal.contact_id),
        data=PortalActivity(
            customer_id=principal.customer_id,
            contact_id=principal.contact_id,
            module=described.module[:60],
            action=described.action[:80],
            subject_id=described.subject_id[:128] if described.subject_id else None,
            method=method,
            route=template[:300],
            status_code=status,
            ip=client_address(scope)[:64],
            user_agent=headers.get("user-agent", "")[:512],
            session_id=principal.session_id,
        ),
    )

    async def work(tx: Transaction) -> None:
        await tx.emit(PORTAL_EVENTS, event)

    async with sending_lock(principal.customer_id):
        await gateway.store.transaction(work)
