"""docker-compose.yml and the services' Dockerfiles."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from scripts.deploycheck import tools
from scripts.deploycheck.queries import ROOT
from scripts.deploycheck.settings import service_environment

COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = {"ingest": 8001, "tracker": 8002, "tariff": 8003}
WITH_DATABASE = ("ingest", "tracker", "tariff")
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
        if "healthcheck" not in service and "demo" not in service.get("profiles", []):
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
    dockerfile = service.get("build", {}).get("dockerfile")
    if dockerfile != f"services/{name}/Dockerfile" or service["build"].get("context") != ".":
        problems.append(f"{name}: not built from services/{name}/Dockerfile with the root context")
    env = service.get("environment", {})
    problems += service_environment(name, {k: str(v) for k, v in env.items()}, name)[0]
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


def dockerfiles() -> list[str]:
    """One Dockerfile per service: multi-stage, python:3.11-slim, a non-root user,
    production by default."""
    problems: list[str] = []
    for name, port in SERVICES.items():
        path = ROOT / "services" / name / "Dockerfile"
        if not path.exists():
            problems.append(f"{path.relative_to(ROOT)}: missing")
            continue
        problems += [f"{path.relative_to(ROOT)}: {p}" for p in _dockerfile(path, name, port)]
    ignore = ROOT / ".dockerignore"
    if not ignore.exists() or ".venv" in _kept(ignore):
        problems.append(".dockerignore: the build context must leave .venv and data out")
    return problems


def _dockerfile(path: Path, name: str, port: int) -> list[str]:
    lines = _instructions(path.read_text())
    froms = [args for op, args in lines if op == "FROM"]
    problems = []
    if len(froms) < 2:
        problems.append("not multi-stage")
    if not froms or not froms[-1].startswith("python:3.11-slim"):
        problems.append("the final stage is not python:3.11-slim")
    final = lines[max(i for i, (op, _) in enumerate(lines) if op == "FROM") :] if froms else []
    users = [args for op, args in final if op == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("the final stage does not run as a non-root user")
    commands = [args for op, args in final if op in ("CMD", "ENTRYPOINT")]
    if not commands or f'"services.{name}"' not in commands[-1]:
        problems.append(f"does not run python -m services.{name}")
    if not any(op == "EXPOSE" and args == str(port) for op, args in final):
        problems.append(f"does not expose {port}")
    environment = f"{name.upper()}_ENVIRONMENT=production"
    if not any(op == "ENV" and environment in args.split() for op, args in final):
        problems.append(f"does not set {environment} (production by default)")
    return problems


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, args = line.partition(" ")
            result.append((op.upper(), args.strip()))
    return result


def _kept(ignore: Path) -> set[str]:
    """Paths re-included (``!path``) by a .dockerignore that starts by excluding all."""
    lines = [line.strip() for line in ignore.read_text().splitlines()]
    if "*" not in lines:
        return {".venv"}  # not an allow-list: be strict
    return {line[1:].rstrip("/") for line in lines if line.startswith("!")}
