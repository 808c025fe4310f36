"""Graceful shutdown: the platform waits longer than a service can take to stop.

A service's stop budget (corridor.shutdown) follows from its Kafka settings; the settings
are read from what each manifest gives the service, so changing a timeout there without
the grace period fails the check. Data-driven: every Deployment that serves traffic and
every compose service built from the repository's Dockerfile is covered.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from corridor.settings import KafkaSettings
from corridor.shutdown import PRE_STOP_SECONDS, grace_needed_seconds, stop_budget_seconds
from scripts.deploycheck.compose import COMPOSE_FILE
from scripts.deploycheck.k8s import Object, name_of
from scripts.deploycheck.k8s_kafka import _is_service
from scripts.deploycheck.k8s_rules import named, of_kind

_DURATION = re.compile(r"^(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


def kafka_of(env: dict[str, str]) -> KafkaSettings:
    """The Kafka settings a service reads from this environment (``KAFKA_*``)."""
    fields = {k.removeprefix("KAFKA_").lower(): v for k, v in env.items() if k.startswith("KAFKA_")}
    known = {k: v for k, v in fields.items() if k in KafkaSettings.model_fields}
    return KafkaSettings.model_validate(known)


def pod_grace(objects: tuple[Object, ...], production: bool) -> list[str]:
    """Each service pod: a preStop pause, and a termination grace period that holds the
    pause, the service's stop budget and the margin."""
    problems = []
    for deployment in of_kind(objects, "Deployment"):
        if not _is_service(deployment):
            continue
        where = name_of(deployment)
        spec = deployment["spec"]["template"]["spec"]
        container = spec["containers"][0]
        pause = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds")
        if pause is None or pause < PRE_STOP_SECONDS:
            problems.append(f"{where}: no preStop sleep of {PRE_STOP_SECONDS} s or more")
            pause = 0
        kafka = kafka_of(_environment(objects, container))
        needed = grace_needed_seconds(kafka, pause)
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if grace < needed:
            problems.append(
                f"{where}: terminationGracePeriodSeconds {grace} is under {needed:g} "
                f"(preStop {pause} s + stop budget {stop_budget_seconds(kafka):g} s + margin)"
            )
    return problems


def _environment(objects: tuple[Object, ...], container: Object) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        config_map = named(objects, "ConfigMap", source.get("configMapRef", {}).get("name", ""))
        env |= (config_map or {}).get("data", {})
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = str(variable["value"])
    return env


def compose_grace() -> list[str]:
    """Each service built from the Dockerfile: a stop_grace_period beyond its stop budget
    (compose has no preStop: the budget and the margin)."""
    spec: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    problems = []
    for name, service in spec.get("services", {}).items():
        if "build" not in service or service.get("profiles"):
            continue
        env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
        needed = grace_needed_seconds(kafka_of(env), 0)
        declared = service.get("stop_grace_period")
        seconds = _seconds(str(declared)) if declared else 10.0  # compose's default
        if seconds is None:
            problems.append(f"{name}: stop_grace_period {declared!r} is not a duration")
        elif seconds < needed:
            problems.append(f"{name}: stop_grace_period {seconds:g} s is under {needed:g} s")
    return problems


def _seconds(duration: str) -> float | None:
    match = _DURATION.match(duration.strip())
    if not match or not any(match.groups()):
        return None
    minutes, seconds = match.groups()
    return int(minutes or 0) * 60 + float(seconds or 0)
