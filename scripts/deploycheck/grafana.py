"""deploy/grafana: the dashboards, where compose provisions them, and what each must hold."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from scripts.deploycheck.queries import DASHBOARDS, ROOT

PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
REQUIRED = {"Corridor", "Services", "Operations"}
# Every dashboard chooses its Prometheus and the deployment it shows, so that it works on any
# Grafana (compose's provisioned datasource or a cluster's) and for any namespace.
VARIABLES = {"datasource", "namespace", "pod"}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# The metrics of the services, which every query filters by the chosen namespace.
_OWN_METRIC = re.compile(r"(?<![\w:])(?:corridor_|process_)\w+(\{[^}]*\})?")


def dashboards() -> list[str]:
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "corridor.yml").read_text())
    paths = {p["options"]["path"] for p in providers["providers"]}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    problems = []
    if not any(
        m.startswith("./deploy/grafana/dashboards:") and m.split(":")[1] in paths for m in mounts
    ):
        problems.append("grafana: the dashboards' provider path is not where compose mounts them")
    titles: dict[str, str] = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        board: dict[str, Any] = json.loads(path.read_text())
        if board.get("uid") in titles.values():
            problems.append(f"{path.name}: uid {board.get('uid')} used twice")
        titles[board.get("title", "")] = board.get("uid", "")
        problems += board_problems(path)
    for title in sorted(REQUIRED - set(titles)):
        problems.append(f"no dashboard titled {title!r}")
    return problems


def board_problems(path: Path) -> list[str]:
    """One dashboard: its layout, its variables, every panel on $datasource with a query,
    every query on the services' metrics filtered by $namespace."""
    board: dict[str, Any] = json.loads(path.read_text())
    problems = [f"{path.name}: {p}" for p in _layout(board.get("panels", []))]
    variables = {v.get("name") for v in board.get("templating", {}).get("list", [])}
    for missing in sorted(VARIABLES - variables):
        problems.append(f"{path.name}: no ${missing} variable")
    for panel in _panels(board.get("panels", [])):
        if panel.get("type") == "row":
            continue
        where = f"{path.name}: {panel.get('title')}"
        sources = [
            panel.get("datasource"),
            *(t.get("datasource") for t in panel.get("targets", [])),
        ]
        if any(s != DATASOURCE for s in sources):
            problems.append(f"{where}: not on the $datasource variable")
        if not panel.get("targets") or not all(t.get("expr") for t in panel["targets"]):
            problems.append(f"{where}: a panel without a query")
        for target in panel.get("targets", []):
            for match in _OWN_METRIC.finditer(target.get("expr", "")):
                if 'namespace="$namespace"' not in (match.group(1) or ""):
                    problems.append(f"{where}: {match.group(0)} is not filtered by $namespace")
    return problems


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for panel in panels:
        found.append(panel)
        found += _panels(panel.get("panels", []))
    return found


def _layout(panels: list[dict[str, Any]]) -> list[str]:
    """Panels inside the 24-column grid, none on top of another."""
    problems = []
    taken: dict[tuple[int, int], str] = {}
    for panel in panels:
        grid = panel.get("gridPos", {})
        x, y, w, h = (int(grid.get(k, -1)) for k in ("x", "y", "w", "h"))
        title = panel.get("title", "?")
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > 24:
            problems.append(f"{title}: gridPos {grid} is outside the grid")
            continue
        for cell in ((cx, cy) for cx in range(x, x + w) for cy in range(y, y + h)):
            if cell in taken:
                problems.append(f"{title}: overlaps {taken[cell]}")
                break
            taken[cell] = title
    return problems
