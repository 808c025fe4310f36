"""The environment a deployment gives a service, read the way the service reads it."""

from __future__ import annotations

import importlib
import ipaddress
from collections.abc import Mapping
from typing import Any

from pydantic_settings import BaseSettings

from corridor.settings import KafkaSettings
from corridor.tracing import TracingSettings

# Variables of the server itself rather than of the service's settings: name -> check.
SERVER_VARIABLES = {"FORWARDED_ALLOW_IPS": "trusted proxy addresses or networks"}


def service_environment(
    service: str, env: Mapping[str, str], where: str
) -> tuple[list[str], KafkaSettings | None]:
    """(problems, the Kafka settings) of ``env``: every variable must be a setting of the
    service (``<SVC>_*``), of Kafka (``KAFKA_*``) or of tracing (``TRACING_*``), since
    pydantic-settings silently ignores the others (a misspelt name would fall back to a
    default), and the values must parse."""
    module = importlib.import_module(f"services.{service}.settings")
    settings_class = next(
        getattr(module, n) for n in dir(module) if n.lower() == f"{service}settings"
    )
    prefix = f"{service.upper()}_"
    problems = []
    fields: dict[str, Any] = {}
    kafka_fields: dict[str, Any] = {}
    tracing_fields: dict[str, Any] = {}
    owner: type[BaseSettings]
    for key, value in env.items():
        if key in SERVER_VARIABLES:
            problems += _forwarded_allow_ips(value, where)
            continue
        if key.startswith("KAFKA_"):
            target, owner, name = kafka_fields, KafkaSettings, key.removeprefix("KAFKA_")
        elif key.startswith("TRACING_"):
            target, owner, name = tracing_fields, TracingSettings, key.removeprefix("TRACING_")
        elif key.startswith(prefix):
            target, owner, name = fields, settings_class, key.removeprefix(prefix)
        else:
            problems.append(f"{where}: {key} is neither {prefix}*, KAFKA_* nor TRACING_*")
            continue
        if name.lower() not in owner.model_fields:
            problems.append(f"{where}: {key} is not a setting of {owner.__name__}")
            continue
        target[name.lower()] = value
    try:
        kafka = KafkaSettings(**kafka_fields)
        settings_class(**fields, kafka=kafka)
        TracingSettings(**tracing_fields)
    except ValueError as exc:
        return [*problems, f"{where}: settings rejected: {exc}"], None
    return problems, kafka


def _forwarded_allow_ips(value: str, where: str) -> list[str]:
    """uvicorn believes X-Forwarded-For from these: never everyone (``*``), which would let
    any client pick the address its failed authentications are counted against."""
    problems = []
    for item in (v.strip() for v in value.split(",")):
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            problems.append(f"{where}: FORWARDED_ALLOW_IPS {item!r} is no address or network")
    return problems
