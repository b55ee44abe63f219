"""Whatever `POST /events` accepts can be read back: the delivery detail never parses the
body webhookd stored with a stricter parser than the one that accepted it."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import INGEST_KEY, auth, create_webhook


def _publish_raw(client: TestClient, text: str) -> Any:
    headers = {"X-Api-Key": INGEST_KEY, "Content-Type": "application/json"}
    return client.post("/events", content=text.encode(), headers=headers)


def _detail(client: TestClient, webhook_id: str) -> Any:
    path = f"/dashboard/webhooks/{webhook_id}/deliveries"
    [newest, *_] = client.get(path, headers=auth()).json()["data"]
    return client.get(f"{path}/{newest['id']}", headers=auth())


def test_a_lone_surrogate_and_a_huge_integer_can_be_read_back(start: Any) -> None:
    client = start(run_worker=False, numbers="round")  # the huge integer is accepted
    hook = create_webhook(client)
    text = (
        '{"tenantId":"tenant-a","event":"verification.completed",'
        '"data":{"s":"\\ud800x","n":18446744073709551616}}'
    )
    assert _publish_raw(client, text).status_code == 202
    answer = _detail(client, hook["id"])
    assert answer.status_code == 200, answer.text
    assert '"s":"\\ud800x"' in answer.text  # the stored escape, as JSON.stringify wrote it
    payload = json.loads(answer.text)["data"]["payload"]["data"]
    assert payload["s"] == "\ud800x"
    assert payload["n"] == 18446744073709552000  # as delivered (rounded like JavaScript)


TEXT = st.text(st.characters(blacklist_categories=()))  # lone surrogates included
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture
def seeded(start: Any) -> tuple[TestClient, str]:
    client = start(run_worker=False)
    return client, create_webhook(client)["id"]


# One app for all examples (function-scoped fixtures are shared by them): each example
# publishes one more event and reads the newest delivery back.
@pytest.mark.slow  # 60 publishes and reads: 2.5-4 s on a loaded machine
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.dictionaries(st.text(max_size=8), JSON, max_size=4))
@example(data={"s": "\udc00", "n": 2**64})
def test_anything_accepted_reads_back_with_200(
    seeded: tuple[TestClient, str], data: dict[str, Any]
) -> None:
    client, webhook_id = seeded
    body = {"tenantId": "tenant-a", "event": "verification.completed", "data": data}
    accepted = _publish_raw(client, json.dumps(body))  # ASCII escapes, lone surrogates too
    if accepted.status_code != 202:
        assert accepted.status_code < 500, accepted.text
        return
    answer = _detail(client, webhook_id)
    assert answer.status_code == 200, answer.text
