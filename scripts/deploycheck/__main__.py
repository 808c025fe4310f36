"""Run the offline checks of the deployment files.

    python -m scripts.deploycheck [compose|k8s|prometheus|grafana ...]

Exit status: 0 all passed; 1 a check failed (or a tool is missing while
CORRIDOR_REQUIRE_DEPLOY_TOOLS=1); 3 nothing failed but some checks were skipped because a tool
is missing (scripts/install_deploy_tools.sh installs them).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from functools import partial

from scripts import hashlock
from scripts.deploycheck import (
    compose,
    dockerfile,
    grafana,
    imports,
    k8s,
    k8s_images,
    k8s_kafka,
    k8s_rules,
    k8s_scaling,
    k8s_trust,
    monitoring,
    principals,
    prometheus,
    shutdown,
)
from scripts.deploycheck.tools import MissingToolError

Check = Callable[[], list[str]]
SKIPPED = 3


# What each rendered overlay must hold: name -> check(objects, production).
OVERLAY_RULES: dict[str, Callable[[tuple[k8s.Object, ...], bool], list[str]]] = {
    "schemas": lambda objects, _: k8s.validate(objects),
    "workloads": lambda objects, _: k8s_rules.workloads(objects),
    "topics": k8s_rules.topics,
    "kafka": k8s_rules.kafka_cluster,
    "kafka version and metrics": k8s_kafka.kafka_version,
    "kafka placement": k8s_kafka.kafka_placement,
    "service placement": k8s_kafka.service_placement,
    "prometheus rules": monitoring.rules_match,
    "pod monitors": monitoring.pod_monitors,
    "graceful shutdown": shutdown.pod_grace,
    "release images by digest": k8s_images.release_images,
    "users": lambda objects, _: k8s_rules.users(objects),
    "settings": k8s_rules.service_settings,
    "autoscaling": lambda objects, _: k8s_rules.autoscaling(objects),
    "autoscaling behaviour": k8s_scaling.autoscaling_behaviour,
    "trust": k8s_trust.trust,
    "network policies": k8s_trust.network_policies,
}


def _overlay(overlay: str, rule: str) -> list[str]:
    try:
        objects = k8s.render(overlay)
    except k8s.RenderError as exc:
        return [str(exc)]
    return OVERLAY_RULES[rule](objects, overlay == "prod")


def checks() -> dict[str, dict[str, Check]]:
    groups: dict[str, dict[str, Check]] = {
        "compose": {
            "docker compose config": compose.compose_config,
            "compose services, healthchecks and dependencies": compose.compose_structure,
            "Dockerfile: hadolint": dockerfile.hadolint,
            "Dockerfile: one for every service, nothing for development": dockerfile.structure,
            "the services import no development module": imports.runtime_imports,
            "stop grace periods hold the services' stop budgets": shutdown.compose_grace,
            "requirements.image.lock: the runtime tree, hashed": hashlock.problems,
        },
        "k8s": {
            "no secret value committed": k8s.committed_secrets,
            "development principal registries": principals.dev_registries,
        },
        "prometheus": {
            "promtool check config": prometheus.check_config,
            "amtool check-config (compose's Alertmanager)": prometheus.check_alertmanager,
            "promtool check rules": prometheus.check_rules,
            "promtool test rules": prometheus.test_rules,
            "every alert has a test": prometheus.every_alert_tested,
            "every alert has a runbook and a dashboard": prometheus.actionable_alerts,
            "k8s PrometheusRules generated from the rules": monitoring.generated_file_current,
            "dashboard queries are valid PromQL": prometheus.dashboard_promql,
        },
        "grafana": {"dashboards and datasource": grafana.dashboards},
    }
    for overlay in k8s.overlays():
        for rule in OVERLAY_RULES:
            groups["k8s"][f"{overlay}: {rule}"] = partial(_overlay, overlay, rule)
    return groups


def main(argv: list[str] | None = None) -> int:
    groups = checks()
    parser = argparse.ArgumentParser(prog="check_deploy", description=__doc__)
    parser.add_argument("groups", nargs="*", choices=[*groups, []], metavar="GROUP")
    args = parser.parse_args(argv)
    require = os.environ.get("CORRIDOR_REQUIRE_DEPLOY_TOOLS") == "1"
    failed = skipped = passed = 0
    for group in args.groups or list(groups):
        for name, check in groups[group].items():
            started = time.monotonic()
            try:
                problems = check()
            except MissingToolError as exc:
                if require:
                    problems = [f"{exc} is not installed (CORRIDOR_REQUIRE_DEPLOY_TOOLS=1)"]
                else:
                    print(f"SKIP  {group}: {name} ({exc} is not installed)")
                    skipped += 1
                    continue
            elapsed = time.monotonic() - started
            if problems:
                failed += 1
                print(f"FAIL  {group}: {name} ({elapsed:.1f}s)")
                for problem in problems:
                    print(f"      - {problem}")
            else:
                passed += 1
                print(f"ok    {group}: {name} ({elapsed:.1f}s)")
    print(f"deploy checks: {passed} passed, {failed} failed, {skipped} skipped")
    if failed:
        return 1
    return SKIPPED if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
