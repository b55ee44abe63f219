"""The JWT matrix: every bad token is a 401 in the envelope, and nothing leaks."""

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from tests.conftest import make_token

NOW = int(time.time())


def _unsigned(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key=None, algorithm="none")


def _status(client: TestClient, token: str) -> tuple[int, dict[str, Any]]:
    response = client.get("/dashboard/webhooks", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(_unsigned({"sub": "t", "exp": NOW + 600}), id="alg-none"),
        pytest.param(make_token(exp=NOW - 120), id="expired"),
        pytest.param(make_token(nbf=NOW + 600), id="not-yet-valid"),
        pytest.param(make_token(exp=None), id="missing-exp"),
        pytest.param(make_token(secret="another-secret-that-is-32-bytes-long!"), id="wrong-key"),
        pytest.param(make_token(sub=None), id="no-tenant-claim"),
        pytest.param(make_token(sub=""), id="empty-tenant"),
        pytest.param("garbage", id="garbage"),
        pytest.param("a.b.c", id="three-garbage-parts"),
        pytest.param("x" * 9000, id="oversize"),
    ],
)
def test_bad_tokens_are_401(client: TestClient, token: str) -> None:
    status, body = _status(client, token)
    assert status == 401
    assert body["statusCode"] == 401
    assert body["error"] == "Unauthorized"
    assert body["message"].startswith("Invalid token")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}],
)
def test_missing_or_other_scheme_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/dashboard/webhooks", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["message"]


def test_every_dashboard_route_needs_a_token(client: TestClient) -> None:
    paths = [
        ("POST", "/dashboard/webhooks"),
        ("GET", "/dashboard/webhooks"),
        ("GET", "/dashboard/webhooks/wh_x"),
        ("PATCH", "/dashboard/webhooks/wh_x"),
        ("DELETE", "/dashboard/webhooks/wh_x"),
        ("POST", "/dashboard/webhooks/wh_x/toggle"),
        ("POST", "/dashboard/webhooks/wh_x/test"),
        ("GET", "/dashboard/event-types"),
    ]
    for method, path in paths:
        assert client.request(method, path).status_code == 401, (method, path)


def test_small_clock_skew_is_tolerated(client: TestClient) -> None:
    assert _status(client, make_token(nbf=NOW + 10, iat=NOW + 10))[0] == 200


def test_tenant_claim_must_be_a_string(app_factory: Any) -> None:
    client = app_factory(tenant_claim="org_id")
    assert _status(client, make_token(org_id=42))[0] == 401
    assert _status(client, make_token(org_id="42"))[0] == 200


def test_issuer_and_audience_are_enforced_when_configured(app_factory: Any) -> None:
    client = app_factory(jwt_issuer="https://idp.example", jwt_audience="webhookd")
    good = make_token(iss="https://idp.example", aud="webhookd")
    assert _status(client, good)[0] == 200
    assert _status(client, make_token(iss="https://evil.example", aud="webhookd"))[0] == 401
    assert _status(client, make_token(iss="https://idp.example", aud="other"))[0] == 401
    assert _status(client, make_token())[0] == 401


def test_tenant_claim_is_configurable(app_factory: Any) -> None:
    client = app_factory(tenant_claim="org_id")
    assert _status(client, make_token(org_id="acme"))[0] == 200
    assert _status(client, make_token())[0] == 401


def _rsa_pem() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, pem.decode()


def test_rs256_config_accepts_rs256_and_refuses_hs256_confusion(app_factory: Any) -> None:
    private, public_pem = _rsa_pem()
    client = app_factory(jwt_secret=None, jwt_public_key=public_pem)
    claims = {"sub": "tenant-a", "exp": NOW + 600}
    assert _status(client, jwt.encode(claims, private, algorithm="RS256"))[0] == 200
    # The classic confusion: an HMAC token keyed with the public key's bytes.
    forged = (
        jwt.api_jws.PyJWS()
        ._algorithms["HS256"]
        .sign(  # build it without PyJWT's guard
            b".".join(jwt.encode(claims, "k" * 32, algorithm="HS256").encode().split(b".")[:2]),
            public_pem.encode(),
        )
    )
    header_payload = b".".join(
        jwt.encode(claims, "k" * 32, algorithm="HS256").encode().split(b".")[:2]
    )
    token = (header_payload + b"." + jwt.utils.base64url_encode(forged)).decode()
    assert _status(client, token)[0] == 401
    assert _status(client, make_token())[0] == 401
    other, _ = _rsa_pem()
    assert _status(client, jwt.encode(claims, other, algorithm="RS256"))[0] == 401


def test_es256_public_key(app_factory: Any) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    client = app_factory(jwt_secret=None, jwt_public_key=pem.decode())
    token = jwt.encode({"sub": "t", "exp": NOW + 60}, private, algorithm="ES256")
    assert _status(client, token)[0] == 200


def test_tenant_isolation_follows_the_token(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {make_token('tenant-b')}"}
    client.post("/dashboard/webhooks", json={"url": "https://e.com"}, headers=headers)
    assert _status(client, make_token("tenant-a"))[1]["data"] == []
    assert len(_status(client, make_token("tenant-b"))[1]["data"]) == 1
