"""The portal's lists (subscriptions, invoices, payments, credit notes, quotes, sales orders)
all filter, sort and page the same way: `items`, `page`, `page_size`, `total`; a bad page,
page size or sort is a 400 problem, never a 5xx."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from deploy.local.stack import LocalStack
from tests.support.documents import LINES, admin_post, create_quote
from tests.support.tenants import tenants
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

LISTS = ("/subscriptions/", "/invoices", "/payments", "/credit-notes", "/quotes", "/sales-orders")
# Three documents of each kind, of three different totals (minor units).
AMOUNTS = {0: LINES[1:], 1: LINES[:1], 2: LINES}  # 12_050, 90_000, 102_050


async def test_every_list_filters_sorts_and_pages_the_same_way(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    world = await tenants(http, stack)  # A1 has one quote, credit note and sales order already
    a1, merchant, gateway = world.a1, world.a, world.gateway
    cid = a1.customer_id
    made = await asyncio.gather(
        *(
            admin_post(http, gateway, merchant, path, {"customer_id": cid, "lines": lines})
            for path in ("/credit-notes", "/sales-orders")
            for lines in AMOUNTS.values()
        ),
        *(create_quote(http, gateway, merchant, cid, lines=lines) for lines in AMOUNTS.values()),
        create_quote(http, gateway, merchant, cid, send=False),
    )
    refused = [m.text for m in made if isinstance(m, httpx.Response) and m.status_code != 201]
    assert not refused, refused
    pro = await admin_post(
        http, gateway, merchant, "/subscriptions", {"customer_id": cid, "plan_code": "pro"}
    )
    assert pro.status_code == 201, pro.text

    async def listed(path: str, **params: Any) -> dict[str, Any]:
        answer = await http.get(a1.who.portal + path, params=params, headers=a1.headers)
        assert answer.status_code == 200, f"{path} {params}: {answer.text}"
        body: dict[str, Any] = answer.json()
        return body

    async def all_four_there() -> bool:
        counts = [(await listed(p))["total"] for p in ("/credit-notes", "/quotes", "/sales-orders")]
        return counts == [4, 4, 4]

    await eventually(all_four_there)
    for path in ("/credit-notes", "/quotes", "/sales-orders"):
        first = await listed(path, page=1, page_size=3, sort="amount", order="asc")
        second = await listed(path, page=2, page_size=3, sort="amount", order="asc")
        assert (first["total"], first["page"], first["page_size"]) == (4, 1, 3), path
        assert (len(first["items"]), len(second["items"])) == (3, 1), path
        totals = [d["total"]["amount_minor"] for d in first["items"] + second["items"]]
        assert totals == sorted(totals), (path, totals)
        assert totals[0] == 12_050, (path, totals)
        newest = await listed(path, sort="date", order="desc", page_size=100)
        dates = [d["created_at"] for d in newest["items"]]
        assert dates == sorted(dates, reverse=True), path

    # Drafts never count, and a status filter narrows the total too.
    sent = await listed("/quotes", status="sent")
    assert sent["total"] == 4
    assert {q["status"] for q in sent["items"]} == {"sent"}
    assert (await listed("/quotes", status="draft"))["total"] == 0
    assert (await listed("/sales-orders", status="fulfilled"))["total"] == 0

    for path in LISTS:
        body = await listed(path, page=1, page_size=1)
        assert {"items", "page", "page_size", "total"} <= set(body), path
        for bad in ({"page": 0}, {"page_size": 0}, {"page_size": 101}, {"sort": "nonsense"}):
            refused = await http.get(a1.who.portal + path, params=bad, headers=a1.headers)
            assert refused.status_code == 400, f"{path} {bad}: {refused.status_code}"
            assert refused.headers["content-type"].startswith("application/problem+json")

    # Subscriptions: by amount, a page at a time (A1 has "basic" and now "pro").
    first = await listed("/subscriptions/", page_size=1, sort="amount")
    second = await listed("/subscriptions/", page_size=1, page=2, sort="amount")
    assert (first["total"], len(first["items"]), len(second["items"])) == (2, 1, 1)
    assert [first["items"][0]["plan_code"], second["items"][0]["plan_code"]] == ["pro", "basic"]
    assert [s["plan_code"] for s in (await listed("/subscriptions/", plan="basic"))["items"]] == [
        "basic"
    ]
