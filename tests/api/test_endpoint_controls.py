"""Endpoint controls (issue 16) on both engines: custom `headers`, endpoint `auth` (basic,
bearer, a header, OAuth2 client credentials against a real token endpoint), and the
egress proxy, through the running app: real receivers and a real forwarding proxy on
127.0.0.1."""

import base64
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson
import pytest
from fastapi.testclient import TestClient

from tests import postgres
from tests.api.conftest import Start
from tests.conftest import Clock, Receiver, auth, create_webhook, publish, wait_until
from tests.proxy import ForwardProxy
from webhookd import testing
from webhookd.testing import free_port

HOOKS = "/dashboard/webhooks"
CLIENT = {"clientId": "c", "clientSecret": "s"}
PASSWORD = "pw-7hY2-never-shown"
TOKEN = "tok-Zq81-never-shown"
VALUE = "key-Lm33-never-shown"
CLIENT_SECRET = "cs-Vb92-never-shown"
SECRETS = (PASSWORD, TOKEN, VALUE, CLIENT_SECRET)


def patch(client: TestClient, hook_id: str, body: Any, tenant: str = "tenant-a") -> Any:
    return client.patch(f"{HOOKS}/{hook_id}", json=body, headers=auth(tenant))


def attempts_of(client: TestClient, hook_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The attempts of the webhook's newest delivery, once it has `count` of them."""
    log = f"{HOOKS}/{hook_id}/deliveries"

    def attempted() -> list[dict[str, Any]] | None:
        listed = client.get(log, headers=auth()).json()["data"]
        if not listed:
            return None
        detail = client.get(f"{log}/{listed[0]['id']}", headers=auth()).json()["data"]
        found: list[dict[str, Any]] = detail["attemptLog"]
        return found if len(found) >= count else None

    return wait_until(attempted)


def stored(request: pytest.FixtureRequest, tmp_path: Path) -> bytes:
    """Everything the database holds: the SQLite file's bytes (with its WAL), or on
    PostgreSQL every row of the tables a webhook, its attempts and its audit touch."""
    if request.node.callspec.params.get("start") != "postgres":
        return b"".join(p.read_bytes() for p in tmp_path.glob("webhookd.db*") if p.is_file())
    schema = request.getfixturevalue("pg_migrated")  # the schema the app runs on
    tables = ("webhooks", "events", "deliveries", "attempts", "audit_log")
    rows = " UNION ALL ".join(f"SELECT t::text AS row FROM {schema}.{t} t" for t in tables)
    found = postgres.value(f"SELECT coalesce(string_agg(row, ' '), '') FROM ({rows}) r")
    assert isinstance(found, str)
    assert "webhookd" in found or "wh_" in found  # the rows are really there
    return found.encode()


def delivered(client: TestClient, hook_id: str, count: int) -> None:
    """Wait until `count` deliveries are settled as delivered (before a test moves its clock
    past their leases, so none is sent again)."""
    log = f"{HOOKS}/{hook_id}/deliveries?status=delivered&limit=100"
    wait_until(lambda: len(client.get(log, headers=auth()).json()["data"]) >= count)


def test_custom_headers_reach_the_endpoint_and_the_log(start: Start) -> None:
    client = start()
    with Receiver() as receiver:
        custom = {"X-Customer-Id": "cus_42", "X-Env": "prod ünïcode", "Empty": ""}
        hook = create_webhook(client, url=receiver.url, headers=custom)
        assert hook["headers"] == custom
        publish(client, "tenant-a", "verification.completed")
        [delivered] = receiver.wait_for(1)
        assert client.post(f"{HOOKS}/{hook['id']}/test", headers=auth()).json()["data"]["success"]
        tested = receiver.wait_for(2)[1]
    for request in (delivered, tested):
        assert request.headers["x-customer-id"] == "cus_42"
        assert request.headers["x-env"].encode("latin-1").decode() == "prod ünïcode"
        assert request.headers["empty"] == ""
        assert request.headers["x-pacspace-signature"]  # webhookd's own still there
    [attempt] = attempts_of(client, hook["id"])
    assert attempt["requestHeaders"]["X-Customer-Id"] == "cus_42"
    got = client.get(f"{HOOKS}/{hook['id']}", headers=auth()).json()["data"]
    assert got["headers"] == custom


def test_patch_replaces_removes_or_keeps_headers(start: Start) -> None:
    client = start()
    hook = create_webhook(client, headers={"X-One": "1"})
    assert patch(client, hook["id"], {"description": "x"}).json()["data"]["headers"] == {
        "X-One": "1"
    }
    assert patch(client, hook["id"], {"headers": {"X-Two": "2"}}).json()["data"]["headers"] == {
        "X-Two": "2"
    }
    assert patch(client, hook["id"], {"headers": None}).json()["data"]["headers"] == {}
    assert patch(client, hook["id"], {"headers": {"X-3": "3"}}).json()["data"]["headers"]
    assert patch(client, hook["id"], {"headers": {}}).json()["data"]["headers"] == {}


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"Host": "evil"}, "Host"),
        ({"content-type": "text/plain"}, "content-type"),
        ({"Content-Length": "1"}, "Content-Length"),
        ({"Transfer-Encoding": "chunked"}, "Transfer-Encoding"),
        ({"Connection": "close"}, "Connection"),
        ({"User-Agent": "me"}, "User-Agent"),
        ({"Authorization": "Bearer x"}, "use `auth`"),
        ({"X-PacSpace-Signature": "forged"}, "X-PacSpace-Signature"),
        ({"webhook-id": "forged"}, "webhook-id"),
        ({"X-Ok": "1", "Webhook-Signature": "v1,x", "HOST": "h"}, "Webhook-Signature, HOST"),
        ({"X-Bad": "a\r\nInjected: yes"}, "CR, LF"),
        ({"X-Bad": "a\nb"}, "CR, LF"),
        ({"X-Bad": "nul\x01"}, "control characters"),
        ({"Bad Name": "1"}, "not a header name"),
        ({"Bad:Name": "1"}, "not a header name"),
        ({"": "1"}, "not a header name"),
        ({f"X-{i}": "v" for i in range(21)}, "at most 20"),
        ({f"X-{i}": "v" * 500 for i in range(17)}, "8192 bytes in all"),
        ({"X-A": "1", "x-a": "2"}, "given twice"),
    ],
)
def test_reserved_names_and_bad_values_are_400s_that_name_them(
    client: TestClient, headers: dict[str, str], named: str
) -> None:
    body = {"url": "https://example.com/hook", "headers": headers}
    answer = client.post(HOOKS, json=body, headers=auth())
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["message"], answer.json()["message"]
    hook = create_webhook(client)
    answer = patch(client, hook["id"], {"headers": headers})
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["message"]


