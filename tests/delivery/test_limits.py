"""Attempt limits: one deadline per attempt, a capped read, and fair sharing of slots."""

import resource
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Receiver, auth, create_webhook, publish, wait_until
from tests.delivery.servers import Dripping, Huge, RawServer, Silent


@pytest.mark.parametrize("server_class", [Silent, Dripping], ids=["never-answers", "drips"])
def test_an_endpoint_that_holds_its_attempts_does_not_hold_up_the_others(
    app_factory: Any, server_class: type[RawServer]
) -> None:
    # The deadline (300 s, the most allowed) outlasts the test: the slow endpoint's
    # attempts are still under way when the fast one's deliveries must all have arrived.
    client = app_factory(
        delivery_timeout=300, webhook_concurrency=2, worker_concurrency=8, poll_interval=0.05
    )
    with server_class() as slow, Receiver() as fast:
        create_webhook(client, url=slow.url)
        create_webhook(client, url=fast.url)
        for n in range(10):
            publish(client, "tenant-a", "verification.completed", {"n": n})
        wait_until(lambda: slow.active >= 1)
        fast.wait_for(10)
        assert slow.active >= 1, "the slow endpoint's attempts had ended: this proved nothing"
        # The per-webhook cap is 2; without it the slow endpoint could take every slot.
        assert 1 <= slow.most_active <= 2


@pytest.mark.slow  # two 1.5 s deadlines, one after the other
@pytest.mark.parametrize("server_class", [Silent, Dripping], ids=["never-answers", "drips"])
def test_an_attempt_ends_at_the_deadline(app_factory: Any, server_class: type[RawServer]) -> None:
    client = app_factory(
        delivery_timeout=1.5, webhook_concurrency=2, worker_concurrency=8, poll_interval=0.05
    )
    with server_class() as slow:
        slow_hook = create_webhook(client, url=slow.url)
        for n in range(10):
            publish(client, "tenant-a", "verification.completed", {"n": n})
        path = f"/dashboard/webhooks/{slow_hook['id']}/deliveries"

        def settled() -> list[dict[str, Any]]:
            data: list[dict[str, Any]] = client.get(path, headers=auth()).json()["data"]
            done = [d for d in data if d["attempts"] > 0]
            return done if len(done) >= 2 else []

        first_two = wait_until(settled)
        if server_class is Dripping:
            # A drip ends in a 200 at the deadline, which counts as delivered: the
            # endpoint's window grows to the cap.
            wait_until(lambda: slow.most_active >= 2)
        detail = client.get(f"{path}/{first_two[-1]['id']}", headers=auth()).json()["data"]
    # The per-webhook cap is 2; without it all 10 would hang at once. An endpoint that
    # never answers keeps a window of 1 (it never succeeds). The server counts a
    # connection until it sees the client's close, so a slot handed to the next delivery
    # the moment an attempt times out can briefly count as one more.
    assert 1 <= slow.most_active <= 3 if server_class is Dripping else 1 <= slow.most_active <= 2
    [attempt] = detail["attemptLog"]
    # Neither server ever finishes its answer: the deadline ended the attempt.
    assert attempt["error"].endswith("timed out after 1.5 s")
    assert attempt["durationMs"] >= 1500 - 10  # and not before it (10 ms: rounding)
    if server_class is Dripping:  # what arrived before the deadline is kept
        assert attempt["responseExcerpt"].startswith("xxx")


def test_a_100_mb_answer_is_read_only_up_to_the_cap(client: TestClient) -> None:
    with Huge() as huge:
        hook = create_webhook(client, url=huge.url)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        answer = client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth()).json()
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert answer["data"] == {
        "success": True,
        "httpStatus": 200,
        "message": "Test event sent successfully.",
    }
    assert huge.bytes_sent < 20 * 1024 * 1024  # the rest was never read
    assert grown_kib < 30 * 1024  # peak memory did not take the body in
    # A success: it stopped reading at the cap and answered, rather than hang with the
    # rest unread until the attempt's deadline.
    [logged] = client.get(f"/dashboard/webhooks/{hook['id']}/deliveries", headers=auth()).json()[
        "data"
    ]
    path = f"/dashboard/webhooks/{hook['id']}/deliveries/{logged['id']}"
    excerpt = client.get(path, headers=auth()).json()["data"]["attemptLog"][0]["responseExcerpt"]
    assert excerpt == "y" * 4096
