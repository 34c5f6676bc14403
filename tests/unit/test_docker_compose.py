"""docker-compose.yml describes a production shape that can actually start: every container
is buildable or pullable and health-checked, the services point at the real infrastructure,
and no host port is claimed twice."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"

# compose service -> (environment prefix, module run by `python -m`, port it listens on)
OUR_SERVICES = {
    "identity": ("IDENTITY_", "identity", 8101),
    "subscriptions": ("SUBSCRIPTIONS_", "subscriptions", 8102),
    "invoicing": ("INVOICING_", "invoicing", 8103),
    "notifications": ("NOTIFICATIONS_", "notifications", 8104),
    "portal-gateway": ("GATEWAY_", "portal_gateway", 8000),
}
PUBLISHED = {"portal-gateway": 8000, "mailpit": 8025, "jaeger": 16686}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    """Compose allows a mapping or a list of KEY=VALUE strings."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def host_ports(service: dict[str, Any]) -> list[int]:
    """The host side of each published port, short ("8000:8000") or long syntax."""
    published = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if "published" in entry:
                published.append(int(entry["published"]))
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) >= 2:  # "container" alone publishes a random port
            published.append(int(parts[-2]))
    return published


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def test_every_container_has_an_image_or_a_build_and_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    without_source = [n for n, s in services.items() if "image" not in s and "build" not in s]
    without_health = [
        n
        for n, s in services.items()
        if not (s.get("healthcheck") or {}).get("test") or s["healthcheck"].get("disable")
    ]
    assert without_source == []
    assert without_health == []


def test_the_platform_is_complete(services: dict[str, dict[str, Any]]) -> None:
    infrastructure = {"kafka", "mongo", "mailpit", "otel-collector", "jaeger"}
    assert infrastructure | set(OUR_SERVICES) <= set(services)


@pytest.mark.parametrize("name", sorted(OUR_SERVICES))
def test_each_service_runs_its_module_against_the_real_infrastructure(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    prefix, module, port = OUR_SERVICES[name]
    service = services[name]
    env = environment(service)

    assert service["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    command = service["command"]
    command = command.split() if isinstance(command, str) else command
    assert command[-2:] == ["-m", module]
    assert env[f"{prefix}PROFILE"] == "kafka"
    assert env[f"{prefix}KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env[f"{prefix}MONGO_URI"] == "mongodb://mongo:27017/?replicaSet=rs0"
    assert env[f"{prefix}OTEL_EXPORTER_ENDPOINT"] == "http://otel-collector:4318/v1/traces"
    assert env[f"{prefix}HTTP_HOST"] == "0.0.0.0"
    assert env[f"{prefix}HTTP_PORT"] == str(port)
    assert f"{port}/health/ready" in " ".join(service["healthcheck"]["test"])
    deps = depends_on(service)
    assert deps.get("kafka") == "service_healthy"
    assert deps.get("mongo") == "service_healthy"


def test_services_are_wired_to_each_other(services: dict[str, dict[str, Any]]) -> None:
    gateway = environment(services["portal-gateway"])
    notifications = environment(services["notifications"])

    assert gateway["GATEWAY_IDENTITY_URL"] == "http://identity:8101"
    assert "GATEWAY_OPERATOR_TOKEN" in gateway
    assert notifications["NOTIFICATIONS_SMTP_HOST"] == "mailpit"
    assert notifications["NOTIFICATIONS_SMTP_PORT"] == "1025"


def test_only_the_gateway_mail_inbox_and_tracing_ui_are_published_each_once(
    services: dict[str, dict[str, Any]],
) -> None:
    published = {name: host_ports(s) for name, s in services.items() if host_ports(s)}
    counts = Counter(port for ports in published.values() for port in ports)

    assert [port for port, n in counts.items() if n > 1] == []
    assert published == {name: [port] for name, port in PUBLISHED.items()}


def test_kafka_runs_in_kraft_mode_without_zookeeper(services: dict[str, dict[str, Any]]) -> None:
    assert not [name for name in services if "zookeeper" in name.lower()]
    kafka = services["kafka"]
    env = environment(kafka)
    assert kafka["image"].startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    # A KRaft cluster id is a base64url-encoded UUID: 16 bytes, 22 characters.
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", env["CLUSTER_ID"])


def test_mongo_is_a_replica_set_that_initiates_itself(services: dict[str, dict[str, Any]]) -> None:
    mongo = services["mongo"]
    command = mongo["command"]
    command = command.split() if isinstance(command, str) else command
    check = " ".join(mongo["healthcheck"]["test"])

    assert mongo["image"].startswith("mongo:8")
    assert command[command.index("--replSet") + 1] == "rs0"
    assert "rs.initiate" in check
    assert "_id: 'rs0'" in check
    assert "mongo:27017" in check


def test_referenced_files_exist(services: dict[str, dict[str, Any]]) -> None:
    dockerfiles = {
        (REPO_ROOT / s["build"].get("context", ".") / s["build"]["dockerfile"]).resolve()
        for s in services.values()
        if isinstance(s.get("build"), dict)
    }
    mounted = [
        REPO_ROOT / str(volume).split(":")[0]
        for s in services.values()
        for volume in s.get("volumes") or []
        if str(volume).startswith("./")
    ]

    assert dockerfiles == {REPO_ROOT / "deploy" / "docker" / "Dockerfile"}
    assert REPO_ROOT / "deploy" / "otel-collector.yaml" in [p.resolve() for p in mounted]
    assert [p for p in mounted if not p.exists()] == []


def test_dockerfile_installs_the_locked_workspace_without_dev_tools() -> None:
    dockerfile = (REPO_ROOT / "deploy" / "docker" / "Dockerfile").read_text()

    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.MULTILINE)
    assert "uv sync --frozen --no-dev" in dockerfile


def test_collector_sends_otlp_traces_to_jaeger() -> None:
    config = yaml.safe_load((REPO_ROOT / "deploy" / "otel-collector.yaml").read_text())
    traces = config["service"]["pipelines"]["traces"]
    exporters = {name: config["exporters"][name] for name in traces["exporters"]}

    assert traces["receivers"] == ["otlp"]
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert [e["endpoint"] for e in exporters.values()] == ["jaeger:4317"]
    assert all(name.split("/")[0] == "otlp" for name in exporters)