@pytest.mark.parametrize("headers", [["X-A"], "X-A: 1", {"X-A": 1}, {"X-A": None}, {"X-A": ["1"]}])
def test_headers_of_the_wrong_type_are_400s(client: TestClient, headers: Any) -> None:
    body = {"url": "https://example.com/hook", "headers": headers}
    assert client.post(HOOKS, json=body, headers=auth()).status_code == 400


AUTHS: list[tuple[dict[str, Any], dict[str, str], str, str]] = [
    # (auth as given, as shown, the Authorization-like header sent, its value)
    (
        {"type": "basic", "username": "webhookd", "password": PASSWORD},
        {"type": "basic", "username": "webhookd"},
        "authorization",
        "Basic " + base64.b64encode(f"webhookd:{PASSWORD}".encode()).decode(),
    ),
    ({"type": "bearer", "token": TOKEN}, {"type": "bearer"}, "authorization", f"Bearer {TOKEN}"),
    (
        {"type": "header", "name": "X-Api-Key", "value": VALUE},
        {"type": "header", "name": "X-Api-Key"},
        "x-api-key",
        VALUE,
    ),
]


@pytest.mark.parametrize(("given", "shown", "header", "value"), AUTHS)
def test_each_auth_type_reaches_the_endpoint_and_its_secret_nowhere_else(
    start: Start,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    given: dict[str, Any],
    shown: dict[str, str],
    header: str,
    value: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = start()
    with Receiver() as receiver:
        created = client.post(HOOKS, json={"url": receiver.url, "auth": given}, headers=auth())
        assert created.status_code == 201, created.text
        hook = created.json()["data"]
        assert hook["auth"] == shown
        publish(client, "tenant-a", "verification.completed")
        [received] = receiver.wait_for(1)
        client.post(f"{HOOKS}/{hook['id']}/test", headers=auth())
        tested = receiver.wait_for(2)[1]
    assert received.headers[header] == value
    assert tested.headers[header] == value
    [attempt] = attempts_of(client, hook["id"])
    logged = {k.lower(): v for k, v in attempt["requestHeaders"].items()}
    assert logged[header] in ("[redacted]", "Basic [redacted]", "Bearer [redacted]")
    answers = [
        created.text,
        client.get(HOOKS, headers=auth()).text,
        client.get(f"{HOOKS}/{hook['id']}", headers=auth()).text,
        client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=auth()).text,
        client.get("/dashboard/audit-log", headers=auth()).text,
        patch(client, hook["id"], {"description": "kept"}).text,
    ]
    assert orjson.loads(answers[-1])["data"]["auth"] == shown  # left out: kept
    secret = next(s for s in SECRETS if s in orjson.dumps(given).decode())
    for text in answers:
        assert secret not in text
        assert value not in text
    assert secret not in caplog.text
    assert value not in caplog.text
    raw = stored(request, tmp_path)
    assert secret.encode() not in raw
    assert value.encode() not in raw
    assert shown["type"].encode() in raw  # what may be shown is there, in clear
    removed = patch(client, hook["id"], {"auth": None}).json()["data"]
    assert removed["auth"] is None


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"type": "magic", "spell": "x"}, "auth"),
        ({"type": "basic", "username": "u"}, "password"),
        ({"type": "basic", "username": "a:b", "password": "p"}, "auth.username"),
        ({"type": "basic", "username": "u", "password": "p\r\nX: y"}, "auth.password"),
        ({"type": "bearer", "token": ""}, "token"),
        ({"type": "bearer", "token": "t", "extra": 1}, "extra"),
        ({"type": "header", "name": "Host", "value": "v"}, "Host"),
        ({"type": "header", "name": "X-PacSpace-Event", "value": "v"}, "X-PacSpace-Event"),
        ({"type": "header", "name": "Bad Name", "value": "v"}, "not a header name"),
        ({"type": "oauth2", "tokenUrl": "ftp://x/t", **CLIENT}, "auth.tokenUrl"),
        ({"type": "oauth2", "tokenUrl": "http://127.0.0.1/t", **CLIENT}, "tokenUrl is refused"),
        ({"type": "oauth2", "tokenUrl": "http://169.254.169.254/t", **CLIENT}, "never allowed"),
        ({"type": "oauth2", "clientId": "c", "clientSecret": "s"}, "tokenUrl"),
        ("bearer", "auth"),
    ],
)  # fmt: skip
def test_bad_auth_is_a_400_naming_what_is_wrong(app_factory: Any, given: Any, named: str) -> None:
    client = app_factory(allow_private_networks=False)
    answer = client.post(
        HOOKS, json={"url": "https://example.com/hook", "auth": given}, headers=auth()
    )
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["message"], answer.json()["message"]


