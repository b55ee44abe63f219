"""`webhookd listen` as a developer runs it: a real process, real signed POSTs, its lines."""

import http.client
import math
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests import local_http as httpx
from tests.conftest import JWT_SECRET, WAIT, Receiver, make_token, wait_until
from tests.e2e.conftest import Served, cli_env, webhookd
from webhookd.domain import ids, signing
from webhookd.testing import free_port

SECRET = ids.new_secret()
BODY = b'{"event":"verification.completed","timestamp":"2025-06-10T15:30:00.000Z","data":{}}'
DELIVERY = "dlv_01jx4k3c2v8f7r6n5m4k3j2h1g"

Listen = Callable[..., Served]


def signed(body: bytes = BODY, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    return signing.delivery_headers(
        secrets=[secret], body=body, delivery_id=DELIVERY, event_type="verification.completed",
        timestamp_s=int(time.time()) if at is None else at, user_agent="webhookd/test",
    )  # fmt: skip


@pytest.fixture
def listen(tmp_path: Path, spawn: Callable[..., Served]) -> Listen:
    """Start `webhookd listen --port P ARGS…`; wait for its start-up line."""

    def start(*args: str, port: int | None = None) -> Served:
        port = port or free_port()
        served = spawn(
            "listen", "--port", str(port), *args,
            env=cli_env(tmp_path), base=f"http://127.0.0.1:{port}",
        )  # fmt: skip

        def started() -> bool:
            if served.process.poll() is not None:
                raise AssertionError(f"webhookd listen exited:\n{served.output()}")
            return "Ctrl-C stops" in served.output()

        try:
            wait_until(started)
        except AssertionError:
            served.stop()
            raise AssertionError(f"webhookd listen did not start:\n{served.output()}") from None
        return served

    return start


def lines(served: Served) -> list[str]:
    """The per-delivery lines (they start with the time of day)."""
    return [line for line in served.output().splitlines() if line[:2].isdigit()]


def latencies(signed_at: int, sent: float, answered: float) -> list[str]:
    """What the line may say for a delivery signed at `signed_at` (whole seconds), sent
    at `sent` and answered at `answered`: it is printed in between, and says whole
    seconds since the signing, or '<1 s'."""
    low, high = math.floor(sent - signed_at), math.floor(answered - signed_at)
    return [f"latency {n} s" if n else "latency <1 s" for n in range(low, high + 1)]


def test_start_up_says_where_it_listens_and_how_to_point_a_webhook_at_it(listen: Listen) -> None:
    served = listen("--secret", SECRET)
    output = served.output()
    assert f"webhookd listen on {served.base}/" in output
    assert "answered 401" in output
    assert "WEBHOOKD_ALLOW_PRIVATE_NETWORKS=true" in output
    assert "/test" in output


def test_a_signed_delivery_is_verified_by_both_schemes_and_answered_200(listen: Listen) -> None:
    served = listen("--secret", SECRET)
    sent = time.time()
    at = int(sent)
    answer = httpx.post(f"{served.base}/webhooks", content=BODY, headers=signed(at=at))
    answered = time.time()
    assert answer.status_code == 200
    [line] = lines(served)
    assert "verification.completed" in line
    assert DELIVERY in line
    assert "✓ verified (X-PacSpace-Signature ✓, Standard Webhooks ✓)" in line
    # '<1 s' unless a second boundary passed (whole-second timestamps), or the machine
    # took that long to answer.
    assert any(latency in line for latency in latencies(at, sent, answered)), line
    assert "→ 200" in line


def test_unverified_deliveries_are_answered_401_with_the_reason(listen: Listen) -> None:
    served = listen("--secret", SECRET)
    tampered = httpx.post(served.base, content=BODY + b" ", headers=signed())
    wrong = httpx.post(served.base, content=BODY, headers=signed(secret=ids.new_secret()))
    sent = time.time()
    stale_at = int(sent) - 3600
    stale = httpx.post(served.base, content=BODY, headers=signed(at=stale_at))
    answered = time.time()
    bare = httpx.post(served.base, content=BODY, headers={"Content-Type": "application/json"})
    assert [a.status_code for a in (tampered, wrong, stale, bare)] == [401] * 4
    assert "raw request body" in tampered.text
    first, second, third, fourth = lines(served)
    assert "→ 401  ✗ webhook-signature does not match" in first
    assert "check the secret" in second
    assert any(latency in third for latency in latencies(stale_at, sent, answered)), third
    assert "outside the tolerance" in third
    assert "is this request from webhookd?" in fourth
    assert "verification.completed" in fourth  # the event type read from the body


def test_the_seed_header_alone_is_refused_and_a_rotation_s_two_secrets_pass(
    listen: Listen,
) -> None:
    new = ids.new_secret()
    served = listen("--secret", new, "--secret", SECRET)
    seed_only = {"X-PacSpace-Signature": signing.sign(SECRET, BODY)}
    assert httpx.post(served.base, content=BODY, headers=seed_only).status_code == 401
    assert httpx.post(served.base, content=BODY, headers=signed(secret=new)).status_code == 200
    first, second = lines(served)
    assert "✗ X-PacSpace-Signature came without webhook-signature" in first
    assert "latency ?" in first  # no timestamp header came
    assert "✓ verified" in second


def test_terminal_escapes_in_a_delivery_never_reach_the_terminal(listen: Listen) -> None:
    served = listen("--secret", SECRET)
    body = rb'{"event":"\u001b]0;owned\u0007"}'  # JSON escapes: ESC, BEL
    httpx.post(served.base, content=body)  # unsigned: the event name comes from the body
    [line] = lines(served)
    assert "\x1b" not in line
    assert "\x07" not in line
    assert "]0;owned" in line


def test_fail_rate_one_answers_500_to_every_delivery(listen: Listen) -> None:
    served = listen("--secret", SECRET, "--fail-rate", "1.0")
    assert httpx.post(served.base, content=BODY, headers=signed()).status_code == 500
    [line] = lines(served)
    assert "→ 500 (--fail-rate)  ✓ verified" in line


def test_forward_passes_the_same_bytes_and_headers_and_answers_its_status(
    listen: Listen,
) -> None:
    with Receiver(status=202) as receiver:
        served = listen("--secret", SECRET, "--forward", receiver.url)
        headers = signed()
        answer = httpx.post(f"{served.base}/anything", content=BODY, headers=headers)
        assert answer.status_code == 202
        [got] = receiver.wait_for(1)
    assert got.body == BODY
    for name in ("X-PacSpace-Signature", "webhook-signature", "X-PacSpace-Delivery", "User-Agent"):
        assert got.headers[name.lower()] == headers[name]
    [line] = lines(served)
    assert f"→ 202 (from {receiver.url})" in line


def test_forward_adds_no_user_agent_the_delivery_did_not_carry(listen: Listen) -> None:
    with Receiver() as receiver:
        served = listen("--secret", SECRET, "--forward", receiver.url)
        headers = {k: v for k, v in signed().items() if k != "User-Agent"}
        where = urlsplit(served.base)
        conn = http.client.HTTPConnection(where.hostname or "", where.port)
        conn.request("POST", "/", body=BODY, headers=headers)  # http.client adds no UA
        assert conn.getresponse().status == 200
        conn.close()
        [got] = receiver.wait_for(1)
    assert "user-agent" not in got.headers
    assert got.headers["x-pacspace-signature"] == headers["X-PacSpace-Signature"]


def test_forward_to_nothing_is_a_502_that_says_why(listen: Listen) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/hook"
    served = listen("--secret", SECRET, "--forward", nowhere)
    assert httpx.post(served.base, content=BODY, headers=signed()).status_code == 502
    assert "forward failed: could not connect" in lines(served)[0]


def test_no_verify_answers_everything_but_still_says_what_failed(listen: Listen) -> None:
    served = listen("--secret", SECRET, "--no-verify")
    wrong = signed(secret=ids.new_secret())
    assert httpx.post(served.base, content=BODY, headers=wrong).status_code == 200
    assert "→ 200  ✗ webhook-signature does not match" in lines(served)[0]
    bare = listen("--no-verify")
    assert httpx.post(bare.base, content=BODY).status_code == 200
    assert "not checked (no --secret)" in lines(bare)[0]


def test_path_restricts_where_deliveries_are_taken(listen: Listen) -> None:
    served = listen("--secret", SECRET, "--path", "/hook")
    assert httpx.post(f"{served.base}/other", content=BODY, headers=signed()).status_code == 404
    assert httpx.post(f"{served.base}/hook", content=BODY, headers=signed()).status_code == 200
    first, second = lines(served)
    assert "POST /other: not /hook (--path)" in first
    assert "✓ verified" in second


def test_ctrl_c_stops_it_cleanly(listen: Listen) -> None:
    served = listen("--secret", SECRET)
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(timeout=WAIT) == 0
    assert "stopping" in served.output()
    assert "Traceback" not in served.output()


def test_bad_arguments_say_what_to_give(tmp_path: Path, listen: Listen) -> None:
    env = cli_env(tmp_path)
    no_secret = webhookd("listen", env=env, cwd=tmp_path)
    assert no_secret.returncode == 2
    assert "--secret whsec_" in no_secret.stderr
    assert "--no-verify" in no_secret.stderr
    rate = webhookd("listen", "--no-verify", "--fail-rate", "2", env=env, cwd=tmp_path)
    assert rate.returncode == 2
    forward = webhookd("listen", "--no-verify", "--forward", "localhost:1", env=env, cwd=tmp_path)
    assert forward.returncode == 2
    busy = listen("--no-verify")
    port = busy.base.rsplit(":", 1)[1]
    taken = webhookd("listen", "--no-verify", "--port", port, env=env, cwd=tmp_path)
    assert taken.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr


def test_a_real_server_s_test_event_is_verified(tmp_path: Path, serve: Any, listen: Listen) -> None:
    base = serve(cli_env(tmp_path, WEBHOOKD_JWT_SECRET=JWT_SECRET)).base
    headers = {"Authorization": f"Bearer {make_token('acme')}"}
    port = free_port()
    created = httpx.post(
        f"{base}/dashboard/webhooks",
        json={"url": f"http://127.0.0.1:{port}/webhooks/pacspace"},
        headers=headers,
    ).json()["data"]
    served = listen("--secret", created["secret"], port=port)
    test = httpx.post(f"{base}/dashboard/webhooks/{created['id']}/test", headers=headers).json()
    assert test["data"] == {
        "success": True,
        "httpStatus": 200,
        "message": "Test event sent successfully.",
    }
    [line] = lines(served)
    assert "  test  " in line
    assert "dlv_" in line
    assert "✓ verified (X-PacSpace-Signature ✓, Standard Webhooks ✓)" in line
    assert "→ 200" in line
