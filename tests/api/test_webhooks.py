"""The seed's routes: shapes, status codes, messages, validation and tenant isolation."""

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import auth, create_webhook

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SEED_CREATE: dict[str, Any] = {
    "url": "https://your-app.com/webhooks/pacspace",
    "events": ["verification.completed", "verification.failed"],
    "description": "Production webhook",
}
HEALTHY = {"status": "healthy", "failingSince": None, "consecutiveFailures": 0, "nextProbeAt": None}


def as_got(created: dict[str, Any]) -> dict[str, Any]:
    """What GET shows of a webhook just created: no secret; the fields create leaves out."""
    shown = {k: v for k, v in created.items() if k != "secret"}
    return {**shown, "lastTriggeredAt": None, "disabledReason": None, "health": HEALTHY}


def test_create_answers_the_seed_shape_with_secret(client: TestClient) -> None:
    response = client.post("/dashboard/webhooks", json=SEED_CREATE, headers=auth())
    assert response.status_code == 201
    body = response.json()
    assert body["statusCode"] == 201
    data = body["data"]
    # The seed's fields in the seed's order, then webhookd's own.
    seed = ["id", "url", "events", "description", "secret", "active", "createdAt"]
    assert list(data) == [*seed, "rateLimit", "ordering", "filter", "headers", "auth"]
    assert re.fullmatch(r"wh_[0-9a-z]{26}", data["id"])
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", data["secret"])
    assert {k: data[k] for k in SEED_CREATE} == SEED_CREATE
    assert data["active"] is True
    assert ISO_MS.match(data["createdAt"])
    assert data["rateLimit"] is None


def test_secret_is_never_shown_again(client: TestClient) -> None:
    created = create_webhook(client, **SEED_CREATE)
    listed = client.get("/dashboard/webhooks", headers=auth()).json()["data"]
    got = client.get(f"/dashboard/webhooks/{created['id']}", headers=auth()).json()["data"]
    assert "secret" not in listed[0]
    assert "secret" not in got
    assert created["secret"] not in client.get("/dashboard/webhooks", headers=auth()).text


def test_list_and_get_answer_the_seed_shape(client: TestClient) -> None:
    first = create_webhook(client, **SEED_CREATE)
    second = create_webhook(client, url="https://example.org/b")
    listed = client.get("/dashboard/webhooks", headers=auth())
    assert listed.status_code == 200
    assert listed.json()["statusCode"] == 200
    assert [w["id"] for w in listed.json()["data"]] == [first["id"], second["id"]]
    got = client.get(f"/dashboard/webhooks/{first['id']}", headers=auth()).json()
    assert got["statusCode"] == 200
    assert got["data"] == as_got(first)
    assert list(got["data"])[-8:] == [
        "lastTriggeredAt",
        "disabledReason",
        "rateLimit",
        "ordering",
        "filter",
        "headers",
        "auth",
        "health",
    ]
    assert listed.json()["data"][0] == got["data"]


def test_events_omitted_means_all(client: TestClient) -> None:
    assert create_webhook(client)["events"] == ["*"]
    assert create_webhook(client, events=["*"])["events"] == ["*"]


def test_duplicate_events_are_stored_once(client: TestClient) -> None:
    events = ["verification.failed", "verification.failed", "verification.completed"]
    assert create_webhook(client, events=events)["events"] == events[1:]


def test_toggle_disables_then_enables(client: TestClient) -> None:
    hook = create_webhook(client)
    first = client.post(f"/dashboard/webhooks/{hook['id']}/toggle", headers=auth())
    assert first.json() == {
        "statusCode": 200,
        "data": {"id": hook["id"], "active": False, "message": "Webhook has been disabled."},
    }
    second = client.post(f"/dashboard/webhooks/{hook['id']}/toggle", headers=auth()).json()
    assert second["data"]["active"] is True
    assert second["data"]["message"] == "Webhook has been enabled."
    got = client.get(f"/dashboard/webhooks/{hook['id']}", headers=auth()).json()["data"]
    assert got["active"] is True


def test_delete_answers_the_seed_message_and_removes(client: TestClient) -> None:
    hook = create_webhook(client)
    response = client.delete(f"/dashboard/webhooks/{hook['id']}", headers=auth())
    assert response.status_code == 200
    assert response.json() == {"statusCode": 200, "message": "Webhook deleted successfully."}
    again = client.get(f"/dashboard/webhooks/{hook['id']}", headers=auth())
    assert again.status_code == 404
    assert client.delete(f"/dashboard/webhooks/{hook['id']}", headers=auth()).status_code == 404


