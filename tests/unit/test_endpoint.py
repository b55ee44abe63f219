"""domain/endpoint.py (headers, auth, token lifetimes, NO_PROXY), outbound.Tokens, and how
an egress fault is judged by the retry policy, the breaker and the failure clock."""

import asyncio
import base64
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webhookd.domain import endpoint, retry
from webhookd.domain.circuit import Breaker
from webhookd.domain.endpoint import EndpointAuth
from webhookd.domain.models import Circuit, DeliveryStatus, SendResult
from webhookd.outbound import TokenFailed, Tokens

NOW = 1_750_000_000_000


def test_token_lifetime_is_capped_at_an_hour_and_refreshed_early() -> None:
    assert endpoint.token_kept_until(NOW, 600) == NOW + 540_000  # a minute early
    assert endpoint.token_kept_until(NOW, 86_400) == NOW + 3_540_000  # an hour at most
    assert endpoint.token_kept_until(NOW, 60) == NOW + 30_000  # half of a short life
    for missing in (None, "600", True, 0, -5):
        assert endpoint.token_kept_until(NOW, missing) == NOW + 3_540_000


@given(st.floats(min_value=0.001, max_value=10**9))
def test_a_token_is_always_refreshed_before_it_expires(expires_in: float) -> None:
    until = endpoint.token_kept_until(NOW, expires_in)
    life_ms = min(expires_in, 3600) * 1000
    assert NOW <= until <= NOW + life_ms  # never used after it expires, never over an hour
    assert until - NOW <= life_ms - min(60_000, life_ms / 2) + 1  # refreshed early


@pytest.mark.parametrize(
    ("host", "bypass"),
    [
        ("example.com", True),
        ("api.example.com", True),
        ("EXAMPLE.com.", True),
        ("notexample.com", False),
        ("internal", True),
        ("other.org", False),
        ("10.1.2.3", True),
    ],
)
def test_no_proxy_matches_hosts_and_suffixes(host: str, bypass: bool) -> None:
    rules = endpoint.parse_no_proxy(" .example.com, internal ,10.1.2.3")
    assert endpoint.bypasses_proxy(host, rules) is bypass
    assert endpoint.bypasses_proxy(host, ("*",))
    assert not endpoint.bypasses_proxy(host, ())


def test_headers_keep_their_order_and_case() -> None:
    assert endpoint.check_headers({"X-B": "2", "x-a": "1"}) == (("X-B", "2"), ("x-a", "1"))


def test_auth_headers_and_how_the_log_shows_them() -> None:
    basic = EndpointAuth("basic", "sealed", username="u")
    name, value = endpoint.auth_header(basic, "p w")
    assert (name, base64.b64decode(value.removeprefix("Basic "))) == ("Authorization", b"u:p w")
    assert endpoint.redacted(name, value) == "Basic [redacted]"
    header = EndpointAuth("header", "sealed", name="X-Api-Key")
    assert endpoint.auth_header(header, "k") == ("X-Api-Key", "k")
    assert endpoint.redacted("X-Api-Key", "k") == "[redacted]"
    oauth = EndpointAuth("oauth2", "sealed", client_id="c", token_url="https://a/t")
    assert endpoint.auth_header(oauth, "secret", "tok") == ("Authorization", "Bearer tok")
    assert "secret" not in str(oauth.shown())
    assert "sealed" not in str(oauth.shown())


def test_client_credentials_are_form_encoded_before_basic() -> None:
    """RFC 6749 2.3.1: the id and secret are form-encoded, then Basic."""
    auth = EndpointAuth("oauth2", "s", client_id="a:b", token_url="https://a/t", scope="x y")
    body, headers = endpoint.client_credentials(auth, "p&=:")
    assert body == b"grant_type=client_credentials&scope=x%20y"
    pair = base64.b64decode(headers["Authorization"].removeprefix("Basic ")).decode()
    assert pair == "a%3Ab:p%26%3D%3A"


EGRESS = SendResult(
    None, "the egress proxy http://p:3128 could not be reached", 1, egress_fault=True
)


def test_an_egress_fault_waits_without_taking_a_place_of_the_schedule() -> None:
    policy = retry.Policy(schedule=(), jitter=0.0)  # no retries at all
    decision = policy.decide(EGRESS, 1, NOW, lambda: 0.0, manual=True)
    assert decision.status is DeliveryStatus.PENDING
    assert decision.next_attempt_at == NOW + round(retry.EGRESS_RETRY_S * 1000)


def test_an_egress_fault_leaves_the_circuit_and_the_failure_clock_alone() -> None:
    breaker = Breaker(failures=1)
    assert breaker.after(Circuit(), EGRESS, NOW, probe=False) == Circuit()
    half_open = Circuit(3, 1, NOW - 1)
    assert breaker.after(half_open, EGRESS, NOW, probe=True) == half_open
    outcomes = [retry.Outcome(NOW + i, False, None, counts=False) for i in range(3)]
    assert retry.failure_clock(None, outcomes, 1) == (None, None)
    assert retry.failure_clock(NOW - 5, outcomes, 10**9) == (NOW - 5, None)


class SlowTokens:
    """A token endpoint the test answers by hand, counting requests."""

    def __init__(self) -> None:
        self.requests = 0
        self.release = asyncio.Event()
        self.answer = b'{"access_token":"t%d","token_type":"bearer","expires_in":600}'

    async def fetch(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[SendResult, bytes]:
        self.requests += 1
        await self.release.wait()
        return SendResult(200, None, 1), self.answer.replace(b"%d", b"%d" % self.requests)


AUTH = EndpointAuth("oauth2", "sealed", client_id="c", token_url="https://a/t")


async def test_deliveries_that_need_one_token_wait_for_one_request() -> None:
    client = SlowTokens()
    tokens = Tokens(client, lambda: NOW)
    waiting = [asyncio.create_task(tokens.token("k", AUTH, "s")) for _ in range(5)]
    await asyncio.sleep(0)
    client.release.set()
    assert await asyncio.gather(*waiting) == ["t1"] * 5
    assert client.requests == 1
    # Five 401s with the same token: one new token.
    renewed = await asyncio.gather(*(tokens.token("k", AUTH, "s", stale="t1") for _ in range(5)))
    assert renewed == ["t2"] * 5
    assert client.requests == 2


async def test_a_token_endpoint_without_a_token_fails_clearly() -> None:
    client = SlowTokens()
    client.release.set()
    client.answer = b'{"token_type":"bearer"}'
    with pytest.raises(TokenFailed, match="no usable access_token"):
        await Tokens(client, lambda: NOW).token("k", AUTH, "s")
    client.answer = b'{"access_token":"t%d","token_type":"mac"}'
    with pytest.raises(TokenFailed, match="is not Bearer"):
        await Tokens(client, lambda: NOW).token("k", AUTH, "s")


async def test_a_token_request_cut_short_leaves_nobody_waiting() -> None:
    client = SlowTokens()
    tokens = Tokens(client, lambda: NOW)
    fetching = asyncio.create_task(tokens.token("k", AUTH, "s"))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(tokens.token("k", AUTH, "s"))
    await asyncio.sleep(0)
    fetching.cancel()
    with pytest.raises(TokenFailed, match="stopped"):
        await waiting
    client.release.set()
    assert await tokens.token("k", AUTH, "s") == "t2"  # the next one asks again
