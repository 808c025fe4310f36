"""The README's run command, as a newcomer uses it: everything up, ready, and stopped clean."""

from __future__ import annotations

import signal
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import start_run_command, wait_until_ready

pytestmark = pytest.mark.e2e


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            child = int(entry.name)
            found |= {child} | children_of(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_run_command_brings_up_everything_and_sigterm_leaves_nothing(tmp_path: Path) -> None:
    run, ports = start_run_command(tmp_path, "--rate", "20")
    try:
        assert wait_until_ready(ports, within=60) < 60
        for name in ("ingest", "tracker", "tariff"):
            url = f"http://127.0.0.1:{ports[name]}/metrics"
            with urllib.request.urlopen(url, timeout=5) as response:
                families = list(text_string_to_metric_families(response.read().decode()))
            assert any(f.name == "process_resident_memory_bytes" for f in families)
            assert any(f.name.startswith(f"corridor_{name}_") for f in families)
        descendants = children_of(run.pid)
        assert len(descendants) >= 4  # broker, three services (and the simulator)
    finally:
        run.send_signal(signal.SIGTERM)
        output = run.communicate(timeout=60)[0].decode()
    assert run.returncode == 0, output
    assert "stopped" in output
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p) for p in descendants):
        time.sleep(0.1)
    assert not [p for p in descendants if alive(p)], output
