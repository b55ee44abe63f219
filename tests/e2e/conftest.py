"""End-to-end fixtures: `webhookd serve` as a real process, configured by environment."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest

from webhookd.testing import free_port


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOKD_")}
    env.update({"WEBHOOKD_DATABASE_URL": f"sqlite:///{tmp_path / 'webhookd.db'}", **extra})
    return env


def webhookd(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "webhookd.cli", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@dataclass
class Served:
    """A running `webhookd serve`: its base URL, the process, and where its output goes."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text()

    def stop(self, timeout: float = 15) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


Serve = Callable[[dict[str, str]], Served]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start `webhookd serve` on a free port in tmp_path; stopped after the test."""
    started: list[Served] = []

    def start(env: dict[str, str]) -> Served:
        port = free_port()
        log = tmp_path / f"serve-{len(started)}.log"
        # Output goes to a file: a pipe nobody reads would fill up and stall the server.
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "webhookd.cli", "serve", "--port", str(port)],
                env=env, cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        served = Served(f"http://127.0.0.1:{port}", process, log)
        started.append(served)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{served.base}/readyz").status_code == 200:
                    return served
            except httpx.TransportError:
                time.sleep(0.1)
        served.stop()
        raise AssertionError(f"webhookd serve did not start:\n{served.output()}")

    yield start
    for served in started:
        if served.process.poll() is None:
            served.stop()
