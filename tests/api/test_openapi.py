"""The served OpenAPI document: every route has examples, and each example looks exactly
like a real answer of that route (same keys, same types)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import INGEST_KEY, Receiver, auth, create_webhook, wait_until
from webhookd.api import examples

# Objects whose keys are data, not schema: an audit entry's details, an event's data.
FREE_FORM = {
    "$.data[0].details",
    "$.data.payload.data",
    "$.data.attemptLog[0].requestHeaders",
    "$.data.headers",  # a webhook's custom headers
    "$.data[0].headers",
}


def mismatch(example: Any, real: Any, where: str = "$") -> str | None:
    """Where `example` and `real` differ in shape, or None. null matches any type."""
    if example is None or real is None or where in FREE_FORM:
        return None
    if isinstance(example, dict) and isinstance(real, dict):
        if set(example) != set(real):
            return f"{where}: keys {sorted(example)} != {sorted(real)}"
        for key in example:
            found = mismatch(example[key], real[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(example, list) and isinstance(real, list):
        if example and real:
            return mismatch(example[0], real[0], f"{where}[0]")
        return None
    if type(example) is not type(real):
        return f"{where}: {type(example).__name__} != {type(real).__name__}"
    return None


def real_answers(client: TestClient, receiver: Receiver) -> dict[tuple[str, str], Any]:
    """One real answer per documented route, keyed like examples.ANSWERS."""
    h = auth()
    got: dict[tuple[str, str], Any] = {}
    hooks, one = "/dashboard/webhooks", "/dashboard/webhooks/{webhook_id}"

    def keep(key: tuple[str, str], response: Any) -> Any:
        status, _ = examples.ANSWERS[key]
        assert response.status_code == status, (key, response.text)
        got[key] = response.json()
        return got[key]

    body = {**examples.REQUESTS[("post", hooks)], "url": receiver.url}
    wid = keep(("post", hooks), client.post(hooks, json=body, headers=h))["data"]["id"]
    base = f"{hooks}/{wid}"
    keep(("get", hooks), client.get(hooks, headers=h))
    keep(("get", one), client.get(base, headers=h))
    keep(("patch", one), client.patch(base, json=examples.REQUESTS[("patch", one)], headers=h))
    keep(("post", one + "/test"), client.post(f"{base}/test", headers=h))
    rotate = examples.REQUESTS[("post", one + "/rotate-secret")]
    keep(
        ("post", one + "/rotate-secret"),
        client.post(f"{base}/rotate-secret", json=rotate, headers=h),
    )
    event = {**examples.REQUESTS[("post", "/events")], "tenantId": "tenant-a"}
    keep(("post", "/events"), client.post("/events", json=event, headers={"X-Api-Key": INGEST_KEY}))
    batch = {
        "events": [
            {**item, "tenantId": "tenant-a"}
            for item in examples.REQUESTS[("post", "/events/batch")]["events"]
        ]
    }
    keep(
        ("post", "/events/batch"),
        client.post("/events/batch", json=batch, headers={"X-Api-Key": INGEST_KEY}),
    )
    receiver.wait_for(3)  # the test, the event, the batch's second (its first replays job-42)
    log = f"{base}/deliveries"
    listed = wait_until(
        lambda: (r := client.get(log, headers=h)).json()["data"][0]["attempts"] and r
    )
    keep(("get", one + "/deliveries"), listed)
    did = listed.json()["data"][0]["id"]
    keep(("get", one + "/deliveries/{delivery_id}"), client.get(f"{log}/{did}", headers=h))
    keep(
        ("post", one + "/deliveries/{delivery_id}/retry"),
        client.post(f"{log}/{did}/retry", headers=h),
    )
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    keep(
        ("post", one + "/recover"), client.post(f"{base}/recover", json={"since": since}, headers=h)
    )
    keep(("get", one + "/stats"), client.get(f"{base}/stats?window=7d", headers=h))
    keep(("get", "/dashboard/event-types"), client.get("/dashboard/event-types", headers=h))
    keep(("get", "/dashboard/audit-log"), client.get("/dashboard/audit-log", headers=h))
    keep(("get", "/healthz"), client.get("/healthz"))
    keep(("get", "/readyz"), client.get("/readyz"))
    keep(("post", one + "/toggle"), client.post(f"{base}/toggle", headers=h))
    keep(("delete", one), client.delete(base, headers=h))
    return got


def test_every_example_has_the_shape_of_a_real_answer(client: TestClient) -> None:
    with Receiver() as receiver:
        real = real_answers(client, receiver)
    assert set(real) == set(examples.ANSWERS)
    for key, (_, example) in examples.ANSWERS.items():
        assert mismatch(example, real[key]) is None, (key, mismatch(example, real[key]))


def test_the_seed_examples_are_the_seeds_own(client: TestClient) -> None:
    created = examples.ANSWERS[("post", "/dashboard/webhooks")][1]["data"]
    assert (created["id"], created["createdAt"]) == ("wh_abc123", "2025-06-01T12:00:00.000Z")
    assert examples.REQUESTS[("post", "/dashboard/webhooks")] == {
        "url": "https://your-app.com/webhooks/pacspace",
        "events": ["verification.completed", "verification.failed"],
        "description": "Production webhook",
    }


def test_every_operation_is_documented_with_examples(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "head" or path == "/metrics":
                continue
            answers = operation["responses"]
            success = [c for c in answers if c.startswith("2")]
            assert success, (method, path)
            assert "example" in answers[success[0]]["content"]["application/json"], (method, path)
            for code, message in examples.errors_for(method, path).items():
                example = answers[str(code)]["content"]["application/json"]["example"]
                assert example == {
                    "statusCode": code, "message": message,
                    "error": answers[str(code)]["description"],
                }  # fmt: skip
            assert "404" not in answers or "{" in path  # no 404 where there is no id
            if "requestBody" in operation:
                assert "example" in operation["requestBody"]["content"]["application/json"]


def test_the_docs_page_is_served(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text


def test_error_examples_are_what_the_routes_really_say(app_factory: Any) -> None:
    client = app_factory(
        max_webhooks_per_tenant=100, dashboard_rate_limit="1000/1000", events_rate_limit="0.001/6"
    )
    h, key = auth(), {"X-Api-Key": INGEST_KEY}
    hooks, one = "/dashboard/webhooks", "/dashboard/webhooks/{webhook_id}"
    hook = create_webhook(client)
    base = f"{hooks}/{hook['id']}"
    client.post(f"{base}/toggle", headers=h)  # disabled: recover is 409
    event = {"tenantId": "t", "event": "verification.completed", "idempotencyKey": "k"}
    assert client.post("/events", json=event, headers=key).status_code == 202
    plain = {"tenantId": "t", "event": "verification.completed"}
    batch = "/events/batch"
    bad_url = {"url": "ftp://x"}
    said = {
        (400, "get", hooks): client.get(f"{hooks}?limt=1", headers=h),
        (400, "post", hooks): client.post(hooks, json=bad_url, headers=h),
        (400, "patch", one): client.patch(base, json=bad_url, headers=h),
        (400, "post", one + "/rotate-secret"): client.post(
            f"{base}/rotate-secret", json={"graceSeconds": 604801}, headers=h
        ),
        (400, "post", one + "/recover"): client.post(
            f"{base}/recover", json={"since": "x"}, headers=h
        ),
        (400, "post", "/events"): client.post(
            "/events", json={"tenantId": "t", "event": "verification.done"}, headers=key
        ),
        (400, "post", batch): client.post(
            batch, json={"events": [plain, {**plain, "event": "verification.done"}]}, headers=key
        ),
        (401, "get", hooks): client.get(hooks),
        (401, "post", "/events"): client.post("/events", json=event),
        (401, "post", batch): client.post(batch, json={"events": [event]}),
        (404, "get", one): client.get(f"{hooks}/wh_abc123", headers=h),
        (404, "get", one + "/deliveries/{delivery_id}"): client.get(
            f"{base}/deliveries/dlv_x", headers=h
        ),
        (409, "post", one + "/recover"): client.post(
            f"{base}/recover",
            json={"since": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()},
            headers=h,
        ),
        (409, "post", "/events"): client.post(
            "/events", json={**event, "data": {"other": 1}}, headers=key
        ),
        (409, "post", batch): client.post(
            batch, json={"events": [plain, {**event, "data": {"other": 1}}]}, headers=key
        ),
        (413, "post", batch): client.post(batch, content=b" " * (5 * 1024 * 1024 + 1), headers=key),
        (429, "post", "/events"): client.post("/events", json=event, headers=key),
    }
    for (status, method, path), answer in said.items():
        documented = examples.errors_for(method, path)[status]
        assert answer.status_code == status, (path, answer.text)
        real = answer.json()["message"]
        if status == 404 or status == 409:
            real = real.replace(hook["id"], "wh_abc123")
        if status == 429:
            real, documented = real.split("retry in")[0], documented.split("retry in")[0]
        assert real == documented, (method, path, status)


def test_the_document_describes_filters_and_event_schemas(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for model in ("CreateWebhook", "UpdateWebhook"):
        described = schemas[model]["properties"]["filter"]
        assert "$gte" in described["description"], model
        assert described["examples"] == [
            {"amount": {"$gte": 100}, "currency": {"$in": ["EUR", "USD"]}}
        ]
    assert "null removes it" in schemas["UpdateWebhook"]["properties"]["filter"]["description"]
    types = document["paths"]["/dashboard/event-types"]["get"]
    assert "JSON Schema" in types["description"]
    example = types["responses"]["200"]["content"]["application/json"]["example"]["data"][0]
    assert list(example) == ["name", "description", "schema", "example"]
    for path in ("/events", "/events/batch"):
        assert "JSON Pointer" in document["paths"][path]["post"]["description"] or (
            "/events/3/data/amount" in document["paths"][path]["post"]["description"]
        )


def test_the_document_describes_headers_and_auth(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for body in ("CreateWebhook", "UpdateWebhook"):
        fields = schemas[body]["properties"]
        headers = fields["headers"]["anyOf"][0]
        assert headers["maxProperties"] == 20
        assert "X-PacSpace-*" in headers["description"]
        union = fields["auth"]["anyOf"][0]
        assert union["discriminator"]["propertyName"] == "type"
        assert sorted(union["discriminator"]["mapping"]) == ["basic", "bearer", "header", "oauth2"]
    oauth2 = schemas["OAuth2Auth"]
    assert set(oauth2["required"]) == {"type", "tokenUrl", "clientId", "clientSecret"}
    assert "scope" in oauth2["properties"]
    assert set(schemas["BasicAuth"]["required"]) == {"type", "username", "password"}
    assert set(schemas["HeaderAuth"]["required"]) == {"type", "name", "value"}
    assert set(schemas["BearerAuth"]["required"]) == {"type", "token"}
    # Answers show auth without its secret.
    _, listed = examples.ANSWERS[("get", "/dashboard/webhooks")]
    assert listed["data"][1]["auth"] == {
        "type": "oauth2",
        "clientId": "webhookd-eu",
        "tokenUrl": "https://auth.your-app.com/oauth/token",
    }