def test_patch_changes_only_given_fields(client: TestClient) -> None:
    hook = create_webhook(client, **SEED_CREATE)
    response = client.patch(
        f"/dashboard/webhooks/{hook['id']}",
        json={"url": "https://new.example.com/x", "events": ["record.error"]},
        headers=auth(),
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["url"] == "https://new.example.com/x"
    assert data["events"] == ["record.error"]
    assert data["description"] == "Production webhook"
    cleared = client.patch(
        f"/dashboard/webhooks/{hook['id']}", json={"description": None}, headers=auth()
    )
    assert cleared.json()["data"]["description"] == ""


@pytest.mark.parametrize(
    "body",
    [{"url": None}, {"events": None}, {"events": []}, {"url": "ftp://x"}, {"foo": 1}],
)
def test_patch_rejects_bad_values(client: TestClient, body: dict[str, Any]) -> None:
    hook = create_webhook(client)
    response = client.patch(f"/dashboard/webhooks/{hook['id']}", json=body, headers=auth())
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"
    got = client.get(f"/dashboard/webhooks/{hook['id']}", headers=auth()).json()["data"]
    assert got == as_got(hook)


def test_event_types_lists_the_catalog(client: TestClient) -> None:
    response = client.get("/dashboard/event-types", headers=auth())
    names = [entry["name"] for entry in response.json()["data"]]
    assert {"verification.completed", "verification.failed"} <= set(names)


def test_event_types_setting_replaces_the_catalog(app_factory: Any) -> None:
    client = app_factory(event_types="order.paid, order.refunded")
    names = [e["name"] for e in client.get("/dashboard/event-types", headers=auth()).json()["data"]]
    assert names == ["order.paid", "order.refunded"]
    bad = client.post(
        "/dashboard/webhooks",
        json={"url": "https://e.com", "events": ["verification.completed"]},
        headers=auth(),
    )
    assert bad.status_code == 400


LONG_URL = "https://example.com/" + "a" * 2030


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "url"),
        ({"url": 5}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "/relative/path"}, "http"),
        ({"url": "ftp://example.com/x"}, "http"),
        ({"url": "https://"}, "host"),
        ({"url": "https://example.com:99999/"}, "url"),
        ({"url": LONG_URL}, "2048"),
        ({"url": "https://e.com", "events": "verification.completed"}, "events"),
        ({"url": "https://e.com", "events": []}, "empty"),
        ({"url": "https://e.com", "events": ["nope.happened"]}, "nope.happened"),
        ({"url": "https://e.com", "events": ["*", "verification.failed"]}, "*"),
        ({"url": "https://e.com", "events": [1]}, "events"),
        ({"url": "https://e.com", "description": "x" * 501}, "500"),
        ({"url": "https://e.com", "description": 7}, "description"),
        ({"url": "https://e.com", "active": False}, "Unknown field 'active'"),
    ],
)
def test_create_rejects_bad_input_with_a_clear_400(
    client: TestClient, body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/dashboard/webhooks", json=body, headers=auth())
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["statusCode"] == 400
    assert payload["error"] == "Bad Request"
    assert fragment in payload["message"]
    assert client.get("/dashboard/webhooks", headers=auth()).json()["data"] == []


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"url": "https://e.com",', "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"null", "JSON object"),
        (b"", "required"),
    ],
)
def test_malformed_bodies_are_400(client: TestClient, content: bytes, fragment: str) -> None:
    headers = {**auth(), "Content-Type": "application/json"}
    response = client.post("/dashboard/webhooks", content=content, headers=headers)
    assert response.status_code == 400
    assert fragment in response.json()["message"]


