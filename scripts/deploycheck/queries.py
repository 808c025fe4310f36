"""The PromQL of the Grafana dashboards and the Prometheus rules, and the metrics it names.

Used by the deploy checker (every query must parse: promtool is handed them all) and by
tests/e2e/test_metrics_contract.py (every metric they name must be exposed by the services).
It imports nothing but PyYAML, so that the tests can import it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
RULES = ROOT / "deploy" / "prometheus" / "rules"

# Series that Prometheus makes itself (never exposed by a target).
PROMETHEUS_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS"})
# Series of other exporters: the Kafka Exporter and the brokers (kafka_), kube-state-metrics
# (kube_). Names with a colon are recording rules (deploy/prometheus/rules/slo.yml).
EXTERNAL_PREFIXES = ("kafka_", "kube_")


def exposed_by_services(name: str) -> bool:
    """Whether a metric a query names must be exposed by the corridor's own services."""
    return not (name in PROMETHEUS_SERIES or ":" in name or name.startswith(EXTERNAL_PREFIXES))


# Grafana's variables, replaced by a duration so that the query is plain PromQL.
_GRAFANA_VARIABLE = re.compile(r"\$(?:\{[^}]*\}|__rate_interval|__interval|__range|[A-Za-z_]\w*)")

_KEYWORDS = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"offset", "bool", "inf", "nan", "atan2"}
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_OFFSET = re.compile(r"\boffset\s+-?\w+")
_IDENTIFIER = re.compile(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?")


@dataclass(frozen=True)
class Query:
    """One PromQL expression and where it comes from (for messages)."""

    source: str
    expr: str

    @property
    def promql(self) -> str:
        """The expression with Grafana's variables replaced by a duration."""
        return _GRAFANA_VARIABLE.sub("5m", self.expr)


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers that are not functions,
    aggregations, keywords, label names, durations or strings."""
    text = _GRAFANA_VARIABLE.sub("5m", expr)
    text = _STRING.sub('""', text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _OFFSET.sub(" ", text)
    names: set[str] = set()
    for match in _IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def dashboard_queries(directory: Path = DASHBOARDS) -> Iterator[Query]:
    for path in sorted(directory.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in _panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    title = panel.get("title", "?")
                    source = f"{path.name}: {title} [{target.get('refId', '?')}]"
                    yield Query(source, target["expr"])


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def rule_queries(directory: Path = RULES) -> Iterator[Query]:
    for path in sorted(directory.glob("*.yml")):
        document = yaml.safe_load(path.read_text())
        for group in document.get("groups", []):
            for rule in group.get("rules", []):
                name = rule.get("alert") or rule.get("record") or "?"
                yield Query(f"{path.name}: {group['name']}/{name}", rule["expr"])


def exposed_family(name: str, types: dict[str, str]) -> str | None:
    """The metric family of /metrics that a name used in a query belongs to, if any.

    ``types`` maps the families of a scrape to their type. A counter family ``x_total`` is
    parsed by prometheus_client as family ``x``; a histogram ``h`` is queried as
    ``h_bucket``, ``h_sum`` or ``h_count``.
    """
    if types.get(name) in ("gauge", "unknown", "summary"):
        return name
    series_of = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    series_of["summary"] = ("_sum", "_count")
    for kind, suffixes in series_of.items():
        for suffix in suffixes:
            base = name.removesuffix(suffix)
            if name.endswith(suffix) and types.get(base) == kind:
                return base
    return None
