"""Attempt limits: one deadline per attempt, a capped read, and fair sharing of slots."""

import resource
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import auth, create_webhook, publish, wait_until
from tests.delivery.servers import Dripping, Huge, RawServer, Silent
from webhookd.testing import Receiver


@pytest.mark.parametrize("server_class", [Silent, Dripping], ids=["never-answers", "drips"])
def test_attempt_ends_at_the_deadline_and_others_keep_their_pace(
    app_factory: Any, server_class: type[RawServer]
) -> None:
    client = app_factory(
        delivery_timeout=1.5, webhook_concurrency=2, worker_concurrency=8, poll_interval=0.05
    )
    with server_class() as slow, Receiver() as fast:
        slow_hook = create_webhook(client, url=slow.url)
        create_webhook(client, url=fast.url)
        started = time.monotonic()
        for n in range(10):
            publish(client, "tenant-a", "verification.completed", {"n": n})
        fast.wait_for(10, timeout=5)
        fast_done = time.monotonic() - started
        path = f"/dashboard/webhooks/{slow_hook['id']}/deliveries"

        def settled() -> list[dict[str, Any]]:
            data: list[dict[str, Any]] = client.get(path, headers=auth()).json()["data"]
            done = [d for d in data if d["attempts"] > 0]
            return done if len(done) >= 2 else []

        first_two = wait_until(settled, timeout=10)
        detail = client.get(f"{path}/{first_two[-1]['id']}", headers=auth()).json()["data"]
    # The fast endpoint was not held up by the slow one taking its two slots.
    assert fast_done < 3.0
    # The per-webhook cap is 2; without it all 10 would hang at once. An endpoint that
    # never answers keeps a window of 1 (it never succeeds); one that drips a 200 counts
    # as delivered, so its window grows to the cap. The server counts a connection until
    # it sees the client's close, so a slot handed to the next delivery the moment an
    # attempt times out can briefly count as one more.
    if server_class is Silent:
        assert 1 <= slow.most_active <= 2
    else:
        assert 2 <= slow.most_active <= 3
    [attempt] = detail["attemptLog"]
    assert attempt["error"].endswith("timed out after 1.5 s")
    if server_class is Dripping:  # what arrived before the deadline is kept
        assert attempt["responseExcerpt"].startswith("xxx")
    assert 1500 - 1000 <= attempt["durationMs"] <= 1500 + 1000


def test_a_100_mb_answer_is_read_only_up_to_the_cap(client: TestClient) -> None:
    with Huge() as huge:
        hook = create_webhook(client, url=huge.url)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        answer = client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth()).json()
        elapsed = time.monotonic() - started
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert answer["data"] == {
        "success": True,
        "httpStatus": 200,
        "message": "Test event sent successfully.",
    }
    assert huge.bytes_sent < 20 * 1024 * 1024  # the rest was never read
    assert grown_kib < 30 * 1024  # peak memory did not take the body in
    assert elapsed < 5
    [logged] = client.get(f"/dashboard/webhooks/{hook['id']}/deliveries", headers=auth()).json()[
        "data"
    ]
    path = f"/dashboard/webhooks/{hook['id']}/deliveries/{logged['id']}"
    excerpt = client.get(path, headers=auth()).json()["data"]["attemptLog"][0]["responseExcerpt"]
    assert excerpt == "y" * 4096
