"""The seed's own Node.js receiver snippet accepts real deliveries from a real server."""

import json
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import local_http as httpx
from tests.conftest import INGEST_KEY, JWT_SECRET, WAIT, make_token
from tests.e2e.conftest import cli_env, webhookd
from webhookd.testing import free_port

pytestmark = pytest.mark.node
HERE = Path(__file__).parent

TRICKY_DATA: list[Any] = [
    {"recordId": "rec_1", "score": 0.5, "verified": True},
    {"n": 1.0, "big": 1e21, "small": 1e-7, "neg": -0.0, "huge": 12345678901234567890},
    {"10": "ten", "2": "two", "a": 1, "01": "leading zero", "4294967295": "not an index"},
    {"text": 'Zoë 日本 🎉 \u2028 \u007f \x01 \t " \\ </script>'},
    {"nested": {"list": [1, 2.5, None, {"z": 1, "0": 0}], "empty": {}, "none": []}},
]


@pytest.fixture
def node_receiver(tmp_path: Path) -> Iterator[Callable[[str], tuple[str, subprocess.Popen[str]]]]:
    node = shutil.which("node")
    assert node, "node is required for this test (it is on every development and CI machine)"
    processes: list[subprocess.Popen[str]] = []

    def start(secret: str) -> tuple[str, subprocess.Popen[str]]:
        port = free_port()
        env = {**os.environ, "PORT": str(port), "PACSPACE_WEBHOOK_SECRET": secret}
        process = subprocess.Popen(
            [node, str(HERE / "seed_receiver.js")], env=env, stdout=subprocess.PIPE, text=True
        )
        processes.append(process)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "listening"
        return f"http://127.0.0.1:{port}/webhooks/pacspace", process

    yield start
    for process in processes:
        process.kill()
        process.communicate()


def test_seed_snippet_verifies_every_delivery(
    tmp_path: Path, serve: Any, node_receiver: Callable[[str], tuple[str, subprocess.Popen[str]]]
) -> None:
    # WEBHOOKD_NUMBERS=round: "huge" (past 2^53) is refused by default; rounded, it must
    # still reach the snippet as bytes that JSON.stringify(JSON.parse(body)) gives back.
    env = cli_env(
        tmp_path, WEBHOOKD_JWT_SECRET=JWT_SECRET, WEBHOOKD_INGEST_KEY=INGEST_KEY,
        WEBHOOKD_NUMBERS="round",
    )  # fmt: skip
    base = serve(env).base
    headers = {"Authorization": f"Bearer {make_token('acme')}"}
    # Create with a placeholder URL, then point it at the receiver started with the secret.
    created = httpx.post(
        f"{base}/dashboard/webhooks", json={"url": "https://example.com/x"}, headers=headers
    ).json()["data"]
    url, receiver = node_receiver(created["secret"])
    patched = httpx.patch(
        f"{base}/dashboard/webhooks/{created['id']}", json={"url": url}, headers=headers
    )
    assert patched.status_code == 200

    test = httpx.post(f"{base}/dashboard/webhooks/{created['id']}/test", headers=headers).json()
    assert test["data"]["success"] is True
    for data in TRICKY_DATA:
        raw = json.dumps({"tenantId": "acme", "event": "verification.completed", "data": data})
        answer = httpx.post(
            f"{base}/events",
            content=raw,
            headers={"X-Api-Key": INGEST_KEY, "Content-Type": "application/json"},
        )
        assert answer.status_code == 202, answer.text
    emitted = webhookd(
        "emit",
        "verification.failed",
        "--tenant",
        "acme",
        "--data",
        '{"reason": "emitted by the CLI", "x": 1.50}',
        env=env,
        cwd=tmp_path,
    )
    assert emitted.returncode == 0, emitted.stderr

    lines = _read_lines(receiver, len(TRICKY_DATA) + 2, timeout=WAIT)
    assert len(lines) == len(TRICKY_DATA) + 2
    assert all(line["valid"] for line in lines), lines
    assert [line["event"] for line in lines].count("verification.completed") == len(TRICKY_DATA)
    assert {line["event"] for line in lines} == {
        "test",
        "verification.completed",
        "verification.failed",
    }


def _read_lines(process: subprocess.Popen[str], count: int, timeout: float) -> list[Any]:
    """Up to `count` JSON lines the receiver printed, waiting at most `timeout` seconds."""
    lines: queue.Queue[str] = queue.Queue()
    stream = process.stdout
    assert stream is not None

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    found: list[Any] = []
    try:
        while len(found) < count:
            found.append(json.loads(lines.get(timeout=timeout)))
    except queue.Empty:
        pass
    return found
