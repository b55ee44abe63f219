from webhookd.domain.clock import iso


def test_iso_has_milliseconds_and_z() -> None:
    assert iso(1_748_779_200_000) == "2025-06-01T12:00:00.000Z"
    assert iso(1_749_569_400_123) == "2025-06-10T15:30:00.123Z"
    assert iso(0) == "1970-01-01T00:00:00.000Z"
