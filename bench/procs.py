"""Starting and stopping the processes of a benchmark run: receivers, webhookd, load."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

import jwt
from cryptography.fernet import Fernet

from webhookd.testing import free_port

JWT_SECRET = "bench-jwt-secret-bench-jwt-secret-0123456789"
INGEST_KEY = "bench-ingest-key"
SECRET_KEY = Fernet.generate_key().decode()
REPO = Path(__file__).resolve().parent.parent


class Proc:
    started: ClassVar[list["Proc"]] = []  # every process of the run, stopped at its end

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        Proc.started.append(self)
        self.name = name
        self.log = logs / f"{name}.log"
        env = {**env, "PYTHONPATH": str(REPO)}  # `python -m bench.…` from any directory
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                args, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=logs
            )

        self.profiler: subprocess.Popen[bytes] | None = None

    def profile(self) -> None:
        """With BENCH_PROFILE=DIR, sample this process with py-spy until it exits
        (BENCH_PROFILE_FORMAT: raw collapsed stacks by default, or flamegraph for an SVG)."""
        where = os.environ.get("BENCH_PROFILE")
        if not where:
            return
        kind = os.environ.get("BENCH_PROFILE_FORMAT", "raw")
        out = Path(where) / f"{self.name}.{'svg' if kind == 'flamegraph' else 'txt'}"
        out.parent.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).with_name("py-spy")
        self.profiler = subprocess.Popen(
            [str(spy), "record", "--pid", str(self.pid), "--nonblocking", "--format", kind,
             "--rate", "200", "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 30) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.profiler is not None:
            self.profiler.wait(30)  # it writes its file when the process is gone

    def cpu_seconds(self) -> float:
        """User + system CPU time so far, every thread of the process."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def python(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def webhookd_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOKD_")}
    env.update(
        WEBHOOKD_DATABASE_URL=database_url,
        WEBHOOKD_ALLOW_PRIVATE_NETWORKS="true",
        WEBHOOKD_DASHBOARD_RATE_LIMIT="0",
        WEBHOOKD_EVENTS_RATE_LIMIT="0",
        WEBHOOKD_JWT_SECRET=JWT_SECRET,
        WEBHOOKD_INGEST_KEY=INGEST_KEY,
        WEBHOOKD_SECRET_KEY=SECRET_KEY,
        **extra,
    )
    return env


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def wait_ready(url: str, proc: Proc, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{proc.log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{proc.name} not ready at {url}:\n{proc.log.read_text()[-3000:]}")


def token(tenant: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": tenant, "iat": now, "exp": now + 3600}, JWT_SECRET, "HS256")


class Receiver:
    """bench/receiver.py: on one port, or on `ports` of them (`urls`), answering each
    POST after `delay_ms`."""

    def __init__(self, logs: Path, name: str = "receiver", ports: int = 1,
                 delay_ms: float = 0) -> None:  # fmt: skip
        self.ports = [free_port() for _ in range(ports)]
        self.port = self.ports[0]
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.url = self.urls[0]
        args = [",".join(map(str, self.ports))] + ([f"{delay_ms:g}"] if delay_ms else [])
        self.proc = Proc(name, python("bench.receiver", *args), dict(os.environ), logs)
        wait_ready(self.url + "/stats", self.proc)

    def reset(self) -> None:
        http("POST", self.url + "/reset", {})

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = http("GET", self.url + "/stats")
        return result

    def wait_for(self, count: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if stats["count"] >= count or time.monotonic() > deadline:
                return stats
            time.sleep(0.05)


class Endpoints:
    """bench/endpoints.py: endpoints that hang (`/hang/N`) or answer 500 (`/fail/N`)."""

    def __init__(self, logs: Path, name: str = "endpoints") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = Proc(name, python("bench.endpoints", str(self.port)), dict(os.environ), logs)
        wait_ready(self.url + "/stats", self.proc)

    def stats(self) -> dict[str, int]:
        result: dict[str, int] = http("GET", self.url + "/stats")
        return result


class Webhookd:
    """`webhookd serve` (or `serve --no-worker`) on a free port."""

    def __init__(self, name: str, env: dict[str, str], logs: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = Proc(name, python("webhookd.cli", "serve", "--port", str(self.port), *args),
                         env, logs)  # fmt: skip
        wait_ready(self.base + "/readyz", self.proc)

    def webhooks(self, tenant: str, urls: list[str]) -> None:
        auth = {"Authorization": f"Bearer {token(tenant)}"}
        for url in urls:
            http("POST", self.base + "/dashboard/webhooks", {"url": url, "events": ["*"]}, auth)


def loadgen(logs: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(python("bench.loadgen", *args), capture_output=True, text=True,
                          check=False, cwd=REPO)  # fmt: skip
    if done.returncode != 0:
        (logs / "loadgen.err").write_text(done.stderr)
        raise RuntimeError(f"loadgen {args[0]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
