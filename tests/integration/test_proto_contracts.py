"""buf guards the protobuf contracts: lint, and no breaking change (scripts/check_proto.sh).

The check needs buf, which scripts/install_deploy_tools.sh puts into the venv. Without it
these tests skip, unless CORRIDOR_REQUIRE_DEPLOY_TOOLS=1 (CI), where a missing buf fails them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "proto" / "baseline.image.json"
REQUIRED = os.environ.get("CORRIDOR_REQUIRE_DEPLOY_TOOLS") == "1"
SKIPPED = 3


def check_proto(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(ROOT / "scripts" / "check_proto.sh"), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHON": sys.executable},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode == SKIPPED and not REQUIRED:
        pytest.skip(f"buf is missing (scripts/install_deploy_tools.sh):\n{result.stdout}")
    return result


def changed_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of proto/ where one line of one contract was changed."""
    copy = tmp_path / "proto"
    shutil.copytree(ROOT / "proto", copy)
    path = copy / "corridor" / "v1" / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return copy


def test_the_contracts_pass_buf_lint_and_breaking() -> None:
    result = check_proto()

    assert result.returncode == 0, result.stdout
    assert "ok    buf lint proto" in result.stdout
    assert "ok    buf breaking proto against proto/baseline.image.json" in result.stdout


def test_the_baseline_holds_every_published_message() -> None:
    image = json.loads(BASELINE.read_text(encoding="utf-8"))
    messages = {
        f"{f['package']}.{m['name']}" for f in image["file"] for m in f.get("messageType", ())
    }

    assert {
        "corridor.v1.CargoEvent",
        "corridor.v1.ShipmentState",
        "corridor.v1.Charge",
    } <= messages


def test_a_removed_field_is_a_breaking_change(tmp_path: Path) -> None:
    proto = changed_copy(tmp_path, "events.proto", "  string reason = 13;", "")

    result = check_proto(str(proto))

    assert result.returncode == 1
    assert f"FAIL  buf breaking {proto} against proto/baseline.image.json" in result.stdout
    assert 'field "13" with name "reason" on message "CargoEvent" was deleted' in result.stdout


def test_a_renamed_field_is_a_breaking_change(tmp_path: Path) -> None:
    proto = changed_copy(
        tmp_path, "shipments.proto", "string current_location = 7;", "string location = 7;"
    )

    result = check_proto(str(proto))

    assert result.returncode == 1
    assert 'Field "7" with name "location" on message "ShipmentState" changed' in result.stdout


def test_a_badly_named_enum_value_fails_lint(tmp_path: Path) -> None:
    proto = changed_copy(
        tmp_path, "common.proto", "  MODE_TRUCK = 3;", "  MODE_TRUCK = 3;\n  BARGE = 4;"
    )

    result = check_proto(str(proto))

    assert result.returncode == 1
    assert f"FAIL  buf lint {proto}" in result.stdout
    assert "BARGE" in result.stdout
    assert f"ok    buf breaking {proto} against proto/baseline.image.json" in result.stdout
