"""The seed's signature: HMAC-SHA256 keyed by the whole secret string, over the exact bytes."""

import json
import time

import pytest
import standardwebhooks
import standardwebhooks.webhooks

from webhookd.domain import ids, signing

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
        secrets=[SECRET], body=BODY, delivery_id="dlv_1", event_type="test",
        timestamp_s=1749569400, user_agent="webhookd/1.0",
    )  # fmt: skip
    assert headers == {
        "Content-Type": "application/json",
        "User-Agent": "webhookd/1.0",
        "X-PacSpace-Event": "test",
        "X-PacSpace-Delivery": "dlv_1",
        "X-PacSpace-Timestamp": "1749569400",
        "X-PacSpace-Signature": NODE_SIGNATURE,
        "webhook-id": "dlv_1",
        "webhook-timestamp": "1749569400",
        "webhook-signature": signing.standard_signature(SECRET, "dlv_1", 1749569400, BODY),
    }


def test_standard_webhooks_library_verifies_every_signature_in_a_rotation() -> None:
    new = ids.new_secret()
    headers = signing.delivery_headers(
        secrets=[new, SECRET], body=BODY, delivery_id="dlv_2", event_type="test",
        timestamp_s=int(time.time()), user_agent="webhookd/1.0",
    )  # fmt: skip
    assert headers["X-PacSpace-Signature"] == signing.sign(new, BODY)  # the newest
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, SECRET):
        assert standardwebhooks.Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(ids.new_secret()).verify(BODY, headers)