def test_form_encoded_body_says_to_send_json(client: TestClient) -> None:
    response = client.post(
        "/dashboard/webhooks",
        content=b'{"url": "https://e.com"}',
        headers={**auth(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "Content-Type: application/json" in response.json()["message"]


def test_body_over_64_kib_is_400_without_storing(client: TestClient) -> None:
    body = {"url": "https://e.com", "description": "x", "pad": "y" * 70_000}
    response = client.post("/dashboard/webhooks", json=body, headers=auth())
    assert response.status_code == 400
    assert "65536" in response.json()["message"]
    assert client.get("/dashboard/webhooks", headers=auth()).json()["data"] == []


ROUTES = [
    ("GET", "/dashboard/webhooks/{id}"),
    ("PATCH", "/dashboard/webhooks/{id}"),
    ("POST", "/dashboard/webhooks/{id}/toggle"),
    ("POST", "/dashboard/webhooks/{id}/test"),
    ("DELETE", "/dashboard/webhooks/{id}"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_another_tenants_webhook_is_404_and_untouched(
    client: TestClient, method: str, path: str
) -> None:
    theirs = create_webhook(client, tenant="tenant-b")
    url = path.format(id=theirs["id"])
    json_body = {"description": "hijacked"} if method == "PATCH" else None
    response = client.request(method, url, headers=auth("tenant-a"), json=json_body)
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "message": f"Webhook {theirs['id']} not found.",
        "error": "Not Found",
    }
    still = client.get(f"/dashboard/webhooks/{theirs['id']}", headers=auth("tenant-b")).json()
    assert still["data"]["description"] == ""
    assert still["data"]["active"] is True


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_unknown_id_is_404(client: TestClient, method: str, path: str) -> None:
    json_body = {"description": "x"} if method == "PATCH" else None
    url = path.format(id="wh_doesnotexist")
    response = client.request(method, url, headers=auth(), json=json_body)
    assert response.status_code == 404
    assert response.json()["error"] == "Not Found"


def test_list_shows_only_own_webhooks(client: TestClient) -> None:
    mine = create_webhook(client, tenant="tenant-a")
    create_webhook(client, tenant="tenant-b")
    listed = client.get("/dashboard/webhooks", headers=auth("tenant-a")).json()["data"]
    assert [w["id"] for w in listed] == [mine["id"]]


def test_unknown_route_and_method_use_the_envelope(client: TestClient) -> None:
    missing = client.get("/dashboard/nothing-here", headers=auth())
    assert missing.status_code == 404
    assert missing.json()["error"] == "Not Found"
    wrong = client.put("/dashboard/webhooks", headers=auth())
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "Method Not Allowed"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"statusCode": 200, "data": {"status": "ok"}}
    assert client.get("/readyz").json()["data"] == {"status": "ready"}


BAD_RATE_LIMITS = ["50", 5.5, 5.0, True, False, 0, -1, 10001, 10**30, [5], {"perSecond": 5}]


@pytest.mark.parametrize("value", BAD_RATE_LIMITS)
def test_create_rejects_a_bad_rate_limit_naming_the_field(client: TestClient, value: Any) -> None:
    body = {"url": "https://e.com", "rateLimit": value}
    response = client.post("/dashboard/webhooks", json=body, headers=auth())
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Bad Request"
    assert "rateLimit" in response.json()["message"]
    assert client.get("/dashboard/webhooks", headers=auth()).json()["data"] == []


@pytest.mark.parametrize("value", BAD_RATE_LIMITS)
def test_patch_rejects_a_bad_rate_limit_and_keeps_the_old_one(
    client: TestClient, value: Any
) -> None:
    hook = create_webhook(client, rateLimit=20)
    base = f"/dashboard/webhooks/{hook['id']}"
    response = client.patch(base, json={"rateLimit": value, "description": "x"}, headers=auth())
    assert response.status_code == 400, response.text
    assert "rateLimit" in response.json()["message"]
    assert client.get(base, headers=auth()).json()["data"] == as_got(hook)


def test_a_rate_limit_written_as_1e3_is_a_float_and_refused(client: TestClient) -> None:
    response = client.post(
        "/dashboard/webhooks",
        content=b'{"url": "https://e.com", "rateLimit": 1e3}',
        headers={**auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "rateLimit" in response.json()["message"]


@pytest.mark.parametrize("value", [1, 10000, None])
def test_create_takes_a_rate_limit_from_1_to_10000_or_null(client: TestClient, value: Any) -> None:
    created = create_webhook(client, rateLimit=value)
    assert created["rateLimit"] == value
    got = client.get(f"/dashboard/webhooks/{created['id']}", headers=auth()).json()["data"]
    assert got["rateLimit"] == value


def test_a_new_webhook_is_healthy(client: TestClient) -> None:
    created = create_webhook(client)
    assert "health" not in created  # the create answer is the seed's, plus rateLimit
    got = client.get(f"/dashboard/webhooks/{created['id']}", headers=auth()).json()["data"]
    assert got["health"] == HEALTHY
    [listed] = client.get("/dashboard/webhooks", headers=auth()).json()["data"]
    assert listed["health"] == HEALTHY
    patched = client.patch(
        f"/dashboard/webhooks/{created['id']}", json={"rateLimit": 3}, headers=auth()
    ).json()["data"]
    assert patched["health"] == HEALTHY
