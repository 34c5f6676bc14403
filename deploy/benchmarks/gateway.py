"""Portal dashboard reads against a bare Litestar endpoint doing one database read.

Both are served by one uvicorn process on the same machine, against the same SecantusDB, and
loaded the same way (same concurrency, same duration, one keep-alive client). The goal of the
gateway issue: the dashboard reaches at least 70% of the bare endpoint's requests per second.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from deploy.benchmarks._client import register_merchant, signed_in_customer
from deploy.benchmarks._measuring import run_workers
from deploy.local import processes
from deploy.local.stack import LocalStack

CONCURRENCY = 32
SECONDS = 8.0
CUSTOMERS = 4
BARE_DATABASE = "bench_bare"


async def _seed_bare(stack: LocalStack) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_uri)
    try:
        collection = client[BARE_DATABASE]["bare_reads"]
        await collection.delete_many({})
        await collection.insert_many(
            [{"_id": f"k{i}", "name": f"Customer {i}", "balance_minor": i * 100} for i in range(64)]
        )
    finally:
        await client.close()


async def _wait_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not come up")


async def _load(base_url: str, paths: list[str], headers: list[dict[str, str]]) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:

        async def read(index: int) -> None:
            response = await http.get(
                paths[index % len(paths)], headers=headers[index % len(headers)]
            )
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

        await run_workers(read, CONCURRENCY, count=CONCURRENCY * 4)  # warm-up
        run = await run_workers(read, CONCURRENCY, seconds=SECONDS)
    return run.as_dict()


async def measure(
    stack: LocalStack, http: httpx.AsyncClient, raw: dict[str, float], scale: int
) -> dict[str, Any]:
    merchant = await register_merchant(stack, http)
    customers = [await signed_in_customer(stack, http, merchant) for _ in range(CUSTOMERS)]
    await _seed_bare(stack)
    port = processes.free_port()
    bare = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deploy.benchmarks._bare_app",
            str(port),
            stack.mongo_uri,
            BARE_DATABASE,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        bare_url = f"http://127.0.0.1:{port}"
        await _wait_up(f"{bare_url}/read/k1")
        bare_run = await _load(bare_url, [f"/read/k{i}" for i in range(64)], [{}])
        dashboard = await _load(
            stack.urls.gateway,
            [f"/portal/{merchant.slug}/api/home"],
            [customer.auth for customer in customers],
        )
    finally:
        bare.terminate()
        bare.wait(timeout=10)
    ratio = dashboard["per_s"] / bare_run["per_s"] if bare_run["per_s"] else None
    return {
        "concurrency": CONCURRENCY,
        "seconds": SECONDS,
        "bare_litestar_one_read": bare_run,
        "dashboard": dashboard,
        "dashboard_per_s_over_bare_per_s": round(ratio, 3) if ratio is not None else None,
        "goal": 0.7,
        "bare_per_s_over_raw_find_per_s": round(bare_run["per_s"] / raw["mongo_find_per_s"], 3)
        if raw.get("mongo_find_per_s")
        else None,
    }
