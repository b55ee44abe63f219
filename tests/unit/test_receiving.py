"""`webhookd.verify`: deliveries signed by our own sender, and by the official library."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import standardwebhooks

import webhookd
from webhookd import errors
from webhookd.domain import ids, signing
from webhookd.receiving import STANDARD, check_signature

SECRET = ids.new_secret()
BODY = (
    b'{"event":"test","timestamp":"2025-06-10T15:30:00.000Z",'
    b'"data":{"message":"This is a test webhook event from PacSpace."}}'
)
NOW = datetime(2025, 6, 10, 15, 30, tzinfo=UTC)
STAMP = int(NOW.timestamp())


def sent(*secrets: str, body: bytes = BODY, at: int = STAMP) -> dict[str, str]:
    """The headers our sender puts on a delivery."""
    return signing.delivery_headers(
        secrets=list(secrets) or [SECRET], body=body, delivery_id="dlv_1", event_type="test",
        timestamp_s=at, user_agent="webhookd/test",
    )  # fmt: skip


def only(headers: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() in names}


def test_a_delivery_from_our_sender_verifies_and_gives_the_payload() -> None:
    assert webhookd.verify(BODY, sent(), SECRET, now=NOW) == json.loads(BODY)


def test_header_names_are_looked_up_in_any_case() -> None:
    upper = {k.upper(): v for k, v in sent().items()}
    assert webhookd.verify(BODY, upper, SECRET, now=NOW)["event"] == "test"
    seed = {"x-pacspace-signature": signing.sign(SECRET, BODY)}
    assert webhookd.verify(BODY, seed, SECRET, allow_seed_only=True)["event"] == "test"


def test_the_seed_header_alone_verifies_only_when_allowed() -> None:
    seed_style = "whsec_k7d9f2a1b3c4e5"  # the seed document's, not base64: seed scheme only
    headers = only(sent(), "x-pacspace-signature")
    assert check_signature(BODY, headers, SECRET, allow_seed_only=True) == "X-PacSpace-Signature"
    assert webhookd.verify(
        BODY, {"X-PacSpace-Signature": signing.sign(seed_style, BODY)}, seed_style,
        allow_seed_only=True,
    )  # fmt: skip


def test_stripping_the_standard_headers_does_not_turn_off_the_replay_check() -> None:
    """A captured delivery, months old, with its webhook-* headers removed."""
    months_later = NOW + timedelta(days=300)
    with pytest.raises(errors.TimestampOutOfTolerance):
        webhookd.verify(BODY, sent(), SECRET, now=months_later)
    stripped = only(sent(), "x-pacspace-signature", "content-type")
    with pytest.raises(errors.MissingSignature, match="replay"):
        webhookd.verify(BODY, stripped, SECRET, now=months_later)


def test_an_absurd_timestamp_is_a_bad_signature_not_a_crash() -> None:
    for stamp in ("9" * 400, "9" * 5000, "1" * 13):
        with pytest.raises(errors.BadSignature, match="Unix seconds"):
            webhookd.verify(BODY, {**sent(), "webhook-timestamp": stamp}, SECRET, now=NOW)


def test_the_standard_headers_alone_verify() -> None:
    headers = only(sent(), "webhook-id", "webhook-timestamp", "webhook-signature")
    assert check_signature(BODY, headers, SECRET, now=NOW) == STANDARD


def test_a_body_signed_by_the_official_library_verifies() -> None:
    secret = ids.new_secret()
    official = standardwebhooks.Webhook(secret)
    signature = official.sign("msg_1", NOW, BODY.decode())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(STAMP),
        "webhook-signature": signature,
    }
    assert webhookd.verify(BODY, headers, secret, now=NOW) == json.loads(BODY)
    with pytest.raises(errors.BadSignature):
        webhookd.verify(BODY, headers, ids.new_secret(), now=NOW)


def test_any_of_several_signatures_or_secrets_passes_during_a_rotation() -> None:
    old, new = SECRET, ids.new_secret()
    both = sent(new, old)  # what the sender signs with during the grace period
    assert webhookd.verify(BODY, both, old, now=NOW)
    assert webhookd.verify(BODY, both, new, now=NOW)
    # A receiver that already holds both secrets, in either order, for either sender.
    assert webhookd.verify(BODY, sent(old), [new, old], now=NOW)
    seed_only = only(sent(new), "x-pacspace-signature")
    assert webhookd.verify(BODY, seed_only, [old, new], allow_seed_only=True)
    with pytest.raises(errors.BadSignature):
        webhookd.verify(BODY, seed_only, [old], allow_seed_only=True)


def test_a_tampered_body_is_a_bad_signature_that_says_what_to_check() -> None:
    tampered = BODY.replace(b"test", b"tent", 1)
    for headers in (sent(), only(sent(), "x-pacspace-signature")):
        with pytest.raises(errors.BadSignature) as caught:
            webhookd.verify(tampered, headers, SECRET, now=NOW, allow_seed_only=True)
        assert "raw request body" in str(caught.value)
        assert "check the secret" in str(caught.value)


def test_re_serialized_json_does_not_verify() -> None:
    pretty = json.dumps(json.loads(BODY)).encode()  # Python's spacing, not the bytes sent
    with pytest.raises(errors.BadSignature):
        webhookd.verify(pretty, sent(), SECRET, now=NOW)


def test_a_wrong_secret_is_a_bad_signature() -> None:
    for headers in (sent(), only(sent(), "x-pacspace-signature")):
        with pytest.raises(errors.BadSignature):
            webhookd.verify(BODY, headers, ids.new_secret(), now=NOW, allow_seed_only=True)


def test_timestamps_outside_the_tolerance_are_refused_both_ways() -> None:
    with pytest.raises(errors.TimestampOutOfTolerance, match="301 s old"):
        webhookd.verify(BODY, sent(at=STAMP - 301), SECRET, now=NOW)
    with pytest.raises(errors.TimestampOutOfTolerance, match="in the future"):
        webhookd.verify(BODY, sent(at=STAMP + 301), SECRET, now=NOW)
    assert webhookd.verify(BODY, sent(at=STAMP - 300), SECRET, now=NOW)
    wide = timedelta(hours=1)
    assert webhookd.verify(BODY, sent(at=STAMP - 3000), SECRET, now=NOW, tolerance=wide)


def test_a_stale_standard_signature_is_not_rescued_by_the_seed_header() -> None:
    # The seed header covers no timestamp: a replay keeps it valid forever.
    with pytest.raises(errors.TimestampOutOfTolerance):
        webhookd.verify(BODY, sent(at=STAMP - 3600), SECRET, now=NOW)


def test_missing_headers_are_named() -> None:
    with pytest.raises(errors.MissingSignature, match="is this request from webhookd"):
        webhookd.verify(BODY, {"Content-Type": "application/json"}, SECRET)
    partial = only(sent(), "webhook-signature", "webhook-id")
    with pytest.raises(errors.MissingSignature, match="webhook-timestamp"):
        webhookd.verify(BODY, partial, SECRET, now=NOW)


def test_malformed_headers_are_bad_signatures() -> None:
    with pytest.raises(errors.BadSignature, match="Unix seconds"):
        webhookd.verify(BODY, {**sent(), "webhook-timestamp": "soon"}, SECRET, now=NOW)
    with pytest.raises(errors.BadSignature):
        webhookd.verify(BODY, {**sent(), "webhook-signature": "v1,ü nonsense"}, SECRET, now=NOW)
    with pytest.raises(errors.BadSignature):
        webhookd.verify(BODY, {"X-PacSpace-Signature": "sha256=ü"}, SECRET, allow_seed_only=True)


def test_a_signed_body_that_is_not_a_json_object_is_an_invalid_payload() -> None:
    for body in (b"[1, 2]", b"not json"):
        with pytest.raises(errors.InvalidPayload):
            webhookd.verify(body, sent(body=body), SECRET, now=NOW)


def test_every_failure_is_one_catchable_value_error() -> None:
    assert issubclass(errors.WebhookVerificationError, ValueError)
    assert issubclass(errors.WebhookVerificationError, errors.WebhookdError)
    for kind in (
        errors.MissingSignature, errors.BadSignature,
        errors.TimestampOutOfTolerance, errors.InvalidPayload,
    ):  # fmt: skip
        assert issubclass(kind, webhookd.WebhookVerificationError)


def test_text_instead_of_bytes_and_no_secret_are_programming_errors() -> None:
    with pytest.raises(TypeError, match="raw request body as bytes"):
        webhookd.verify(cast(Any, BODY.decode()), sent(), SECRET)  # text, on purpose
    with pytest.raises(TypeError, match="secret"):
        webhookd.verify(BODY, sent(), [])
