"""Fixtures: the real local broker (Tansu) and database (SecantusDB) for the whole session,
and an in-process SMTP server. They start only when a test asks for them."""

from __future__ import annotations

import asyncio
import inspect
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from deploy.local import processes
from deploy.local.mailbox import Mailbox
from deploy.local.stack import LocalStack, StackPorts


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def kafka_bootstrap(workdir: Path) -> Iterator[str]:
    port = processes.free_port()
    process = processes.start_broker(port, workdir / "tansu.log")
    yield f"127.0.0.1:{port}"
    processes.stop(process)


@pytest.fixture(scope="session")
def mongo_uri(workdir: Path) -> Iterator[str]:
    port = processes.free_port()
    process = processes.start_database(port, workdir / "db", workdir / "secantus.log")
    yield processes.database_uri(port)
    processes.stop(process)


@pytest.fixture
def database_name() -> str:
    """A fresh database per test, so tests never see each other's documents."""
    return f"t_{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def smtp_server() -> AsyncIterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = processes.free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole local platform as separate processes, shared by the e2e tests."""
    local = LocalStack(Path(tmp_path_factory.mktemp("e2e")), StackPorts.free())
    with local:
        yield local


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


TIERS = ("unit", "component", "connected", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test belongs to the tier of its directory, marked or not, so `-m` never drops one
    silently (the test command selects the four tiers)."""
    for item in items:
        tier = item.path.parent.name
        if tier in TIERS and item.get_closest_marker(tier) is None:
            item.add_marker(getattr(pytest.mark, tier))


TASK_DUMP_BEFORE_TIMEOUT_SECONDS = 15


@pytest.fixture(autouse=True)
async def dump_tasks_before_a_timeout(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """All tests share one event loop. Shortly before pytest-timeout ends a test, print every
    asyncio task with its stack: the timeout's own dump shows only threads, and a test that
    hangs on the loop is then idle in `select`, which says nothing about what it waits for."""
    timeout = float(request.config.getini("timeout") or 0)
    marker = request.node.get_closest_marker("timeout")
    if marker and marker.args:
        timeout = float(marker.args[0])
    if timeout <= TASK_DUMP_BEFORE_TIMEOUT_SECONDS or not inspect.iscoroutinefunction(
        request.function
    ):
        yield
        return
    loop = asyncio.get_running_loop()
    handle = loop.call_later(timeout - TASK_DUMP_BEFORE_TIMEOUT_SECONDS, _dump_tasks, request)
    try:
        yield
    finally:
        handle.cancel()


def _dump_tasks(request: pytest.FixtureRequest) -> None:
    tasks = asyncio.all_tasks()
    print(f"\n=== {request.node.nodeid}: {len(tasks)} asyncio tasks ===", file=sys.stderr)
    for task in tasks:
        print(f"--- {task.get_name()}: {task.get_coro()}", file=sys.stderr)
        task.print_stack(limit=30, file=sys.stderr)
