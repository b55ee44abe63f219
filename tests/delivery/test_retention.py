"""The worker purges finished events older than WEBHOOKD_RETENTION_DAYS."""

from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import Receiver, auth, create_webhook, make_settings, wait_until
from webhookd.api.app import create_app
from webhookd.domain.clock import system_clock

DAY_MS = 86_400_000


def test_old_finished_deliveries_are_purged(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, retention_days=30)
    with Receiver() as receiver, TestClient(create_app(settings, run_worker=False)) as client:
        hook = create_webhook(client, url=receiver.url)
        client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth())
        path = f"/dashboard/webhooks/{hook['id']}/deliveries"
        assert len(client.get(path, headers=auth()).json()["data"]) == 1

    def in_29_days() -> int:
        return system_clock() + 29 * DAY_MS

    def in_31_days() -> int:
        return system_clock() + 31 * DAY_MS

    with TestClient(create_app(settings, now=in_29_days)) as client:
        assert len(client.get(path, headers=auth()).json()["data"]) == 1
    with TestClient(create_app(settings, now=in_31_days)) as client:
        wait_until(lambda: client.get(path, headers=auth()).json()["data"] == [])
