"""Inputs found by trying to break the API: each must be a clear 4xx in the envelope."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import INGEST_KEY, auth, create_webhook, make_token

LONE = "\ud800"


def escaped(body: Any) -> dict[str, Any]:
    """Request arguments sending `body` as ASCII JSON (lone surrogates as \\u escapes)."""
    return {"content": json.dumps(body).encode(), "headers": {"Content-Type": "application/json"}}


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://e.com", "description": LONE},
        {"url": "https://e.com", "events": [LONE]},
        {"url": f"https://e.com/{LONE}"},
    ],
)
def test_unpaired_surrogates_are_400_not_500(client: TestClient, body: dict[str, Any]) -> None:
    request = escaped(body)
    request["headers"].update(auth())
    answer = client.post("/dashboard/webhooks", **request)
    assert answer.status_code == 400
    assert "Unicode" in answer.json()["message"]


def test_unpaired_surrogates_in_events_and_patch(client: TestClient) -> None:
    hook = create_webhook(client)
    patch = escaped({"description": LONE})
    patch["headers"].update(auth())
    assert client.patch(f"/dashboard/webhooks/{hook['id']}", **patch).status_code == 400
    event = escaped({"tenantId": "t", "event": LONE, "data": {}})
    event["headers"]["X-Api-Key"] = INGEST_KEY
    assert client.post("/events", **event).status_code == 400
    # In data, the same character is carried as JavaScript would carry it.
    data = escaped({"tenantId": "t", "event": "verification.failed", "data": {"s": LONE}})
    data["headers"]["X-Api-Key"] = INGEST_KEY
    assert client.post("/events", **data).status_code == 202


def test_a_token_naming_an_unwritable_tenant_is_401(client: TestClient) -> None:
    answer = client.get(
        "/dashboard/webhooks", headers={"Authorization": f"Bearer {make_token(LONE)}"}
    )
    assert answer.status_code == 401


def test_authentication_comes_before_the_body(client: TestClient) -> None:
    for content in (b"{bad", b"x" * 70_000):
        answer = client.post(
            "/dashboard/webhooks", content=content, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"


def test_trailing_slashes_are_404_in_the_envelope_not_redirects(client: TestClient) -> None:
    for method, path in (("GET", "/dashboard/webhooks/"), ("POST", "/events/")):
        answer = client.request(method, path, headers={**auth(), "X-Api-Key": INGEST_KEY})
        assert answer.status_code == 404
        assert answer.json()["error"] == "Not Found"


def test_ids_webhookd_never_made_are_not_echoed(client: TestClient) -> None:
    long_id = "wh_" + "z" * 5000
    answer = client.get(f"/dashboard/webhooks/{long_id}", headers=auth())
    assert answer.status_code == 404
    assert answer.json()["message"] == "Webhook not found."
    hook = create_webhook(client)
    path = f"/dashboard/webhooks/{hook['id']}/deliveries/dlv_{'x' * 300}"
    assert client.get(path, headers=auth()).json()["message"] == "Delivery not found."


def test_unparseable_json_says_what_to_fix(client: TestClient) -> None:
    deep = b'{"url": "https://e.com", "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    headers = {**auth(), "Content-Type": "application/json"}
    for content in (deep, b'{"url": "\xff"}'):
        answer = client.post("/dashboard/webhooks", content=content, headers=headers)
        assert answer.status_code == 400
        assert "could not be parsed as JSON" in answer.json()["message"]


def test_probes_answer_head(client: TestClient) -> None:
    assert client.head("/healthz").status_code == 200
    assert client.head("/readyz").status_code == 200


def test_ingest_401_does_not_ask_for_a_bearer_token(client: TestClient) -> None:
    answer = client.post("/events", json={"tenantId": "t", "event": "verification.failed"})
    assert answer.status_code == 401
    assert "www-authenticate" not in answer.headers


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook", "http://2130706433/", "http://[::1]/", "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/", "http://127.0.0.1./", "http://[::ffff:0:7f00:1]/",
    ],
)  # fmt: skip
def test_refused_addresses_are_400_at_creation_and_patch(app_factory: Any, url: str) -> None:
    client = app_factory(allow_private_networks=False)
    created = client.post("/dashboard/webhooks", json={"url": url}, headers=auth())
    assert created.status_code == 400
    assert "refused" in created.json()["message"]
    hook = create_webhook(client)
    patched = client.patch(f"/dashboard/webhooks/{hook['id']}", json={"url": url}, headers=auth())
    assert patched.status_code == 400


def test_https_can_be_required_at_creation(app_factory: Any) -> None:
    client = app_factory(require_https=True)
    answer = client.post("/dashboard/webhooks", json={"url": "http://e.com/"}, headers=auth())
    assert answer.status_code == 400
    assert "https" in answer.json()["message"]
    assert create_webhook(client, url="https://e.com/")["url"] == "https://e.com/"


def test_unknown_query_parameters_are_400(client: TestClient) -> None:
    hook = create_webhook(client)
    for path in ("/dashboard/webhooks", f"/dashboard/webhooks/{hook['id']}/deliveries"):
        answer = client.get(path, params={"limt": 5}, headers=auth())
        assert answer.status_code == 400
        assert "Unknown query parameter 'limt'" in answer.json()["message"]
    ok = client.get(
        f"/dashboard/webhooks/{hook['id']}/deliveries", params={"limit": 5}, headers=auth()
    )
    assert ok.status_code == 200


def test_nul_characters_are_refused_everywhere_text_is_stored(client: TestClient) -> None:
    """PostgreSQL text cannot hold U+0000: refuse it up front, the same on both engines."""
    hook = create_webhook(client)
    answers = [
        client.post(
            "/dashboard/webhooks", json={"url": "https://e.com/", "description": "a\x00b"},
            headers=auth(),
        ),
        client.patch(
            f"/dashboard/webhooks/{hook['id']}", json={"description": "\x00"}, headers=auth()
        ),
        client.post("/events", json={"tenantId": "de\x00mo", "event": "verification.completed"},
                    headers={"X-Api-Key": INGEST_KEY}),
        client.post("/events", json={"tenantId": "t", "event": "verification.completed",
                                     "idempotencyKey": "a\x00"}, headers={"X-Api-Key": INGEST_KEY}),
    ]  # fmt: skip
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert "NUL" in answer.json()["message"]
    refused = client.get("/dashboard/webhooks", headers=auth("a\x00b"))
    assert refused.status_code == 401


def test_webhooks_per_tenant_are_limited(app_factory: Any) -> None:
    client = app_factory(max_webhooks_per_tenant=2)
    create_webhook(client)
    create_webhook(client)
    third = client.post("/dashboard/webhooks", json={"url": "https://e.com/"}, headers=auth())
    assert third.status_code == 409
    assert "WEBHOOKD_MAX_WEBHOOKS_PER_TENANT" in third.json()["message"]
    assert create_webhook(client, "tenant-b")["id"].startswith("wh_")
