"""deploy/prometheus: promtool on the config, the rules and their unit tests; every alert
tested; every dashboard query valid PromQL."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from scripts.deploycheck import tools
from scripts.deploycheck.queries import DASHBOARDS, ROOT, RULES, dashboard_queries

CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
TESTS = ROOT / "deploy" / "prometheus" / "tests"


def _promtool(*args: str) -> list[str]:
    result = tools.run([*tools.promtool(), *args])
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        return [f"promtool {' '.join(args[:2])}: {output}"]
    return []


def check_config() -> list[str]:
    return _promtool("check", "config", str(CONFIG))


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


def every_alert_tested() -> list[str]:
    alerts = {
        rule["alert"]
        for path in RULES.glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tested = {
        case["alertname"]
        for path in TESTS.glob("*.yml")
        for test in yaml.safe_load(path.read_text()).get("tests", [])
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    return [f"alert {name} has no promtool test where it fires" for name in sorted(alerts - tested)]


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
