"""End-to-end fixtures: `webhookd serve` as a real process, configured by environment."""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import local_http as httpx
from tests.conftest import WAIT, wait_until
from webhookd.testing import free_port


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in tests/e2e is marked e2e (`make test-fast` leaves it out). The hook
    sees every collected test, not only this directory's."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOKD_")}
    env.update(
        {
            "WEBHOOKD_DATABASE_URL": f"sqlite:///{tmp_path / 'webhookd.db'}",
            "WEBHOOKD_ALLOW_PRIVATE_NETWORKS": "true",  # receivers run on 127.0.0.1
            **extra,
        }
    )
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

    def stop(self, timeout: float = WAIT) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


Serve = Callable[..., Served]


def ready(served: Served) -> bool:
    """Whether `webhookd serve` answers /readyz with 200; AssertionError if it exited."""
    if served.process.poll() is not None:
        raise AssertionError(f"webhookd exited with {served.process.returncode}")
    try:
        return httpx.get(f"{served.base}/readyz", timeout=WAIT).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start `webhookd ARGS…` in tmp_path, output to a log file; stopped after the test."""
    started: list[Served] = []

    def start(*args: str, env: dict[str, str], base: str = "") -> Served:
        log = tmp_path / f"{args[0]}-{len(started)}.log"
        # Output goes to a file: a pipe nobody reads would fill up and stall the process.
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "webhookd.cli", *args],
                env=env, cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        served = Served(base, process, log)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.stop()


@pytest.fixture
def serve(spawn: Callable[..., Served]) -> Serve:
    """Start `webhookd serve [ARGS…]` on a free port and wait until it is ready."""

    def start(env: dict[str, str], *args: str) -> Served:
        port = free_port()
        served = spawn(
            "serve", "--port", str(port), *args, env=env, base=f"http://127.0.0.1:{port}"
        )
        try:
            wait_until(lambda: ready(served), every=0.1)
        except AssertionError:
            served.stop()
            raise AssertionError(f"webhookd serve did not start:\n{served.output()}") from None
        return served

    return start