def test_a_custom_header_cannot_be_the_one_auth_sets(client: TestClient) -> None:
    header_auth = {"type": "header", "name": "X-Api-Key", "value": "v"}
    body = {"url": "https://example.com/h", "headers": {"x-api-key": "1"}, "auth": header_auth}
    answer = client.post(HOOKS, json=body, headers=auth())
    assert answer.status_code == 400
    assert "x-api-key" in answer.json()["message"]
    hook = create_webhook(client, auth=header_auth)
    answer = patch(client, hook["id"], {"headers": {"X-API-KEY": "2"}})
    assert answer.status_code == 400
    assert patch(client, hook["id"], {"auth": None, "headers": {"X-API-KEY": "2"}}).status_code == (
        200
    )


def test_another_tenants_webhook_is_404_for_headers_and_auth(start: Start) -> None:
    client = start()
    hook = create_webhook(client, headers={"X-A": "1"}, auth={"type": "bearer", "token": TOKEN})
    for body in (
        {"headers": {"X-Taken": "over"}},
        {"headers": None},
        {"auth": {"type": "bearer", "token": "mine"}},
        {"auth": None},
    ):
        answer = patch(client, hook["id"], body, tenant="tenant-b")
        assert answer.status_code == 404, answer.text
    got = client.get(f"{HOOKS}/{hook['id']}", headers=auth()).json()["data"]
    assert (got["headers"], got["auth"]) == ({"X-A": "1"}, {"type": "bearer"})


class TokenEndpoint:
    """A real OAuth2 token endpoint on 127.0.0.1: each client-credentials request gets
    `tok-<n>`, living `expires_in` seconds; or, with `fail`, an error."""

    def __init__(self, expires_in: int = 600, fail: bool = False) -> None:
        self.expires_in = expires_in
        self.fail = fail
        self.receiver = Receiver(self._answer)

    def _answer(self, request: testing.Received) -> testing.Reply:
        if self.fail:
            return 400, b'{"error":"invalid_client","error_description":"unknown client"}'
        n = len(self.receiver.requests) + 1  # this request is recorded after its answer
        body = {"access_token": f"tok-{n}", "token_type": "Bearer", "expires_in": self.expires_in}
        return 200, orjson.dumps(body), {"Content-Type": "application/json"}

    @property
    def count(self) -> int:
        return len(self.receiver.requests)

    def __enter__(self) -> "TokenEndpoint":
        self.receiver.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.receiver.__exit__(None, None, None)


