"""The dashboard page in a real browser: Debian's Chromium, driven by playwright-core from
node (tests/web/dashboard.mjs), against a real `webhookd serve` and real receivers (one
that answers 200 for the customer's webhook; one answering 400 and one answering 503 for
another tenant's failing and paused webhooks).

Needs /usr/bin/chromium (`apt-get install chromium`) and node_modules (`npm ci`, which
`make install` runs). Without them the test skips locally and fails under CI.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests import local_http as httpx
from tests.conftest import INGEST_KEY, JWT_SECRET, Receiver, make_token, wait_until
from tests.e2e.conftest import Serve, cli_env, webhookd
from webhookd.domain import signing

pytestmark = [pytest.mark.node, pytest.mark.browser]
ROOT = Path(__file__).parents[2]
SCRIPT = Path(__file__).with_name("dashboard.mjs")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "web"  # git-ignored; CI can keep it


def _browser_or_skip() -> str:
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node (apt-get install nodejs)")
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        missing.append("node_modules/playwright-core (run `npm ci` or `make install`)")
    if missing:
        message = "the browser test needs " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    assert node is not None
    return node


def _drive(node: str, env: dict[str, str], script: Path = SCRIPT) -> dict[str, Any]:
    run = subprocess.run(
        [node, str(script)],
        env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=180,
        check=False,
    )  # fmt: skip
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stderr
    assert lines, f"the script printed nothing:\n{run.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert "failure" not in result, f"{result['failure']}\nsteps: {result['steps']}"
    return result


def _unhealthy_webhooks(base: str, token: str, rejecting: str, down: str) -> None:
    """Two webhooks of the token's tenant, one event each: the endpoint that answers 400
    leaves its webhook failing, the one that answers 503 opens its circuit (paused)."""
    hooks = f"{base}/dashboard/webhooks"
    headers = {"Authorization": f"Bearer {token}"}
    for url, description in ((rejecting, "Rejects"), (down, "Down")):
        created = httpx.post(hooks, json={"url": url, "description": description}, headers=headers)
        assert created.status_code == 201, created.text
    data = {"runId": "run_1", "verified": 1}  # as the catalog's schema asks
    event = {"tenantId": "ops", "event": "verification.completed", "data": data}
    assert httpx.post(f"{base}/events", json=event, headers={"X-Api-Key": INGEST_KEY}).is_success

    def statuses() -> list[str]:
        answer = httpx.get(hooks, headers=headers).json()["data"]
        return sorted(w["health"]["status"] for w in answer)

    wait_until(lambda: statuses() == ["failing", "paused"])


def test_a_customer_manages_a_webhook_in_the_page(tmp_path: Path, serve: Serve) -> None:
    node = _browser_or_skip()
    env = cli_env(
        tmp_path, WEBHOOKD_JWT_SECRET=JWT_SECRET, WEBHOOKD_INGEST_KEY=INGEST_KEY,
        # one breaker failure opens a circuit, for an hour: a paused webhook stays paused
        WEBHOOKD_CIRCUIT_FAILURES="1", WEBHOOKD_CIRCUIT_COOLDOWN="3600",
        WEBHOOKD_EVENT_CATALOG=str(ROOT / "examples" / "event-catalog.yaml"),
    )  # fmt: skip
    minted = webhookd("token", "--tenant", "acme", "--ttl", "10m", env=env, cwd=tmp_path)
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    server = serve(env)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    ops = make_token("ops")
    with Receiver() as receiver, Receiver(status=400) as rejecting, Receiver(status=503) as down:
        _unhealthy_webhooks(server.base, ops, rejecting.url, down.url)
        result = _drive(
            node,
            {
                "WEBHOOKD_BASE": server.base,
                "WEBHOOKD_TOKEN": token,
                "RECEIVER_URL": receiver.url,
                "OPS_TOKEN": ops,
                "ARTIFACTS": str(ARTIFACTS),
                "CHROMIUM": CHROMIUM,
            },
        )
        got = receiver.wait_for(2)

    assert result["done"], result["steps"]
    # No script error, no CSP violation: the only console error is the refused create below.
    refused = f"status of 400 (Bad Request) {server.base}/dashboard/webhooks"
    assert [e for e in result["consoleErrors"] if not e.endswith(refused)] == []

    # Signed in through the link; the token left the address bar but stays in the tab.
    assert result["urlAfterSignIn"] == f"{server.base}/ui"
    assert result["storedToken"] == token
    assert "acme" in result["who"]

    # The API's own message, word for word.
    assert result["createError"] == "url must be an absolute http:// or https:// URL"

    # The secret is shown once, focused, copyable, and gone from the page once closed.
    secret = result["secret"]
    assert secret.startswith("whsec_")
    assert "shown only this once" in result["secretWarning"]
    assert result["focusOnSecret"] == "secret-value"
    assert result["clipboard"] == secret
    assert result["secretGoneAfterClose"]

    # Picking events shows what each type is: its description, schema and example.
    assert result["eventAbout"] == "A verification run finished and its records were verified."
    assert json.loads(result["eventSchema"])["required"] == ["runId", "verified"]
    assert json.loads(result["eventExample"])["runId"] == "run_42"
    assert result["filterJsonError"].startswith("Filter is not valid JSON")

    # A new webhook is healthy; its rate limit and filter, set in the form, are shown and
    # can be removed.
    assert "Healthy" in result["factsAfterCreate"]
    assert "5 deliveries per second at most" in result["factsAfterCreate"]
    facts = result["factsAfterCreate"].replace("\n", "\t")
    assert 'Filter\t{"currency":{"$in":["EUR","USD"]}}' in facts
    assert result["rateLimitInForm"] == "5"
    assert json.loads(result["filterInForm"]) == {"currency": {"$in": ["EUR", "USD"]}}
    assert "Rate limit\tnone" in result["factsAfterEdit"].replace("\n", "\t")
    assert "Filter\tnone (every event)" in result["factsAfterEdit"].replace("\n", "\t")
    # Ordering is chosen in the form too.
    assert result["orderingInForm"] == "none"
    assert "Ordering\tin order, one at a time (fifo)" in result["factsAfterEdit"].replace(
        "\n", "\t"
    )
    # Custom headers and auth, edited in the form; the token never comes back to the page.
    assert "X-Customer-Id: cus_42\nX-Env: production" in result["factsAfterEdit"]
    assert "Authentication\nBearer token" in result["factsAfterEdit"]
    assert result["headersInForm"] == "X-Customer-Id: cus_42\nX-Env: production"
    assert result["authInForm"] == "Keep the current one (Bearer token)"
    assert not result["tokenInPage"]
    assert "Authentication\nBearer token" in result["factsAfterSecondEdit"]

    # Data from the API is shown as text, never run as HTML.
    assert result["detailTitle"] == "<img src=x onerror=alert(1)> Receiver"
    assert result["imagesInPage"] == 0

    # The test send: its result, then its attempt in the log (status, duration, excerpt).
    assert "Test event sent successfully." in result["testResult"]
    assert result["focusOnTestResult"] == "test-result"
    assert "test" in result["logRow"]
    assert "delivered" in result["logRow"]
    assert "HTTP 200" in result["attempts"]
    assert " ms" in result["attempts"]
    assert "OK" in result["attempts"]  # the receiver's answer, as the excerpt

    # Retry sends the same delivery again: a second attempt, same delivery id.
    assert "Attempt 2" in result["attemptsAfterRetry"], result["logRowAfterRetry"]
    first, second = got[0], got[1]
    assert first.headers["x-pacspace-event"] == "test"
    assert first.headers["x-pacspace-delivery"] == second.headers["x-pacspace-delivery"]
    # The secret the page showed is the one that signs the deliveries.
    for request in (first, second):
        assert signing.verify(secret, request.body, request.headers["x-pacspace-signature"])

    # Toggled off, then listed with its status, last trigger and counts.
    assert "Inactive" in result["factsAfterToggle"]
    assert result["toggleLabel"] == "Enable"
    assert result["focusAfterToggle"] == "toggle"  # a keyboard user keeps their place
    assert "Inactive" in result["listRow"]
    assert "never" not in result["listRow"]  # last triggered: the test send
    assert result["counts"].startswith("1 delivered, 0 failed")

    # Delete asked first, with Cancel focused, then the list is empty.
    assert receiver.url in result["confirmText"]
    assert result["focusInConfirm"] == "Cancel"
    assert result["emptyShown"]
    assert result["tokenAfterSignOut"] is None
    assert not result["signOutShownWhenSignedOut"]
    assert len(receiver.requests) == 2  # nothing sent after the webhook was disabled

    # The other tenant's list: a failing webhook and a paused one, each with its badge and time.
    failing, paused = sorted(result["healthCells"])  # either may be listed first
    assert failing.startswith("Failing")
    assert "failing since" in failing
    assert paused.startswith("Paused")
    assert "next probe at" in paused
    assert sorted(result["healthBadges"]) == ["badge bad: Failing", "badge wait: Paused"]
    assert len(result["healthTimes"]) == 2  # <time datetime=…> from the API's ISO times
    assert all(t.endswith("Z") for t in result["healthTimes"])
    assert "Paused" in result["opsFacts"]
    assert "next probe at" in result["opsFacts"]

    names = ("dashboard-secret.png", "dashboard-detail.png", "dashboard-list.png")
    for name in (*names, "dashboard-health.png", "dashboard-event-types.png"):
        assert (ARTIFACTS / name).stat().st_size > 0
