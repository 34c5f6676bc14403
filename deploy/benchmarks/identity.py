"""Signing in and what checking a session costs.

- Sign-ins per second through the gateway (`POST /portal/<slug>/api/sessions`, argon2id verify
  with the configured parameters), next to the bare hash rate of those parameters on this
  machine (one core, in this process), so the HTTP/event overhead is visible.
- Refresh-token rotations per second (no password hashing: one atomic update and a signature).
- The cost of an authenticated request: `GET /portal/<slug>/api/home` (token signature check +
  revocation list + one read model read) against unauthenticated requests in the same run,
  `/health/live` (no work) and the public portal layout `GET /portal/<slug>/api/portal`
  (reads, no token); same concurrency, same duration, one keep-alive client. The token check
  itself is also timed in-process: it costs no database round trip.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt

from deploy.benchmarks._client import PASSWORD, answer, register_merchant, signed_in_customer
from deploy.benchmarks._measuring import Run, run_workers
from deploy.local.stack import LocalStack

CONCURRENCY = 16
SECONDS = 6.0
HASH_SAMPLES = 20
TOKEN_CHECKS = 2000


def _argon2_in_process() -> dict[str, Any]:
    """The configured argon2id parameters, verified on one core here."""
    from argon2 import PasswordHasher

    from identity.settings import IdentitySettings

    settings = IdentitySettings()
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    stored = hasher.hash(PASSWORD)
    started = time.perf_counter()
    for _ in range(HASH_SAMPLES):
        hasher.verify(stored, PASSWORD)
    per_verify = (time.perf_counter() - started) / HASH_SAMPLES
    return {
        "time_cost": settings.argon2_time_cost,
        "memory_kib": settings.argon2_memory_kib,
        "parallelism": settings.argon2_parallelism,
        "verify_ms": round(per_verify * 1000, 2),
        "verifies_per_s_one_core": round(1 / per_verify, 1),
    }


def _token_check_in_process(access_token: str, organisation_id: str) -> dict[str, Any]:
    from portal_gateway.api.security import TokenVerifier
    from portal_gateway.settings import GatewaySettings

    verifier = TokenVerifier(GatewaySettings().token_public_key)
    header = f"Bearer {access_token}"
    started = time.perf_counter()
    for _ in range(TOKEN_CHECKS):
        verifier.verify(header, organisation_id)
    per_check = (time.perf_counter() - started) / TOKEN_CHECKS
    return {"checks": TOKEN_CHECKS, "per_check_us": round(per_check * 1_000_000, 1)}


async def _load(
    base_url: str, path: str, headers: list[dict[str, str]], concurrency: int
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:

        async def read(index: int) -> None:
            response = await http.get(path, headers=headers[index % len(headers)])
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

        await run_workers(read, concurrency, count=concurrency * 4)  # warm-up
        run = await run_workers(read, concurrency, seconds=SECONDS)
    return run.as_dict()


async def measure(
    stack: LocalStack, http: httpx.AsyncClient, raw: dict[str, float], scale: int
) -> dict[str, Any]:
    merchant = await register_merchant(stack, http)
    count = min(8, max(2, scale // 50))
    customers = [await signed_in_customer(stack, http, merchant) for _ in range(count)]
    portal = f"{stack.urls.gateway}/portal/{merchant.slug}/api"
    gateway = stack.urls.gateway

    # Sign-ins: every customer signs in again and again (a success clears its account's
    # failure counter and never touches the per-address one).
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def sign_in(index: int) -> None:
            customer = customers[index % len(customers)]
            response = await client.post(
                f"{portal}/sessions", json={"email": customer.email, "password": PASSWORD}
            )
            if response.status_code != 201:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

        sign_ins: Run = await run_workers(sign_in, CONCURRENCY, seconds=SECONDS)

        # Refresh rotation: a pool of token chains; an operation takes a chain, rotates it
        # and puts the new token back, so a token is never sent twice (that would be reuse,
        # and end the session, by design).
        chains: asyncio.Queue[str] = asyncio.Queue()
        for i in range(CONCURRENCY):
            customer = customers[i % len(customers)]
            first = answer(
                await client.post(
                    f"{portal}/sessions", json={"email": customer.email, "password": PASSWORD}
                ),
                201,
            )
            chains.put_nowait(str(first["refresh_token"]))

        async def refresh(_: int) -> None:
            token = await chains.get()
            response = await client.post(
                f"{portal}/sessions/refresh", json={"refresh_token": token}
            )
            if response.status_code != 201:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
            chains.put_nowait(str(response.json()["refresh_token"]))

        refreshes: Run = await run_workers(refresh, CONCURRENCY, seconds=SECONDS)

    headers = [c.auth for c in customers]
    live = await _load(gateway, "/health/live", [{}], CONCURRENCY)
    layout = await _load(gateway, f"/portal/{merchant.slug}/api/portal", [{}], CONCURRENCY)
    home = await _load(gateway, f"/portal/{merchant.slug}/api/home", headers, CONCURRENCY)

    claims = jwt.decode(customers[0].access_token, options={"verify_signature": False})
    token_check = _token_check_in_process(customers[0].access_token, str(claims["org"]))

    def p(run: dict[str, Any], key: str) -> float | None:
        value = run["latency"][key]
        return float(value) if value is not None else None

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    return {
        "concurrency": CONCURRENCY,
        "seconds": SECONDS,
        "customers": count,
        "argon2id": _argon2_in_process(),
        "sign_in": sign_ins.as_dict(),
        "refresh": refreshes.as_dict(),
        "health_live": live,
        "public_portal_layout": layout,
        "authenticated_home": home,
        "token_check_in_process": token_check,
        "home_p50_over_layout_p50": ratio(p(home, "p50_ms"), p(layout, "p50_ms")),
        "home_p99_over_layout_p99": ratio(p(home, "p99_ms"), p(layout, "p99_ms")),
        "home_p50_over_live_p50": ratio(p(home, "p50_ms"), p(live, "p50_ms")),
        "home_per_s_over_layout_per_s": ratio(home["per_s"], layout["per_s"]),
        "sign_in_per_s_over_raw_insert_per_s": ratio(
            sign_ins.per_second, raw.get("mongo_insert_per_s")
        ),
        "refresh_per_s_over_raw_insert_per_s": ratio(
            refreshes.per_second, raw.get("mongo_insert_per_s")
        ),
    }
