"""Monitoring in Kubernetes as the Prometheus Operator runs it: PrometheusRules that are the
rules of compose (deploy/prometheus/rules), and PodMonitors that scrape every service, the
brokers and the Kafka Exporter with the labels those rules use.

    python -m scripts.deploycheck.monitoring      writes k8s/base/monitoring/prometheus-rules.yaml

The file is generated, never edited: the check ``rules_match`` fails when it differs from
deploy/prometheus/rules, so compose and Kubernetes always evaluate the same rules.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from scripts.deploycheck.k8s import Object, name_of
from scripts.deploycheck.k8s_kafka import _is_service
from scripts.deploycheck.k8s_rules import of_kind
from scripts.deploycheck.queries import ROOT, RULES

GENERATED = ROOT / "k8s" / "base" / "monitoring" / "prometheus-rules.yaml"
HEADER = """\
# GENERATED from deploy/prometheus/rules/*.yml by `python -m scripts.deploycheck.monitoring`:
# do not edit; change the rules there and regenerate (scripts/check_deploy.sh fails when the
# two differ). One PrometheusRule per rules file, the same groups, alerts and labels.
"""
# The scrape jobs the rules select on, and the pods (labels) each one must scrape.
KAFKA_JOBS = {"kafka": "corridor-kafka", "kafka-exporter": "corridor-kafka-exporter"}


def prometheus_rules(directory: Path = RULES) -> list[Object]:
    """One PrometheusRule per rules file, its spec the file's groups as they are."""
    return [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {
                "name": f"corridor-{path.stem}",
                "labels": {"app.kubernetes.io/name": f"corridor-{path.stem}"},
            },
            "spec": {"groups": yaml.safe_load(path.read_text())["groups"]},
        }
        for path in sorted(directory.glob("*.yml"))
    ]


def render() -> str:
    documents = [yaml.safe_dump(rule, sort_keys=False, width=100) for rule in prometheus_rules()]
    return HEADER + "---\n".join(documents)


def generated_file_current() -> list[str]:
    """k8s/base/monitoring/prometheus-rules.yaml is what the rules files generate."""
    if not GENERATED.exists() or GENERATED.read_text() != render():
        return [
            f"{GENERATED.relative_to(ROOT)} differs from deploy/prometheus/rules: "
            "run python -m scripts.deploycheck.monitoring"
        ]
    return []


def rules_match(objects: tuple[Object, ...], production: bool) -> list[str]:
    """The overlay carries every rules file as a PrometheusRule, unchanged."""
    rendered = {o["metadata"]["name"]: o for o in of_kind(objects, "PrometheusRule")}
    problems = []
    for expected in prometheus_rules():
        name = expected["metadata"]["name"]
        got = rendered.get(name)
        if got is None:
            problems.append(f"PrometheusRule/{name}: missing")
        elif got["spec"] != expected["spec"]:
            problems.append(f"PrometheusRule/{name}: differs from deploy/prometheus/rules")
    return problems


def pod_monitors(objects: tuple[Object, ...], production: bool) -> list[str]:
    """Every service's pods are scraped on a declared port with job="corridor" and their
    `service` label; the brokers and the exporter with the jobs the Kafka rules use."""
    monitors = of_kind(objects, "PodMonitor")
    problems = []
    for deployment in of_kind(objects, "Deployment"):
        if not _is_service(deployment):
            continue
        template = deployment["spec"]["template"]
        labels = template["metadata"].get("labels", {})
        ports = {p.get("name") for c in template["spec"]["containers"] for p in c.get("ports", [])}
        found = [
            endpoint
            for monitor in monitors
            if _selects(monitor["spec"].get("selector", {}), labels)
            for endpoint in monitor["spec"].get("podMetricsEndpoints", [])
        ]
        where = name_of(deployment)
        if not found:
            problems.append(f"{where}: no PodMonitor selects its pods")
        for endpoint in found:
            if endpoint.get("port") not in ports or endpoint.get("path") != "/metrics":
                problems.append(f"{where}: scraped on a port it does not declare, or not /metrics")
            if _job(endpoint) != "corridor" or not _sets(endpoint, "service"):
                problems.append(f"{where}: its scrape does not set job=corridor and service")
    if of_kind(objects, "Kafka"):
        jobs = {_job(e) for m in monitors for e in m["spec"].get("podMetricsEndpoints", [])}
        for job, monitor in KAFKA_JOBS.items():
            if job not in jobs:
                problems.append(f"PodMonitor/{monitor}: no scrape with job={job}")
    return problems


def _selects(selector: Object, labels: dict[str, str]) -> bool:
    wanted = selector.get("matchLabels", {})
    if not wanted or any(labels.get(k) != v for k, v in wanted.items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, values = labels.get(expression["key"]), expression.get("values", [])
        if expression["operator"] == "NotIn" and value in values:
            return False
        if expression["operator"] == "In" and value not in values:
            return False
    return True


def _job(endpoint: Object) -> str | None:
    for relabeling in endpoint.get("relabelings", []):
        if relabeling.get("targetLabel") == "job" and not relabeling.get("sourceLabels"):
            return str(relabeling.get("replacement"))
    return None


def _sets(endpoint: Object, label: str) -> bool:
    return any(r.get("targetLabel") == label for r in endpoint.get("relabelings", []))


if __name__ == "__main__":
    GENERATED.write_text(render())
    print(f"wrote {GENERATED.relative_to(ROOT)}")
