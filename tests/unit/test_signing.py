"""The seed's signature: HMAC-SHA256 keyed by the whole secret string, over the exact bytes."""

from webhookd.domain import signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = (
    b'{"event":"test","timestamp":"2025-06-10T15:30:00.000Z",'
    b'"data":{"message":"This is a test webhook event from PacSpace."}}'
)
# Computed with node: crypto.createHmac('sha256', SECRET).update(BODY).digest('hex')
NODE_SIGNATURE = "sha256=e36e85312b7a44731449c29fbb2de7309b69d0fa9c069241c341ef47738aff71"


def test_signature_matches_nodes_crypto() -> None:
    assert signing.sign(SECRET, BODY) == NODE_SIGNATURE


def test_verify_accepts_only_the_exact_signature() -> None:
    assert signing.verify(SECRET, BODY, NODE_SIGNATURE)
    assert not signing.verify(SECRET, BODY + b" ", NODE_SIGNATURE)
    assert not signing.verify(SECRET + "x", BODY, NODE_SIGNATURE)
    assert not signing.verify(SECRET, BODY, NODE_SIGNATURE.upper())
    assert not signing.verify(SECRET, BODY, "sha256=ü")


def test_delivery_headers_name_everything_a_receiver_needs() -> None:
    headers = signing.delivery_headers(
        secret=SECRET, body=BODY, delivery_id="dlv_1", event_type="test",
        timestamp_s=1749569400, user_agent="webhookd/1.0",
    )  # fmt: skip
    assert headers == {
        "Content-Type": "application/json",
        "User-Agent": "webhookd/1.0",
        "X-PacSpace-Event": "test",
        "X-PacSpace-Delivery": "dlv_1",
        "X-PacSpace-Timestamp": "1749569400",
        "X-PacSpace-Signature": NODE_SIGNATURE,
    }
