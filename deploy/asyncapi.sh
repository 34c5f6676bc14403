#!/usr/bin/env bash
# Regenerate the committed AsyncAPI documents (services/<dir>/asyncapi.json) from the code.
# tests/unit/test_asyncapi_drift.py fails when one of them is out of date.
# Services whose app module has no `asyncapi_app` factory yet are skipped; an app module that
# fails to import stops the script.
set -euo pipefail
cd "$(dirname "$0")/.."

# services/<dir>:<python package>
services=(
  "identity:identity"
  "subscriptions:subscriptions"
  "invoicing:invoicing"
  "notifications:notifications"
  "portal-gateway:portal_gateway"
)

has_factory() {
  uv run python - "$1" <<'PY'
import importlib, importlib.util, sys

module = sys.argv[1]
if importlib.util.find_spec(module) is None or importlib.util.find_spec(f"{module}.app") is None:
    sys.exit(3)
sys.exit(0 if hasattr(importlib.import_module(f"{module}.app"), "asyncapi_app") else 3)
PY
}

for entry in "${services[@]}"; do
  dir="${entry%%:*}"
  module="${entry##*:}"
  status=0
  has_factory "$module" || status=$?
  if [[ $status -eq 3 ]]; then
    echo "skipping ${module}: no ${module}.app:asyncapi_app"
    continue
  elif [[ $status -ne 0 ]]; then
    echo "cannot import ${module}.app (exit ${status})" >&2
    exit "$status"
  fi
  uv run faststream docs gen --factory "${module}.app:asyncapi_app" --out "services/${dir}/asyncapi.json"
  # FastStream lists channels and messages in no stable order: sort keys and lists, so a
  # regenerated document differs from the committed one only where the contracts changed.
  uv run python - "services/${dir}/asyncapi.json" <<'PY'
import json, sys
from pathlib import Path

def canonical(value):
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        items = [canonical(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value

path = Path(sys.argv[1])
path.write_text(json.dumps(canonical(json.loads(path.read_text())), indent=2) + "\n")
PY
done
