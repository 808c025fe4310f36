"""Offline checks of the deployment files: docker-compose.yml, k8s/ and deploy/.

Run them with ``scripts/check_deploy.sh`` (``python -m scripts.deploycheck``); the tools they
need are installed by ``scripts/install_deploy_tools.sh``.
"""
