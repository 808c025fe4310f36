"""Monitoring that carries over to Kubernetes: the checks pass and catch each fault.

PrometheusRules must be the compose rules, PodMonitors must scrape every service (a new
one included) with the labels the rules use, every alert must point to its runbook and a
dashboard, and dashboards must choose their datasource, namespace and pod.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from scripts.deploycheck import grafana, k8s_trust, monitoring, prometheus, tools
from scripts.deploycheck.k8s import Object
from scripts.deploycheck.k8s_rules import SERVICES, named
from tests.integration.test_deploy_checks import changed, rendered, require

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_both_overlays_carry_the_rules_and_scrape_every_service(overlay: str) -> None:
    objects = rendered(overlay)

    assert monitoring.rules_match(objects, overlay == "prod") == []
    assert monitoring.pod_monitors(objects, overlay == "prod") == []
    assert monitoring.generated_file_current() == []


def test_a_prometheus_rule_edited_in_kubernetes_only_is_caught() -> None:
    def edited(rule: Object) -> None:
        rule["spec"]["groups"][0]["rules"][0]["for"] = "30m"

    objects = changed(rendered("prod"), "PrometheusRule", "corridor-corridor", edited)

    assert monitoring.rules_match(objects, True) == [
        "PrometheusRule/corridor-corridor: differs from deploy/prometheus/rules"
    ]


def test_a_new_service_that_no_pod_monitor_selects_is_caught() -> None:
    objects = rendered("prod")
    tracker = named(objects, "Deployment", "corridor-tracker")
    assert tracker is not None
    newcomer = copy.deepcopy(tracker)
    newcomer["metadata"]["name"] = "corridor-newcomer"
    newcomer["spec"]["template"]["metadata"]["labels"] = {"app.kubernetes.io/name": "x"}

    assert monitoring.pod_monitors((*objects, newcomer), True) == [
        "Deployment/corridor-newcomer: no PodMonitor selects its pods"
    ]


def test_a_scrape_without_the_rules_labels_is_caught() -> None:
    def bare(monitor: Object) -> None:
        monitor["spec"]["podMetricsEndpoints"][0]["relabelings"] = []

    objects = changed(rendered("dev"), "PodMonitor", "corridor-services", bare)
    problems = monitoring.pod_monitors(objects, False)

    assert "Deployment/corridor-ingest: its scrape does not set job=corridor and service" in (
        problems
    )
    assert len(problems) == len(SERVICES)  # one per service


def test_an_alert_without_runbook_or_dashboard_is_caught(tmp_path: Path) -> None:
    assert prometheus.actionable_alerts() == []
    assert prometheus.every_alert_tested() == []

    missing = prometheus.actionable_alerts(runbooks=tmp_path)

    page = "CorridorConsumerNoProgress: docs/runbooks/CorridorConsumerNoProgress.md does not exist"
    assert page in missing
    assert len(missing) == len({rule["alert"] for rule in prometheus.alert_rules()})


def test_every_runbook_page_belongs_to_an_alert() -> None:
    alerts = {rule["alert"] for rule in prometheus.alert_rules()}
    pages = {p.stem for p in (ROOT / "docs" / "runbooks").glob("*.md")} - {"README"}

    assert pages == alerts


def test_a_dashboard_on_a_fixed_datasource_or_all_namespaces_is_caught(tmp_path: Path) -> None:
    assert grafana.dashboards() == []
    board = json.loads((ROOT / "deploy/grafana/dashboards/services.json").read_text())
    panel = next(p for p in board["panels"] if p.get("title") == "Charges computed")
    panel["datasource"] = {"type": "prometheus", "uid": "corridor-prometheus"}
    panel["targets"][0]["expr"] = "sum(rate(corridor_tariff_charges_total[5m]))"
    board["templating"]["list"] = [v for v in board["templating"]["list"] if v["name"] != "pod"]
    (tmp_path / "services.json").write_text(json.dumps(board))

    problems = grafana.board_problems(tmp_path / "services.json")

    assert problems == [
        "services.json: no $pod variable",
        "services.json: Charges computed: not on the $datasource variable",
        "services.json: Charges computed: corridor_tariff_charges_total is not filtered by "
        "$namespace",
    ]


def test_an_alertmanager_route_to_no_receiver_is_caught(tmp_path: Path) -> None:
    require(tools.amtool)
    assert prometheus.check_alertmanager() == []
    text = prometheus.ALERTMANAGER.read_text()
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(
        text.replace("receiver: local-webhook\n  group_by", "receiver: pager\n  group_by")
    )

    problems = prometheus.check_alertmanager(broken)

    assert len(problems) == 1
    assert "pager" in problems[0]


def test_the_kafka_exporter_is_reachable_by_prometheus_only() -> None:
    objects = rendered("prod")
    assert k8s_trust.network_policies(objects, True) == []

    def opened(policy: Object) -> None:
        policy["spec"]["ingress"][0]["from"].append({"podSelector": {}})

    wider = changed(objects, "NetworkPolicy", "corridor-kafka-exporter", opened)

    assert k8s_trust.network_policies(wider, True) == [
        "NetworkPolicy/corridor-kafka-exporter: only Prometheus (monitoring) may reach it"
    ]
