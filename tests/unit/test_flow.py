"""Per-endpoint windows (AIMD) and the rate-limit bucket."""

from webhookd.domain.flow import Bucket, Windows


def test_a_window_starts_at_one_grows_with_successes_and_drops_to_one() -> None:
    windows = Windows(ceiling=4)
    assert windows.cap("a") == 1
    assert not windows.proven("a")
    for expected in (2, 3, 4, 4):
        windows.succeeded("a")
        assert windows.cap("a") == expected
    assert windows.proven("a")
    windows.failed("a")
    assert windows.cap("a") == 1
    assert not windows.proven("a")
    assert windows.cap("b") == 1  # one endpoint's outcomes never move another's window


def test_windows_forget_the_least_recently_used_endpoint() -> None:
    windows = Windows(ceiling=8, max_endpoints=2)
    for endpoint in ("a", "b", "a", "c"):
        windows.succeeded(endpoint)
    assert set(windows.caps) == {"a", "c"}
    assert windows.proven_endpoints == {"a", "c"}


def test_a_bucket_refills_at_its_rate_and_holds_a_tenth_of_a_second() -> None:
    five = Bucket(5)
    assert five.burst == 1
    assert five.tokens(None, None, 0) == 1
    assert five.tokens(0.0, 0, 100) == 0.5
    assert five.tokens(0.0, 0, 10_000) == 1  # never more than the burst
    assert five.next_token_at(0.0, 0) == 201
    assert five.next_token_at(1.0, 0) == 0
    assert Bucket(1000).burst == 100
