"""docker-compose.yml gives identity and the gateway the same internal API token, required
from the environment (no development default in the production shape), and lets the gateway's
trusted proxies be set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def environment(name: str) -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    env: dict[str, Any] = services[name]["environment"]
    return env


def test_both_services_get_the_same_required_internal_token() -> None:
    identity = environment("identity")["IDENTITY_INTERNAL_TOKEN"]
    gateway = environment("portal-gateway")["GATEWAY_IDENTITY_INTERNAL_TOKEN"]

    assert identity == gateway
    assert identity.startswith("${PORTAL_INTERNAL_TOKEN:?")


def test_the_gateway_trusts_no_proxy_unless_told() -> None:
    assert environment("portal-gateway")["GATEWAY_TRUSTED_PROXIES"] == "${PORTAL_TRUSTED_PROXIES:-}"