def oauth2(token_url: str) -> dict[str, str]:
    return {
        "type": "oauth2",
        "tokenUrl": token_url,
        "clientId": "webhookd-client",
        "clientSecret": CLIENT_SECRET,
        "scope": "webhooks:write",
    }


def test_oauth2_one_token_per_expiry_and_one_more_after_a_401(
    start: Start,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    client = start(now=clock)
    refused: set[str] = set()  # tokens the endpoint no longer accepts

    def endpoint(request: testing.Received) -> testing.Reply:
        return (401, b"expired") if request.headers["authorization"] in refused else (200, b"ok")

    with TokenEndpoint(expires_in=600) as tokens, Receiver(endpoint) as receiver:
        created = client.post(
            HOOKS, json={"url": receiver.url, "auth": oauth2(tokens.receiver.url)}, headers=auth()
        )
        assert created.status_code == 201, created.text
        hook = created.json()["data"]
        assert hook["auth"] == {
            "type": "oauth2",
            "clientId": "webhookd-client",
            "tokenUrl": tokens.receiver.url,
        }
        for n in range(3):
            publish(client, "tenant-a", "verification.completed", {"n": n})
        first = receiver.wait_for(3)
        assert {r.headers["authorization"] for r in first} == {"Bearer tok-1"}
        assert tokens.count == 1  # three deliveries, one token
        [grant] = tokens.receiver.requests
        form = parse_qs(grant.body.decode())
        assert form == {"grant_type": ["client_credentials"], "scope": ["webhooks:write"]}
        basic = base64.b64encode(f"webhookd-client:{CLIENT_SECRET}".encode()).decode()
        assert grant.headers["authorization"] == f"Basic {basic}"

        delivered(client, hook["id"], 3)
        clock.advance_to(clock.ms + 540_000 - 1)  # kept until a minute before it expires
        publish(client, "tenant-a", "verification.completed", {"n": 3})
        assert receiver.wait_for(4)[3].headers["authorization"] == "Bearer tok-1"
        assert tokens.count == 1

        delivered(client, hook["id"], 4)
        clock.advance_to(clock.ms + 1)  # now it is refreshed
        publish(client, "tenant-a", "verification.completed", {"n": 4})
        assert receiver.wait_for(5)[4].headers["authorization"] == "Bearer tok-2"
        assert tokens.count == 2

        refused.add("Bearer tok-2")  # the endpoint answers 401: dropped, fetched once more
        publish(client, "tenant-a", "verification.completed", {"n": 5})
        sent = receiver.wait_for(7)
        assert [r.headers["authorization"] for r in sent[5:]] == ["Bearer tok-2", "Bearer tok-3"]
        assert tokens.count == 3
        [attempt] = attempts_of(client, hook["id"])
        assert attempt["httpStatus"] == 200
        assert attempt["requestHeaders"]["Authorization"] == "Bearer [redacted]"

        assert client.post(f"{HOOKS}/{hook['id']}/test", headers=auth()).json()["data"]["success"]
        assert receiver.wait_for(8)[7].headers["authorization"] == "Bearer tok-3"
        assert tokens.count == 3  # the test send used the kept token
    for text in (caplog.text, client.get(f"{HOOKS}/{hook['id']}", headers=auth()).text):
        assert CLIENT_SECRET not in text
        assert "tok-3" not in text
    raw = stored(request, tmp_path)
    assert CLIENT_SECRET.encode() not in raw
    assert b"tok-1" not in raw
    assert b"webhookd-client" in raw  # the client id is not secret


def test_a_failing_token_endpoint_is_a_failed_attempt_with_a_clear_error(start: Start) -> None:
    client = start()
    with TokenEndpoint(fail=True) as tokens, Receiver() as receiver:
        hook = create_webhook(client, url=receiver.url, auth=oauth2(tokens.receiver.url))
        publish(client, "tenant-a", "verification.completed")
        [attempt] = attempts_of(client, hook["id"])
        tested = client.post(f"{HOOKS}/{hook['id']}/test", headers=auth()).json()["data"]
        assert receiver.requests == []  # no token, no request
    assert attempt["httpStatus"] is None
    assert attempt["error"] == (
        f"OAuth2 token request to {tokens.receiver.url} answered HTTP 400: "
        "invalid_client (unknown client)"
    )
    assert tested["success"] is False
    assert "OAuth2 token request" in tested["message"]
    delivery = client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=auth()).json()["data"]
    assert {d["status"] for d in delivery} == {"failed"}  # no retries in these tests


