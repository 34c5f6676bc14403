"""The committed AsyncAPI document of each service matches what its code generates."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

# Python package -> directory under services/
SERVICES = {
    "identity": "identity",
    "subscriptions": "subscriptions",
    "invoicing": "invoicing",
    "notifications": "notifications",
    "portal_gateway": "portal-gateway",
}


def regenerate_command(module: str, directory: str) -> str:
    return (
        f"uv run faststream docs gen --factory {module}.app:asyncapi_app "
        f"--out services/{directory}/asyncapi.json"
    )


def canonical(value: Any) -> Any:
    """The document with every list sorted: FastStream 0.7 keeps subscribers and publishers
    in a WeakSet, so the order of channels, operations and messages varies between runs."""
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted(
            (canonical(item) for item in value), key=lambda i: json.dumps(i, sort_keys=True)
        )
    return value


@pytest.mark.parametrize(("module", "directory"), SERVICES.items())
def test_committed_asyncapi_matches_the_code(module: str, directory: str) -> None:
    if (
        importlib.util.find_spec(module) is None
        or importlib.util.find_spec(f"{module}.app") is None
    ):
        pytest.skip(f"{module}.app does not exist yet")
    app_module = importlib.import_module(f"{module}.app")
    factory = getattr(app_module, "asyncapi_app", None)
    if factory is None:
        pytest.skip(f"{module}.app has no asyncapi_app factory yet")
    command = regenerate_command(module, directory)
    committed = ROOT / "services" / directory / "asyncapi.json"
    if not committed.exists():
        pytest.fail(
            f"services/{directory}/asyncapi.json is missing; create it with:\n  {command}",
            pytrace=False,
        )

    generated = canonical(factory().schema.to_specification().to_jsonable())
    current = canonical(json.loads(committed.read_text(encoding="utf-8")))

    # Compared as JSON values, not bytes: FastStream 0.7 keeps subscribers and publishers in a
    # WeakSet, so with several of them the order of channels and operations varies per run.
    if generated != current:
        diff = "".join(
            list(
                difflib.unified_diff(
                    json.dumps(current, indent=2, sort_keys=True).splitlines(keepends=True),
                    json.dumps(generated, indent=2, sort_keys=True).splitlines(keepends=True),
                    fromfile=f"committed services/{directory}/asyncapi.json",
                    tofile="generated from the code",
                )
            )[:60]
        )
        pytest.fail(
            f"services/{directory}/asyncapi.json is out of date; regenerate it with:\n"
            f"  {command}\n(or deploy/asyncapi.sh for all services)\n\n{diff}",
            pytrace=False,
        )
