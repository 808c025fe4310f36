"""deploy/prometheus: promtool on the config, the rules and their unit tests; every alert
tested; every dashboard query valid PromQL."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from scripts.deploycheck import tools
from scripts.deploycheck.queries import DASHBOARDS, ROOT, RULES, dashboard_queries

CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
TESTS = ROOT / "deploy" / "prometheus" / "tests"
RUNBOOKS = ROOT / "docs" / "runbooks"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


def _promtool(*args: str) -> list[str]:
    result = tools.run([*tools.promtool(), *args])
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        return [f"promtool {' '.join(args[:2])}: {output}"]
    return []


def check_config() -> list[str]:
    return _promtool("check", "config", str(CONFIG))


def check_alertmanager(path: Path = ALERTMANAGER) -> list[str]:
    """``amtool check-config`` of compose's Alertmanager (routes, receivers, inhibitions)."""
    result = tools.run([*tools.amtool(), "check-config", str(path)])
    if result.returncode != 0:
        return [f"amtool check-config: {(result.stdout + result.stderr).strip()}"]
    return []


def check_rules() -> list[str]:
    files = sorted(str(p) for p in RULES.glob("*.yml"))
    if not files:
        return ["no rule files in deploy/prometheus/rules"]
    return _promtool("check", "rules", *files)


def test_rules() -> list[str]:
    files = sorted(str(p) for p in TESTS.glob("*.yml"))
    if not files:
        return ["no rule tests in deploy/prometheus/tests"]
    return _promtool("test", "rules", *files)


def alert_rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in sorted(RULES.glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def every_alert_tested() -> list[str]:
    """Every alert has a promtool test where it fires and one where it stays silent."""
    alerts = {rule["alert"] for rule in alert_rules()}
    cases = [
        case
        for path in TESTS.glob("*.yml")
        for test in yaml.safe_load(path.read_text()).get("tests", [])
        for case in test.get("alert_rule_test", [])
    ]
    firing = {case["alertname"] for case in cases if case.get("exp_alerts")}
    silent = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    problems = [f"alert {name} has no promtool test where it fires" for name in alerts - firing]
    problems += [
        f"alert {name} has no promtool test where it is silent" for name in alerts - silent
    ]
    return sorted(problems)


def actionable_alerts(runbooks: Path = RUNBOOKS) -> list[str]:
    """Every alert: a severity, its runbook page (docs/runbooks/<alert>.md, which exists) and
    a Grafana dashboard of deploy/grafana/dashboards."""
    uids = {json.loads(p.read_text()).get("uid") for p in DASHBOARDS.glob("*.json")}
    problems = []
    for rule in alert_rules():
        name, annotations = rule["alert"], rule.get("annotations", {})
        if rule.get("labels", {}).get("severity") not in ("critical", "warning"):
            problems.append(f"{name}: severity is neither critical nor warning")
        if annotations.get("runbook_url") != f"docs/runbooks/{name}.md":
            problems.append(f"{name}: runbook_url is not docs/runbooks/{name}.md")
        elif not (runbooks / f"{name}.md").exists():
            problems.append(f"{name}: docs/runbooks/{name}.md does not exist")
        dashboard = str(annotations.get("dashboard_url", ""))
        if dashboard.split("/")[2:3] not in ([uid] for uid in uids):
            problems.append(f"{name}: dashboard_url {dashboard!r} names no dashboard uid")
    return sorted(set(problems))


def dashboard_promql(directory: Path = DASHBOARDS) -> list[str]:
    """Every dashboard query parses: they are checked by promtool as recording rules."""
    queries = list(dashboard_queries(directory))
    if not queries:
        return ["no dashboard queries found"]
    rules = [{"record": f"dashboard:query_{i}", "expr": q.promql} for i, q in enumerate(queries)]
    with tempfile.TemporaryDirectory() as temporary:
        path = Path(temporary) / "dashboards.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
        result = tools.run([*tools.promtool(), "check", "rules", str(path)])
    if result.returncode == 0:
        return []
    output = result.stdout + result.stderr
    failing = [q.source for i, q in enumerate(queries) if f'dashboard:query_{i}"' in output]
    return [f"invalid PromQL in {', '.join(failing) or 'a dashboard'}: {output.strip()}"]