def test_the_token_url_passes_the_ssrf_guard(app_factory: Any) -> None:
    """A token URL whose name resolves to a private address is refused at send time,
    without a request to it, as an endpoint's URL would be."""
    client = app_factory(allow_private_networks=False)
    with TokenEndpoint() as tokens:
        port = tokens.receiver.url.split(":")[2].split("/")[0]
        hook = create_webhook(
            client,
            url="https://example.com/hook",
            auth=oauth2(f"http://localhost:{port}/token"),
        )
        publish(client, "tenant-a", "verification.completed")
        [attempt] = attempts_of(client, hook["id"])
        assert tokens.count == 0
    assert attempt["error"].startswith(f"OAuth2 token request to http://localhost:{port}/token")
    assert "blocked: localhost resolves to 127.0.0.1" in attempt["error"]


def test_deliveries_test_sends_and_token_requests_go_through_the_proxy(start: Start) -> None:
    with ForwardProxy() as proxy, TokenEndpoint() as tokens, Receiver() as receiver:
        client = start(proxy_url=proxy.url)
        hook = create_webhook(
            client, url=receiver.url, headers={"X-Via": "proxy"}, auth=oauth2(tokens.receiver.url)
        )
        publish(client, "tenant-a", "verification.completed")
        [request] = receiver.wait_for(1)
        assert client.post(f"{HOOKS}/{hook['id']}/test", headers=auth()).json()["data"]["success"]
        receiver.wait_for(2)
    assert request.headers["x-via"] == "proxy"
    assert request.headers["authorization"] == "Bearer tok-1"
    assert proxy.lines == [
        f"POST {tokens.receiver.url} HTTP/1.1",
        f"POST {receiver.url} HTTP/1.1",
        f"POST {receiver.url} HTTP/1.1",
    ]


def test_a_private_target_is_refused_without_reaching_the_proxy(start: Start) -> None:
    with ForwardProxy() as proxy, Receiver() as receiver:
        client = start(proxy_url=proxy.url, allow_private_networks=False)
        port = receiver.url.split(":")[2].split("/")[0]
        hook = create_webhook(client, url=f"http://localhost:{port}/hook")
        publish(client, "tenant-a", "verification.completed")
        [attempt] = attempts_of(client, hook["id"])
        tested = client.post(f"{HOOKS}/{hook['id']}/test", headers=auth()).json()["data"]
        assert receiver.requests == []
    assert attempt["error"].startswith("blocked: localhost resolves to 127.0.0.1")
    assert tested["success"] is False
    assert proxy.lines == []


def test_a_proxy_that_is_down_is_named_and_held_against_nobody(start: Start) -> None:
    """The endpoint was never contacted: its circuit, failure clock and retry schedule are
    untouched (with a breaker of 1 failure and a clock of 1 ms, one failure counted would
    show), and the delivery waits for the proxy instead of failing."""
    down = f"http://127.0.0.1:{free_port()}"
    with Receiver() as receiver:
        client = start(proxy_url=down, circuit_failures=1, disable_after=0.001)
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed")
        publish(client, "tenant-a", "verification.completed")
        [attempt] = attempts_of(client, hook["id"])
        tested = client.post(f"{HOOKS}/{hook['id']}/test", headers=auth()).json()["data"]
    assert attempt["httpStatus"] is None
    assert f"egress proxy {down} could not be reached" in attempt["error"]
    assert down in tested["message"]

    def both_tried() -> list[dict[str, Any]] | None:
        listed = client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=auth()).json()["data"]
        tried = [d for d in listed if d["event"] != "test" and d["lastAttemptAt"]]
        return tried if len(tried) == 2 else None

    for delivery in wait_until(both_tried):
        assert delivery["status"] == "pending"  # waits for the proxy, though nothing retries
        assert delivery["attempts"] == 0  # no place of its retry schedule taken
        assert delivery["nextAttemptAt"] is not None
    got = client.get(f"{HOOKS}/{hook['id']}", headers=auth()).json()["data"]
    assert got["active"] is True
    assert got["health"] == {
        "status": "healthy",
        "failingSince": None,
        "consecutiveFailures": 0,
        "nextProbeAt": None,
    }
