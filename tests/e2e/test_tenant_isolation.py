"""Every route of the gateway's OpenAPI document, tried with customer A1's real ids by somebody
else: A2 (another customer of the same merchant), B1 (a customer of another merchant, on their
own portal and on A's) and merchant B's API key. None of them gets a 2xx, and no answer - not
even a list, not even an error - carries anything that identifies A1.

The routes come from the running gateway's document, so a new route is tried as soon as it
exists; a route parameter this file does not know fails the test until it is added to IDS."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from deploy.local.stack import LocalStack
from tests.support.tenants import Tenants, tenants

pytestmark = pytest.mark.e2e

# Route parameters that are not ids: what to put in them.
NOT_IDS = {"action": "void", "outcome": "settled"}
NOT_FOUND_RESULT = '"status":"not_found"'
# Not tried: the operator's routes, the documents about the API, and public links, whose
# token is the credential itself (their own tests try wrong, expired and revoked tokens).
SKIPPED_PREFIXES = ("/operator/", "/schema", "/health", "/metrics", "/ready", "/public/")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the template, e.g. /portal/{slug}/api/quotes/{quote_id}
    body: dict[str, Any] | None

    @property
    def params(self) -> list[str]:
        return [p.strip("{}").split(":")[0] for p in self.path.split("/") if p.startswith("{")]

    @property
    def portal(self) -> bool:
        return self.path.startswith("/portal/")

    def url(self, gateway: str, slug: str, ids: dict[str, str]) -> str:
        values = {"slug": slug, **NOT_IDS, **ids}
        return gateway + self.path.format(**{p: values[p] for p in self.params})


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def sample(schema: dict[str, Any], document: dict[str, Any], ids: dict[str, str], name: str) -> Any:
    """A plausible value for `schema`: A1's id for a field named like one, else a simple one."""
    schema = _resolve(schema, document)
    for alternative in schema.get("oneOf", []) + schema.get("anyOf", []):
        if _resolve(alternative, document).get("type") != "null":
            return sample(alternative, document, ids, name)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {key: sample(value, document, ids, key) for key, value in props.items()}
    if kind == "array":
        item = sample(schema.get("items", {}), document, ids, name.removesuffix("s"))
        return [item]
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if name in ids:
        return ids[name]
    if schema.get("format") == "email" or "email" in name:
        return "someone@example.com"
    if schema.get("format") == "date":
        return "2024-01-01"
    return "tok_visa" if name == "token" else "x" * max(1, int(schema.get("minLength", 1)))


def operations(document: dict[str, Any], ids: dict[str, str]) -> Iterator[Operation]:
    for path, methods in document["paths"].items():
        if path.startswith(SKIPPED_PREFIXES):
            continue
        for method, spec in methods.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            content = spec.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            body = sample(schema, document, ids, "") if schema else None
            yield Operation(method.upper(), path, body if isinstance(body, dict) else None)


def names_a1_document(op: Operation, ids: dict[str, str]) -> bool:
    """The route names one of A1's documents (in its path or in its body)."""
    in_body = op.body is not None and any(v in ids.values() for v in _values(op.body))
    return any(p in ids for p in op.params) or in_body


def _values(body: Any) -> Iterator[str]:
    if isinstance(body, dict):
        for value in body.values():
            yield from _values(value)
    elif isinstance(body, list):
        for value in body:
            yield from _values(value)
    elif isinstance(body, str):
        yield body


async def call(
    http: httpx.AsyncClient, op: Operation, url: str, headers: dict[str, str]
) -> httpx.Response:
    headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    return await http.request(op.method, url, json=op.body, headers=headers, follow_redirects=False)


async def owner_refused(http: httpx.AsyncClient, world: Tenants, ops: list[Operation]) -> list[str]:
    """The ids are real: A1 finds each of its documents, merchant A each admin view of them
    (else every refusal below would prove nothing)."""
    refused = []
    for op in ops:
        if op.method != "GET" or not op.params or not set(op.params) <= {*world.ids, "slug"}:
            continue
        if op.params[-1] in ("slug", "command_id", "request_id", "delivery_id", "endpoint_id"):
            continue  # a command's or webhook's status: no document to open
        headers = world.a1.headers if op.portal else {"X-API-Key": world.a["api_key"]}
        answer = await call(http, op, op.url(world.gateway, world.a["slug"], world.ids), headers)
        if answer.status_code in (401, 403, 404):  # a 409 (wrong status) still found it
            refused.append(f"{op.method} {op.path} -> {answer.status_code} {answer.text[:120]}")
    return refused


async def test_nobody_else_reaches_or_sees_a_customers_documents(
    stack: LocalStack, http: httpx.AsyncClient
) -> None:
    world = await tenants(http, stack)
    document = (await http.get(f"{world.gateway}/schema/openapi.json")).json()
    ops = list(operations(document, world.ids))
    unknown = {
        f"{op.method} {op.path}: {{{p}}}"
        for op in ops
        for p in op.params
        if p not in world.ids and p not in NOT_IDS and p != "slug"
    }
    assert not unknown, (
        "routes with parameters this test cannot fill; add A1's id for each to "
        f"tests/support/tenants.py (Tenants.ids) or NOT_IDS here: {sorted(unknown)}"
    )
    refused = await owner_refused(http, world, ops)
    assert not refused, "the owner cannot open their own documents:\n" + "\n".join(refused)

    a, b = world.a, world.b
    # (who, their headers, the portal slug they call; None: the admin API)
    intruders: list[tuple[str, dict[str, str], str | None]] = [
        ("A2 (same merchant)", world.a2.headers, a["slug"]),
        ("B1 on B's portal", world.b1.headers, b["slug"]),
        ("B1 on A's portal", world.b1.headers, a["slug"]),
        ("merchant B's API key", {"X-API-Key": b["api_key"]}, None),
    ]
    limit = asyncio.Semaphore(8)

    async def attempt(
        op: Operation, who: str, headers: dict[str, str], slug: str | None
    ) -> list[str]:
        url = op.url(world.gateway, slug or "", world.ids)
        async with limit:
            answer = await call(http, op, url, headers)
        where = f"{who}: {op.method} {op.path} -> {answer.status_code}"
        found = []
        # A bulk route answers 200 with a result per id: "not_found" there is a refusal.
        bulk_refusal = NOT_FOUND_RESULT in answer.text.replace(" ", "")
        if names_a1_document(op, world.ids) and answer.status_code < 300 and not bulk_refusal:
            found.append(f"{where} (A1's document reached)")
        # An error may repeat the id the caller sent ("there is no quote 'qt_1'"); nothing else.
        sent = {url, *_values(op.body)}
        echoed = {s for s in world.secrets if any(s in value for value in sent)}
        seen = sorted(s for s in world.secrets - echoed if s in answer.text)
        if seen:
            found.append(f"{where} shows {seen}")
        if answer.status_code >= 500:
            found.append(f"{where} (server error)")
        return found

    # Routes that name A1's documents, and every list (a GET naming nothing).
    attempts = [
        attempt(op, who, headers, slug)
        for op in ops
        if names_a1_document(op, world.ids) or op.method == "GET"
        for who, headers, slug in intruders
        if op.portal == (slug is not None)
    ]
    tried = len(attempts)
    leaks = [leak for found in await asyncio.gather(*attempts) for leak in found]
    assert tried > 100, f"only {tried} calls: is the OpenAPI document complete?"
    assert not leaks, "A1's documents leak:\n" + "\n".join(leaks)
