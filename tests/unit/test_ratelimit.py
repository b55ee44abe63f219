import pytest

from webhookd.domain.ratelimit import Buckets, Limit


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    buckets = Buckets(Limit(rate=2, burst=3))
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a", 0.0) == pytest.approx(0.5)
    assert buckets.take("b", 0.0) == 0  # keys are independent
    assert buckets.take("a", 0.5) == 0  # one token back after 1/rate seconds
    assert buckets.take("a", 0.5) > 0


def test_zero_means_no_limit_and_idle_keys_are_forgotten() -> None:
    assert all(Buckets(Limit(0, 1)).take("a", 0) == 0 for _ in range(1000))
    buckets = Buckets(Limit(1, 1), max_keys=2)
    for key in ("a", "b", "c"):
        buckets.take(key, 0)
    assert buckets.take("a", 0) == 0  # "a" was evicted: a fresh bucket


@pytest.mark.parametrize(
    ("spec", "limit"), [("20/100", Limit(20, 100)), ("5", Limit(5, 5)), ("0", Limit(0, 1))]
)
def test_parse(spec: str, limit: Limit) -> None:
    assert Limit.parse(spec) == limit


@pytest.mark.parametrize("spec", ["fast", "-1", "5/0", "5/x"])
def test_parse_refuses(spec: str) -> None:
    with pytest.raises(ValueError, match=r"RATE|rate"):
        Limit.parse(spec)
