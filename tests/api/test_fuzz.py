"""Arbitrary input never gives a 500: every answer is the envelope with a 2xx or 4xx."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import INGEST_KEY, auth

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
pytestmark = pytest.mark.slow  # 150 requests an example set: 1.5-3 s a test on a loaded machine
FIELDS = st.sampled_from(["url", "events", "description", "tenantId", "event", "data", "x"])
BODIES = st.dictionaries(FIELDS, JSON | st.just("https://e.com") | st.just(["*"])) | JSON
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _assert_envelope(response: Any) -> None:
    assert response.status_code < 500, response.text
    body = response.json()
    assert body["statusCode"] == response.status_code
    if response.status_code >= 400:
        assert isinstance(body["message"], str)
        assert body["message"]
        assert isinstance(body["error"], str)


@FUZZ
@given(body=BODIES, method=st.sampled_from(["POST", "PATCH"]))
def test_webhook_bodies(client: TestClient, body: Any, method: str) -> None:
    path = "/dashboard/webhooks" if method == "POST" else "/dashboard/webhooks/wh_missing"
    _assert_envelope(client.request(method, path, json=body, headers=auth()))


@FUZZ
@given(body=BODIES)
def test_event_bodies(client: TestClient, body: Any) -> None:
    _assert_envelope(client.post("/events", json=body, headers={"X-Api-Key": INGEST_KEY}))


@FUZZ
@given(webhook_id=st.text(min_size=1), action=st.sampled_from(["", "/toggle", "/test"]))
def test_path_ids(client: TestClient, webhook_id: str, action: str) -> None:
    from urllib.parse import quote

    path = f"/dashboard/webhooks/{quote(webhook_id, safe='')}{action}"
    method = "GET" if not action else "POST"
    _assert_envelope(client.request(method, path, headers=auth()))


@FUZZ
@given(raw=st.binary(max_size=200))
def test_raw_bytes(client: TestClient, raw: bytes) -> None:
    headers = {**auth(), "Content-Type": "application/json"}
    _assert_envelope(client.post("/dashboard/webhooks", content=raw, headers=headers))
