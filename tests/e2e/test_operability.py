"""Every service answers liveness and readiness, and logs JSON lines that carry trace ids."""

from __future__ import annotations

import json

import httpx
import pytest

from deploy.local.stack import SERVICES, LocalStack
from tests.support.portal import create_customer, register_merchant

pytestmark = pytest.mark.e2e


async def test_every_service_is_live_and_ready(stack: LocalStack, http: httpx.AsyncClient) -> None:
    for spec in SERVICES:
        base = stack.service_url(spec.name)
        live = await http.get(f"{base}/health/live")
        ready = await http.get(f"{base}/health/ready")
        assert live.status_code == 200, spec.name
        assert ready.status_code == 200, spec.name
        assert ready.json()["checks"] == {"started": True, "database": True, "broker": True}


async def test_logs_are_json_with_the_trace_id(stack: LocalStack, http: httpx.AsyncClient) -> None:
    merchant = await register_merchant(http, stack.urls["gateway"], stack.operator_token)
    created = await create_customer(
        http, stack.urls["gateway"], merchant["api_key"], None, enable_portal=False
    )
    assert created.status_code == 201
    for service in ("portal-gateway", "subscriptions"):
        lines = stack.log_path(service).read_text().splitlines()
        entries = [json.loads(line) for line in lines if line.startswith("{")]
        assert entries, f"{service} wrote no JSON log lines"
        assert all({"time", "level", "service", "message", "trace_id"} <= e.keys() for e in entries)
        assert any(e["trace_id"] for e in entries), f"{service} logged no trace id"
