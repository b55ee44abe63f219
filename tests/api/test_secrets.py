"""Signing secrets: Standard Webhooks signatures, rotation with grace, sealed at rest."""

import sqlite3
from pathlib import Path
from typing import Any

import standardwebhooks
import standardwebhooks.webhooks
from fastapi.testclient import TestClient

from tests.conftest import Receiver, auth, create_webhook, publish
from webhookd.domain import signing


def _rotate(client: TestClient, hook_id: str, body: Any = None) -> Any:
    return client.post(f"/dashboard/webhooks/{hook_id}/rotate-secret", json=body, headers=auth())


def test_deliveries_verify_with_the_standard_webhooks_library(client: TestClient) -> None:
    with Receiver() as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed", {"n": 1.5})
        [request] = receiver.wait_for(1)
    headers = request.headers
    assert headers["webhook-id"] == headers["x-pacspace-delivery"]
    assert headers["webhook-timestamp"] == headers["x-pacspace-timestamp"]
    payload = standardwebhooks.Webhook(hook["secret"]).verify(request.body, headers)
    assert payload["data"] == {"n": 1.5}


def test_rotation_signs_with_both_secrets_during_the_grace_period(client: TestClient) -> None:
    with Receiver() as receiver:
        hook = create_webhook(client, url=receiver.url)
        answer = _rotate(client, hook["id"], {"graceSeconds": 3600})
        assert answer.status_code == 200
        rotated = answer.json()["data"]
        assert rotated["id"] == hook["id"]
        assert rotated["secret"].startswith("whsec_")
        assert rotated["secret"] != hook["secret"]
        assert rotated["previousSecretExpiresAt"] is not None
        publish(client, "tenant-a", "verification.completed")
        [request] = receiver.wait_for(1)
    body, headers = request.body, request.headers
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (hook["secret"], rotated["secret"]):
        standardwebhooks.Webhook(secret).verify(body, headers)
    # The seed's header carries the newest secret only.
    assert signing.verify(rotated["secret"], body, headers["x-pacspace-signature"])
    assert not signing.verify(hook["secret"], body, headers["x-pacspace-signature"])
    assert (
        rotated["secret"]
        not in client.get(f"/dashboard/webhooks/{hook['id']}", headers=auth()).text
    )


def test_rotation_with_no_grace_stops_the_old_secret_at_once(client: TestClient) -> None:
    with Receiver() as receiver:
        hook = create_webhook(client, url=receiver.url)
        rotated = _rotate(client, hook["id"], {"graceSeconds": 0}).json()["data"]
        assert rotated["previousSecretExpiresAt"] is None
        client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth())
        [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    standardwebhooks.Webhook(rotated["secret"]).verify(request.body, request.headers)
    old = standardwebhooks.Webhook(hook["secret"])
    try:
        old.verify(request.body, request.headers)
        raise AssertionError("the old secret must not verify after a rotation without grace")
    except standardwebhooks.webhooks.WebhookVerificationError:
        pass


def test_rotation_with_no_grace_also_revokes_secrets_still_in_an_earlier_grace(
    client: TestClient,
) -> None:
    """A compromised secret is rotated with grace 0: nothing older may sign any more."""
    with Receiver() as receiver:
        hook = create_webhook(client, url=receiver.url)
        second = _rotate(client, hook["id"], {"graceSeconds": 3600}).json()["data"]["secret"]
        third = _rotate(client, hook["id"], {"graceSeconds": 0}).json()["data"]["secret"]
        client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth())
        [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    standardwebhooks.Webhook(third).verify(request.body, request.headers)
    for revoked in (hook["secret"], second):
        try:
            standardwebhooks.Webhook(revoked).verify(request.body, request.headers)
            raise AssertionError("a rotation without grace must revoke every older secret")
        except standardwebhooks.webhooks.WebhookVerificationError:
            pass


def test_rotation_keeps_at_most_four_older_secrets(client: TestClient) -> None:
    with Receiver() as receiver:
        hook = create_webhook(client, url=receiver.url)
        for _ in range(6):
            _rotate(client, hook["id"], {"graceSeconds": 3600})
        client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth())
        [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 5  # newest + 4 in grace
    try:
        standardwebhooks.Webhook(hook["secret"]).verify(request.body, request.headers)
        raise AssertionError("the oldest secret falls out once five newer ones exist")
    except standardwebhooks.webhooks.WebhookVerificationError:
        pass


def test_rotation_defaults_and_bounds(client: TestClient) -> None:
    hook = create_webhook(client)
    default = _rotate(client, hook["id"]).json()["data"]
    assert default["previousSecretExpiresAt"] is not None
    for grace in (-1, 7 * 86400 + 1, "soon"):
        assert _rotate(client, hook["id"], {"graceSeconds": grace}).status_code == 400
    other = client.post(f"/dashboard/webhooks/{hook['id']}/rotate-secret", headers=auth("tenant-b"))
    assert other.status_code == 404


def test_secrets_are_sealed_at_rest(client: TestClient, tmp_path: Path) -> None:
    hook = create_webhook(client)
    rotated = _rotate(client, hook["id"]).json()["data"]
    with sqlite3.connect(tmp_path / "webhookd.db") as conn:
        stored = " ".join(
            str(row) for row in conn.execute("SELECT secret, old_secrets FROM webhooks")
        )
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("webhookd.db*") if p.is_file())
    for secret in (hook["secret"], rotated["secret"]):
        assert secret not in stored
        assert secret.encode() not in raw
        assert secret.removeprefix("whsec_").encode() not in raw
