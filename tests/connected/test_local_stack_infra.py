"""The local stack's infrastructure: the broker, database and mailbox it starts really work,
and `stop()` leaves nothing running or listening."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from pymongo import AsyncMongoClient

from deploy.local.stack import SERVICES, LocalStack, ServiceExitedError, StackPorts
from tests.support.kafka import collect, produce
from tests.support.waiting import eventually

pytestmark = pytest.mark.connected


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_nothing_left(ports: StackPorts, pids: list[int]) -> None:
    still_listening = {name: port for name, port in ports.as_dict().items() if listening(port)}
    assert still_listening == {}
    assert [pid for pid in pids if group_alive(pid)] == []


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    local = LocalStack(tmp_path_factory.mktemp("local-stack"), StackPorts.free())
    local.start_infra()
    yield local
    local.stop()


def mailbox_messages(stack: LocalStack) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{stack.urls.mailbox}/api/messages", timeout=5) as response:
        messages: list[dict[str, Any]] = json.load(response)
    return messages


async def test_broker_accepts_a_produce_and_a_consume(stack: LocalStack) -> None:
    topic = f"stack-check-{uuid.uuid4().hex[:8]}"
    await produce(stack.kafka_bootstrap, topic, b"hello", key=b"k1")

    records = await collect(stack.kafka_bootstrap, [topic], until=lambda got: len(got) >= 1)

    assert [(r.key, r.value) for r in records] == [(b"k1", b"hello")]


async def test_database_accepts_an_insert_and_a_find(stack: LocalStack) -> None:
    assert stack.mongo_uri.endswith("/?replicaSet=secantus")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        stack.mongo_uri, serverSelectionTimeoutMS=10_000
    )
    try:
        collection = client["stack_check"]["things"]
        marker = uuid.uuid4().hex
        await collection.insert_one({"_id": marker, "name": "widget"})

        found = await collection.find_one({"_id": marker})
    finally:
        await client.close()

    assert found == {"_id": marker, "name": "widget"}


async def test_mail_sent_over_smtp_shows_up_in_the_mailbox(stack: LocalStack) -> None:
    subject = f"Your invoice {uuid.uuid4().hex[:6]}"
    message = EmailMessage()
    message["From"] = "billing@example.test"
    message["To"] = "customer@example.test"
    message["Subject"] = subject
    message.set_content("Invoice INV-1 is ready.")

    await aiosmtplib.send(message, hostname="127.0.0.1", port=stack.ports.smtp, timeout=10)

    async def arrived() -> dict[str, Any] | None:
        messages = await asyncio.to_thread(mailbox_messages, stack)
        return next((m for m in messages if m["subject"] == subject), None)

    received = await eventually(arrived, timeout=10)
    assert received["to"] == ["customer@example.test"]
    assert "Invoice INV-1 is ready." in received["text"]


def test_each_service_is_pointed_at_this_stack(stack: LocalStack) -> None:
    ports = stack.ports
    gateway = stack.env_for("portal-gateway")
    notifications = stack.env_for("notifications")
    subscriptions = stack.env_for("subscriptions")

    assert subscriptions["SUBSCRIPTIONS_KAFKA_BOOTSTRAP"] == f"127.0.0.1:{ports.broker}"
    assert subscriptions["SUBSCRIPTIONS_MONGO_URI"] == stack.mongo_uri
    assert subscriptions["SUBSCRIPTIONS_HTTP_PORT"] == str(ports.subscriptions)
    assert subscriptions["SUBSCRIPTIONS_PROFILE"] == "local"
    assert notifications["NOTIFICATIONS_SMTP_PORT"] == str(ports.smtp)
    assert gateway["GATEWAY_HTTP_PORT"] == str(ports.gateway)
    assert gateway["GATEWAY_IDENTITY_URL"] == f"http://127.0.0.1:{ports.identity}"
    assert gateway["GATEWAY_OPERATOR_TOKEN"] == stack.operator_token
    assert stack.env_for("identity")["IDENTITY_PUBLIC_URL"] == stack.urls.gateway
    http_ports = {stack.env_for(s.name)[f"{s.prefix}HTTP_PORT"] for s in SERVICES}
    assert len(http_ports) == len(SERVICES)


def test_stop_leaves_nothing_running_or_listening(tmp_path: Path) -> None:
    local = LocalStack(tmp_path, StackPorts.free())
    local.start_infra()
    pids = [p.pid for p in local.running.values()]
    assert len(pids) == 3
    assert all(listening(port) for port in (local.ports.broker, local.ports.mongo))
    assert listening(local.ports.smtp)
    assert listening(local.ports.mail_http)

    local.stop()

    assert_nothing_left(local.ports, pids)
    assert local.running == {}
    local.stop()  # a second stop is harmless


def test_a_service_that_dies_is_reported_with_its_log(tmp_path: Path) -> None:
    """An invalid profile makes every service exit at start-up (or it is not written yet and
    its module is missing): either way wait_ready must say which one and why."""
    local = LocalStack(tmp_path, StackPorts.free())
    local.start_infra()
    try:
        local.start_services(extra_env={f"{s.prefix}PROFILE": "no-such-profile" for s in SERVICES})
        pids = [p.pid for p in local.running.values()]
        with pytest.raises(ServiceExitedError) as raised:
            local.wait_ready(timeout=60)
    finally:
        local.stop()

    text = str(raised.value)
    assert "exited with code" in text
    assert any(s.name in text for s in SERVICES)
    assert "profile" in text or "No module named" in text
    assert_nothing_left(local.ports, pids)


REPO_ROOT = Path(__file__).resolve().parents[2]


def stack_command(state_dir: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.local.stack", "--state-dir", str(state_dir), command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_status_says_when_no_stack_runs(tmp_path: Path) -> None:
    result = stack_command(tmp_path, "status")

    assert result.returncode == 1
    assert "not running" in result.stdout


def test_down_stops_a_recorded_stack_from_another_process(tmp_path: Path) -> None:
    local = LocalStack(tmp_path, StackPorts.free())
    local.start_infra()
    started = list(local.running.values())
    try:
        local.write_state(tmp_path / "stack.json")

        status = stack_command(tmp_path, "status")
        down = stack_command(tmp_path, "down")

        exit_codes = [p.wait(timeout=5) for p in started]  # down stopped them, not us
    finally:
        local.stop()

    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count(" running") == 3
    assert down.returncode == 0, down.stdout + down.stderr
    assert len(exit_codes) == 3
    assert not (tmp_path / "stack.json").exists()
    assert_nothing_left(local.ports, [p.pid for p in started])
