"""k8s/: render each overlay with kustomize, validate every object against its schema.

Core kinds are validated with the Kubernetes schemas of ``kubernetes-validate`` (strict: an
unknown field is an error), the Strimzi and KEDA kinds with their CRD schemas in
deploy/schemas/crds. What the schemas cannot say is checked in ``k8s_rules``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from scripts.deploycheck import tools
from scripts.deploycheck.queries import ROOT
from scripts.deploycheck.tools import MissingToolError

OVERLAYS = ROOT / "k8s" / "overlays"
CRD_SCHEMAS = ROOT / "deploy" / "schemas" / "crds"
KUBERNETES_VERSION = "1.32"

Object = dict[str, Any]


def overlays() -> list[str]:
    return sorted(p.name for p in OVERLAYS.iterdir() if (p / "kustomization.yaml").exists())


@cache
def render(overlay: str) -> tuple[Object, ...]:
    """The objects ``kubectl kustomize k8s/overlays/<overlay>`` renders."""
    result = tools.run([*tools.kustomize(), str(OVERLAYS / overlay)])
    if result.returncode != 0:
        raise RenderError(f"{overlay}: kustomize failed: {result.stderr.strip()}")
    return tuple(o for o in yaml.safe_load_all(result.stdout) if o)


class RenderError(Exception):
    pass


def name_of(obj: Object) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def validate(objects: tuple[Object, ...]) -> list[str]:
    try:
        import jsonschema  # type: ignore[import-untyped]
        import kubernetes_validate  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingToolError(f"the Python package {exc.name}") from exc
    problems = []
    for obj in objects:
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        if group in ("kafka.strimzi.io", "keda.sh"):
            problems += _validate_custom(jsonschema, obj, group)
        elif group == "monitoring.coreos.com":
            # No schema of the Prometheus Operator's kinds is kept here: PrometheusRules are
            # generated from the promtool-checked rules and PodMonitors checked field by
            # field (scripts/deploycheck/monitoring.py).
            problems += _known_monitoring_kind(obj)
        else:
            problems += _validate_core(kubernetes_validate, obj)
    return problems


def _known_monitoring_kind(obj: Object) -> list[str]:
    if obj.get("apiVersion") != "monitoring.coreos.com/v1":
        return [f"{name_of(obj)}: use monitoring.coreos.com/v1"]
    if obj.get("kind") not in ("PodMonitor", "PrometheusRule"):
        return [f"{name_of(obj)}: unchecked kind {obj.get('kind')}"]
    return []


def _validate_core(kubernetes_validate: Any, obj: Object) -> list[str]:
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{name_of(obj)}: {_where(exc)}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [
            f"{name_of(obj)}: no Kubernetes {KUBERNETES_VERSION} schema for {obj['apiVersion']}"
        ]
    return []


def _validate_custom(jsonschema: Any, obj: Object, group: str) -> list[str]:
    version = str(obj["apiVersion"]).rpartition("/")[2]
    path = CRD_SCHEMAS / group / f"{str(obj['kind']).lower()}_{version}.json"
    if not path.exists():
        return [f"{name_of(obj)}: no schema for {obj['apiVersion']} {obj['kind']} in {path}"]
    validator = jsonschema.Draft7Validator(_schema(path))
    return [
        f"{name_of(obj)}: {_where(error)}: {error.message}"
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.path))
    ]


@cache
def _schema(path: Path) -> Object:
    schema: Object = json.loads(path.read_text())
    return schema


def _where(error: Any) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(root)"


def committed_secrets(directory: Path = ROOT / "k8s") -> list[str]:
    """No Secret carries a value in k8s/: Secrets come from the operators or from you."""
    problems = []
    for path in sorted(directory.rglob("*.yaml")):
        for obj in yaml.safe_load_all(path.read_text()):
            if not isinstance(obj, dict):
                continue
            if obj.get("kind") == "Secret" and (obj.get("data") or obj.get("stringData")):
                problems.append(f"{path.relative_to(directory)}: a Secret with a value")
            for generator in obj.get("secretGenerator", []) or []:
                problems.append(
                    f"{path.relative_to(directory)}: secretGenerator {generator.get('name')}"
                )
    return problems
