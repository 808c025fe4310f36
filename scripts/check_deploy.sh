#!/usr/bin/env bash
# Offline checks of the deployment files (docker-compose.yml, k8s/, deploy/):
# docker compose config, both kustomize overlays rendered and validated against the
# Kubernetes, Strimzi and KEDA schemas, promtool check config / check rules / test rules.
# Tools: scripts/install_deploy_tools.sh. Usage: scripts/check_deploy.sh [GROUP...]
# (groups: compose k8s prometheus grafana). CORRIDOR_REQUIRE_DEPLOY_TOOLS=1 fails on a
# missing tool instead of skipping its checks.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" -m scripts.deploycheck "$@"
