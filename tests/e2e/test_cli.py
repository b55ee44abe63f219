"""The CLI as a new user meets it: first run, token, migrate, emit, bad configuration."""

import json
import re
import shlex
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt

from tests import local_http as httpx
from tests.conftest import NoTransport
from tests.e2e.conftest import cli_env, webhookd
from webhookd.store import migrations


def test_first_run_prints_a_working_curl_line(tmp_path: Path, serve: Any) -> None:
    env = cli_env(tmp_path)
    served = serve(env)
    secrets_file = tmp_path / "webhookd.db.secrets.json"
    assert secrets_file.exists()
    assert secrets_file.stat().st_mode & 0o077 == 0
    assert served.stop() == 0
    output = served.output()
    curl = next(
        line.strip() for line in output.splitlines() if "curl -s" in line and "dashboard" in line
    )
    token = re.search(r"Bearer ([\w.-]+)", curl)
    assert token, output
    # The banner shows a webhook with custom headers and endpoint auth.
    assert '"headers": {"X-Customer-Id": "cus_42"}' in output
    assert '"auth": {"type": "bearer", "token": "your-endpoint-token"}' in output
    # Restart on the same database: the kept secret still accepts the printed token.
    base = serve(env).base
    args = shlex.split(curl)
    url = next(arg for arg in args if arg.startswith("http"))
    answer = httpx.get(
        url.replace(url.split("/dashboard")[0], base),
        headers={"Authorization": f"Bearer {token[1]}"},
    )
    assert answer.json() == {"statusCode": 200, "data": []}
    ingest = next(line for line in output.splitlines() if "X-Api-Key" in line)
    key = re.search(r"X-Api-Key: ([\w-]+)", ingest)
    assert key
    event = httpx.post(
        f"{base}/events",
        headers={"X-Api-Key": key[1]},
        json={"tenantId": "demo", "event": "verification.completed"},
    )
    assert event.status_code == 202
    # The printed filter example creates a webhook with that filter, as it says.
    filtered = shlex.split(next(line for line in output.splitlines() if '"filter"' in line))
    body = json.loads(filtered[filtered.index("-d") + 1])
    created = httpx.post(
        f"{base}/dashboard/webhooks", json=body, headers={"Authorization": f"Bearer {token[1]}"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["filter"] == {
        "amount": {"$gte": 100},
        "currency": {"$in": ["EUR", "USD"]},
    }
    page = re.search(r"(http://\S+/ui)#token=([\w.-]+)", output)
    assert page, output
    assert page[2] == token[1]
    assert httpx.get(page[1].replace(page[1].split("/ui")[0], base)).status_code == 200


def test_token_is_signed_with_the_configured_secret(tmp_path: Path) -> None:
    secret = "s" * 40
    env = cli_env(tmp_path, WEBHOOKD_JWT_SECRET=secret, WEBHOOKD_INGEST_KEY="k")
    result = webhookd("token", "--tenant", "acme", "--ttl", "2h", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), secret, algorithms=["HS256"])
    assert claims["sub"] == "acme"
    assert claims["exp"] - claims["iat"] == 7200


def test_token_rejects_a_bad_ttl(tmp_path: Path) -> None:
    result = webhookd(
        "token", "--tenant", "a", "--ttl", "soon", env=cli_env(tmp_path), cwd=tmp_path
    )
    assert result.returncode == 2
    assert "1h" in result.stderr


def test_migrate_creates_the_schema_once(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    for _ in range(2):
        result = webhookd("migrate", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "webhookd.db") as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert versions == [m.version for m in migrations.load("sqlite")]  # each once
    assert mode == "wal"


def test_emit_rejects_unknown_event_and_bad_json(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    unknown = webhookd("emit", "nope", "--tenant", "t", env=env, cwd=tmp_path)
    assert unknown.returncode == 1
    assert "Unknown event type" in unknown.stderr
    bad = webhookd(
        "emit", "verification.failed", "--tenant", "t", "--data", "{", env=env, cwd=tmp_path
    )
    assert bad.returncode == 2
    assert "not valid JSON" in bad.stderr
    huge = webhookd("emit", "verification.failed", "--tenant", "t", "--data",
                    '{"id": 18446744073709551616}', env=env, cwd=tmp_path)  # fmt: skip
    assert huge.returncode == 2
    assert "data.id is 18446744073709551616" in " ".join(huge.stderr.split())


def test_bad_configuration_says_what_to_fix(tmp_path: Path) -> None:
    env = cli_env(tmp_path, WEBHOOKD_JWT_SECRET="short")
    result = webhookd("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "WEBHOOKD_JWT_SECRET: must be at least 32 bytes" in result.stderr
    assert "short" not in result.stderr  # a secret's value is never echoed
    env = cli_env(tmp_path, WEBHOOKD_DELIVERY_TIMEOUT="soon")
    assert webhookd("migrate", env=env, cwd=tmp_path).returncode == 2


def test_a_configured_jwt_secret_is_never_used_for_a_printed_token(
    tmp_path: Path, serve: Any
) -> None:
    env = cli_env(tmp_path, WEBHOOKD_JWT_SECRET="p" * 40)  # ingest key left to dev mode
    served = serve(env)
    assert served.stop() == 0
    output = served.output()
    assert "export TOKEN" not in output
    assert "Bearer" not in output


def test_unsupported_databases_are_a_configuration_error(tmp_path: Path) -> None:
    for url in ("sqlite:///:memory:", "mysql://x", "sqlite://relative.db"):
        result = webhookd("migrate", env=cli_env(tmp_path, WEBHOOKD_DATABASE_URL=url), cwd=tmp_path)
        assert result.returncode == 2, url
        assert "WEBHOOKD_DATABASE_URL" in result.stderr


def test_token_refuses_a_tenant_the_server_would_refuse(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    for tenant in ("", "t" * 300):
        result = webhookd("token", "--tenant", tenant, env=env, cwd=tmp_path)
        assert result.returncode == 2
        assert "tenant must be" in result.stderr
    too_long = webhookd("token", "--tenant", "t", "--ttl", "400d", env=env, cwd=tmp_path)
    assert too_long.returncode == 2
    longer = webhookd("token", "--tenant", "t", "--ttl", "25h", env=env, cwd=tmp_path)
    assert longer.returncode == 2
    assert "WEBHOOKD_JWT_MAX_LIFETIME" in longer.stderr  # the server would refuse it
    lifted = cli_env(tmp_path, WEBHOOKD_JWT_MAX_LIFETIME="0")
    assert (
        webhookd("token", "--tenant", "t", "--ttl", "7d", env=lifted, cwd=tmp_path).returncode == 0
    )


def test_reseal_moves_every_secret_to_the_new_key(tmp_path: Path) -> None:
    import asyncio

    from webhookd.sealing import Sealer, new_key
    from webhookd.service import Service
    from webhookd.store.sqlite import SQLiteStore

    old, new = new_key(), new_key()

    async def create() -> str:
        db = SQLiteStore(tmp_path / "webhookd.db")
        await db.open()
        try:
            service = Service(db, NoTransport(), {}, sealer=Sealer(old))
            basic = {"type": "basic", "username": "u", "password": "auth-password"}
            _, secret = await service.create_webhook("t", "https://e.com/", None, None, auth=basic)
            await service.rotate_secret("t", _.id, 3600)
        finally:
            await db.close()
        return secret

    first_secret = asyncio.run(create())
    env = cli_env(tmp_path, WEBHOOKD_SECRET_KEY=f"{new},{old}")
    result = webhookd("reseal", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 webhooks" in result.stdout
    with sqlite3.connect(tmp_path / "webhookd.db") as conn:
        sealed, old_secrets, auth = conn.execute(
            "SELECT secret, old_secrets, auth FROM webhooks"
        ).fetchone()
    only_new = Sealer(new)
    assert only_new.open(sealed).startswith("whsec_")
    assert only_new.open(json.loads(old_secrets)[0]["sealed"]) == first_secret
    assert only_new.open(json.loads(auth)["sealed"]) == "auth-password"  # the auth's too
    assert json.loads(auth)["username"] == "u"
    wrong = webhookd("reseal", env=cli_env(tmp_path, WEBHOOKD_SECRET_KEY=new_key()), cwd=tmp_path)
    assert wrong.returncode == 1
    assert "cannot be opened" in wrong.stderr


def test_a_taken_port_is_a_clear_error_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = webhookd("serve", "--port", str(port), env=cli_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "WEBHOOKD_PORT" in result.stderr
    assert "TOKEN" not in result.stdout  # no token printed for a server that never ran


def _events_file(path: Path, lines: list[Any], newline: str = "\n") -> Path:
    path.write_text(newline.join(x if isinstance(x, str) else json.dumps(x) for x in lines))
    return path


def _line(n: int, **extra: Any) -> dict[str, Any]:
    return {"tenantId": "acme", "event": "verification.completed", "data": {"line": n}, **extra}


def test_emit_file_publishes_every_line_in_order_through_the_server(
    tmp_path: Path, serve: Any
) -> None:
    env = cli_env(tmp_path)  # development secrets: emit finds the server's ingest key too
    base = serve(env, "--no-worker").base
    token = webhookd("token", "--tenant", "acme", env=env, cwd=tmp_path).stdout.strip()
    hook = httpx.post(f"{base}/dashboard/webhooks", json={"url": "https://e.com/hook"},
                      headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert hook.status_code == 201, hook.text
    lines: list[Any] = [_line(n, idempotencyKey=f"line-{n}") for n in range(1, 2501)]
    lines[1200:1200] = ["", "  "]  # blank lines are skipped, and counted
    events = _events_file(tmp_path / "events.jsonl", lines, newline="\r\n")
    emitted = webhookd("emit", "--file", str(events), "--url", base, env=env, cwd=tmp_path)
    assert emitted.returncode == 0, emitted.stderr
    assert emitted.stdout.strip() == "2500 events published, 2500 deliveries"
    assert "1000/2500 events sent (line 1000)" in emitted.stderr  # progress, batch by batch
    assert "2500/2500 events sent (line 2502)" in emitted.stderr
    with sqlite3.connect(tmp_path / "webhookd.db") as conn:
        bodies = [json.loads(r[0]) for r in conn.execute("SELECT body FROM events ORDER BY id")]
        delivered = conn.execute(
            "SELECT e.body FROM deliveries d JOIN events e ON e.id = d.event_id ORDER BY d.id"
        ).fetchall()
    assert [b["data"]["line"] for b in bodies] == list(range(1, 2501))
    assert [json.loads(r[0])["data"]["line"] for r in delivered] == list(range(1, 2501))
    again = webhookd("emit", "--file", str(events), "--url", base, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr  # the same keys: nothing new
    with sqlite3.connect(tmp_path / "webhookd.db") as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 2500
    # The server refuses the second batch (a key reused for other data): the first stays.
    clash = [_line(n) for n in range(1, 1201)]
    clash[1099] = _line(0, idempotencyKey="line-7")
    refused = _events_file(tmp_path / "clash.jsonl", clash)
    answer = webhookd("emit", "--file", str(refused), "--url", base, env=env, cwd=tmp_path)
    assert answer.returncode == 1
    said = " ".join(answer.stderr.split())
    assert "line 1100: idempotencyKey: This idempotency key was used" in said
    assert "The events of lines 1 to 1000 were published, none after." in said
    with sqlite3.connect(tmp_path / "webhookd.db") as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 3500


def test_emit_file_names_a_bad_line_and_sends_nothing(tmp_path: Path, serve: Any) -> None:
    env = cli_env(tmp_path)
    base = serve(env, "--no-worker").base
    good = [_line(n) for n in range(1, 1502)]
    start = '{"tenantId": "acme", "event": "verification.failed"'
    bad_lines = {
        '{"tenantId": "acme", "event": "nope"}': "line 1502: event: Unknown event type 'nope'",
        start + ', "data": {"n": 18446744073709551616}}': "line 1502: data.n is 1844674407370",
        start + ', "data": {"n": NaN}}': "line 1502: data cannot be delivered as JSON",
        start + ', "data": [1]}': "line 1502: data:",
        start + ', "x": 1}': "line 1502: unknown field 'x'",
        start: "line 1502: not valid JSON",
        '["acme"]': "line 1502: not a JSON object",
    }
    for bad, message in bad_lines.items():
        events = _events_file(tmp_path / "events.jsonl", [*good, bad, _line(0)])
        result = webhookd("emit", "--file", str(events), "--url", base, env=env, cwd=tmp_path)
        assert result.returncode == 2, (bad, result.stderr)
        said = " ".join(result.stderr.split())
        assert message in said, (bad, said)
        assert said.endswith("Nothing was sent."), said
    with sqlite3.connect(tmp_path / "webhookd.db") as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    both = webhookd("emit", "verification.failed", "--file", "x", env=env, cwd=tmp_path)
    assert both.returncode == 2
    assert "not both" in both.stderr


def test_a_server_process_keeps_its_startup_heap_out_of_full_collections() -> None:
    """serve and worker tune the process after their imports: the modules and schemas
    loaded by then are frozen, so a full GC pass (which held the process 33-41 ms when
    it walked them, in the very seconds a broken tenant's burst lands) skips them."""
    code = (
        "import gc, json\n"
        "from webhookd import cli\n"
        "from webhookd.api.app import create_app\n"
        "cli._tune_process()\n"
        "print(json.dumps(gc.get_freeze_count()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # the app's modules and schemas: ~88,000 objects (a bare interpreter has ~6,500)
    assert json.loads(done.stdout) > 50_000
