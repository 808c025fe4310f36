"""docker-compose.yml (the Dockerfile: scripts/deploycheck/dockerfile.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from scripts.deploycheck import tools
from scripts.deploycheck.queries import ROOT
from scripts.deploycheck.settings import service_environment

COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = {"ingest": 8001, "tracker": 8002, "tariff": 8003, "webhooks": 8004}
WITH_DATABASE = ("ingest", "tracker", "tariff", "webhooks")
# The development principal registry (scripts/deploycheck/principals.py): production mode
# refuses the demo keys, so compose mounts this one.
DEV_REGISTRY = "./deploy/principals/dev.yaml"
RATE_LIMIT_STORAGE = "redis://redis:6379"


def compose_config(path: Path = COMPOSE_FILE) -> list[str]:
    """``docker compose config``: the file is valid against the Compose specification."""
    command = tools.compose()
    result = tools.run([*command, "-f", str(path), "config", "--quiet"])
    if result.returncode != 0:
        return [f"docker compose config: {result.stderr.strip() or result.stdout.strip()}"]
    return []


def compose_structure() -> list[str]:
    """What the issue asks of the compose file, beyond its schema."""
    spec: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    services: dict[str, Any] = spec.get("services", {})
    problems: list[str] = []

    kafka = services.get("kafka", {})
    env = kafka.get("environment", {})
    if not str(kafka.get("image", "")).startswith("apache/kafka:"):
        problems.append("kafka: not the official apache/kafka image")
    if "controller" not in str(env.get("KAFKA_PROCESS_ROLES", "")):
        problems.append("kafka: not in KRaft mode (KAFKA_PROCESS_ROLES has no controller)")
    if str(env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE")).lower() != "false":
        problems.append("kafka: topics must be created by the services, not on first use")
    if not str(services.get("postgres", {}).get("image", "")).startswith("postgres:"):
        problems.append("postgres: missing")
    if "redis" not in services:
        problems.append("redis: missing (the services' shared rate-limit store)")

    for name, service in services.items():
        # Optional services (a profile: the demo, tracing) start only on request.
        if "healthcheck" not in service and not service.get("profiles"):
            problems.append(f"{name}: no healthcheck")
        for port in service.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                problems.append(f"{name}: port {port} is published beyond loopback")
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith(".") and not (ROOT / source).exists():
                problems.append(f"{name}: mounts {source}, which does not exist")

    for name, port in SERVICES.items():
        problems += _service(name, port, services.get(name))

    prometheus = services.get("prometheus", {})
    if "./deploy/prometheus:/etc/prometheus:ro" not in prometheus.get("volumes", []):
        problems.append("prometheus: deploy/prometheus is not its configuration")
    grafana_volumes = services.get("grafana", {}).get("volumes", [])
    if not any(str(v).startswith("./deploy/grafana/provisioning:") for v in grafana_volumes):
        problems.append("grafana: its datasource and dashboards are not provisioned from files")
    return problems


def _service(name: str, port: int, service: dict[str, Any] | None) -> list[str]:
    if service is None:
        return [f"{name}: missing"]
    problems: list[str] = []
    build = service.get("build", {})
    built_here = (
        build.get("context") == "." and build.get("dockerfile", "Dockerfile") == "Dockerfile"
    )
    if not built_here or build.get("args", {}).get("SERVICE") != name or "target" in build:
        problems.append(f"{name}: not built from the root Dockerfile with SERVICE={name}")
    env = service.get("environment", {})
    values = {k: _defaulted(str(v)) for k, v in env.items()}
    problems += service_environment(name, values, name)[0]
    if env.get(f"{name.upper()}_HOST") != "0.0.0.0":
        problems.append(f"{name}: {name.upper()}_HOST must be 0.0.0.0 in a container")
    if str(env.get(f"{name.upper()}_PORT")) != str(port):
        problems.append(f"{name}: {name.upper()}_PORT is not {port}")
    if str(env.get("KAFKA_ENABLE_IDEMPOTENCE")).lower() != "true":
        problems.append(f"{name}: the idempotent producer must be on with real Kafka")
    if str(env.get("KAFKA_CREATE_TOPICS", "true")).lower() != "true":
        problems.append(f"{name}: in compose the services create the topics")
    problems += _trust(name, env, service.get("volumes", []))
    depends = service.get("depends_on", {})
    needed = ["kafka", "redis", *(["postgres"] if name in WITH_DATABASE else [])]
    for dependency in needed:
        if depends.get(dependency, {}).get("condition") != "service_healthy":
            problems.append(f"{name}: does not wait for {dependency} to be healthy")
    if name in WITH_DATABASE:
        url = str(env.get(f"{name.upper()}_DATABASE_URL", ""))
        if not url.startswith("postgresql+asyncpg://") or "@postgres:5432/" not in url:
            problems.append(f"{name}: {name.upper()}_DATABASE_URL is not the compose PostgreSQL")
    test = " ".join(map(str, service.get("healthcheck", {}).get("test", [])))
    if f":{port}/readyz" not in test:
        problems.append(f"{name}: the healthcheck does not ask /readyz")
    return problems


def _trust(name: str, env: dict[str, Any], volumes: list[Any]) -> list[str]:
    """Production mode (the default), the development registry, rate limits in Redis."""
    prefix = name.upper()
    problems = []
    if str(env.get(f"{prefix}_ENVIRONMENT", "production")) != "production":
        problems.append(f"{name}: {prefix}_ENVIRONMENT must stay production (the default)")
    path = str(env.get(f"{prefix}_PRINCIPALS_FILE", ""))
    if f"{DEV_REGISTRY}:{path}:ro" not in [str(v) for v in volumes]:
        problems.append(f"{name}: {prefix}_PRINCIPALS_FILE is not {DEV_REGISTRY}, mounted")
    if env.get(f"{prefix}_RATE_LIMIT_STORAGE") != RATE_LIMIT_STORAGE:
        problems.append(f"{name}: {prefix}_RATE_LIMIT_STORAGE is not {RATE_LIMIT_STORAGE}")
    return problems


def _defaulted(value: str) -> str:
    """A value with compose's ``${VAR:-default}`` replaced by its default (the value the
    services get unless the environment says otherwise)."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", lambda m: m.group(1), value)
