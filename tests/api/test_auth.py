"""The JWT matrix: every bad token is a 401 in the envelope, and nothing leaks."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from tests.conftest import JWT_SECRET, STOP_POLL, make_token
from webhookd.api.auth import JwksKeys

NOW = int(time.time())  # at collection: tokens made from it must live minutes, not seconds


def _unsigned(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key="", algorithm="none")  # "none" takes no key ("" is none)


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
    ahead = int(time.time()) + 10  # the issuer's clock is 10 s ahead (of now, not of NOW)
    assert _status(client, make_token(nbf=ahead, iat=ahead))[0] == 200


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
    token = jwt.encode({"sub": "t", "exp": NOW + 600}, private, algorithm="ES256")
    assert _status(client, token)[0] == 200


def test_tenant_isolation_follows_the_token(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {make_token('tenant-b')}"}
    client.post("/dashboard/webhooks", json={"url": "https://e.com"}, headers=headers)
    assert _status(client, make_token("tenant-a"))[1]["data"] == []
    assert len(_status(client, make_token("tenant-b"))[1]["data"]) == 1


def test_unknown_crit_is_401(client: TestClient) -> None:
    token = jwt.encode(
        {"sub": "t", "exp": NOW + 600}, JWT_SECRET, "HS256", headers={"crit": ["x-ext"], "x-ext": 1}
    )
    assert _status(client, token)[0] == 401


def test_a_jku_header_is_never_followed(app_factory: Any) -> None:
    private, public_pem = _rsa_pem()
    attacker, _ = _rsa_pem()
    with JwksServer({"keys": []}) as evil:
        client = app_factory(jwt_secret=None, jwt_public_key=public_pem)
        claims = {"sub": "tenant-a", "exp": NOW + 600}
        for header in ("jku", "x5u"):
            token = jwt.encode(claims, attacker, "RS256", headers={header: evil.url, "kid": "k"})
            assert _status(client, token)[0] == 401
        assert evil.hits == 0
        assert (
            _status(client, jwt.encode(claims, private, "RS256", headers={"jku": evil.url}))[0]
            == 200
        )


def test_jwks_keys_come_only_from_the_configured_url(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A refetch window longer than the test: what the 20 forged tokens may cause does
    # not depend on how fast they are sent. (It is closed below, as time would.)
    monkeypatch.setattr(JwksKeys, "REFRESH_EVERY", 3600.0)
    first, _ = _rsa_pem()
    second, _ = _rsa_pem()
    attacker, _ = _rsa_pem()
    claims = {"sub": "tenant-a", "exp": NOW + 600}
    with JwksServer(_jwks(("one", first))) as idp, JwksServer(_jwks(("evil", attacker))) as evil:
        client = app_factory(jwt_secret=None, jwks_url=idp.url)
        assert _status(client, jwt.encode(claims, first, "RS256", headers={"kid": "one"}))[0] == 200
        forged = jwt.encode(claims, attacker, "RS256", headers={"kid": "evil", "jku": evil.url})
        for _ in range(20):  # unknown kids: no refetch within REFRESH_EVERY of the last
            assert _status(client, forged)[0] == 401
        assert idp.hits == 1  # the first fetch, for "one"
        assert evil.hits == 0
        no_kid = jwt.encode(claims, first, "RS256")
        assert _status(client, no_kid)[0] == 401
        idp.document = _jwks(("one", first), ("two", second))  # the provider rotates keys
        monkeypatch.setattr(JwksKeys, "REFRESH_EVERY", 0.0)  # the window has passed
        assert (
            _status(client, jwt.encode(claims, second, "RS256", headers={"kid": "two"}))[0] == 200
        )


def _jwks(*keys: tuple[str, rsa.RSAPrivateKey]) -> dict[str, Any]:
    found = []
    for kid, private in keys:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
        found.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
    return {"keys": found}


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 that counts how often it is asked."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.hits = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                body = json.dumps(owner.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(STOP_POLL,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"

    def __enter__(self) -> "JwksServer":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("garbage", "not a well-formed JWT"),
        (make_token().rsplit(".", 1)[0], "not a well-formed JWT"),  # cut short while copying
        (make_token(exp=NOW - 120), "expired; get a new one"),
        (make_token(secret="another-secret-that-is-32-bytes-long!"), "signature does not match"),
    ],
)
def test_refusals_say_what_to_do(client: TestClient, token: str, says: str) -> None:
    assert says in _status(client, token)[1]["message"]


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        pytest.param({"exp": str(NOW + 600)}, "'exp' claim must be a number", id="exp-string"),
        pytest.param({"iat": str(NOW)}, "'iat' claim must be a number", id="iat-string"),
        pytest.param({"nbf": True}, "'nbf' claim must be a number", id="nbf-bool"),
        pytest.param({"exp": 1e308}, "longer than this server allows", id="exp-1e308"),
        pytest.param({"exp": NOW + 25 * 3600}, "longer than this server allows", id="25-hours"),
        pytest.param(
            {"iat": NOW - 3600, "exp": NOW + 24 * 3600}, "longer than", id="iat-to-exp-25-hours"
        ),
    ],
)
def test_token_times_are_numbers_and_lifetimes_are_bounded(
    client: TestClient, claims: dict[str, Any], says: str
) -> None:
    status, body = _status(client, make_token(**claims))
    assert status == 401
    assert says in body["message"]


def test_a_day_long_token_passes_and_the_maximum_can_be_lifted(app_factory: Any) -> None:
    client = app_factory()
    assert _status(client, make_token(exp=NOW + 24 * 3600))[0] == 200  # the dev banner's
    unbounded = app_factory(jwt_max_lifetime=0)
    assert _status(unbounded, make_token(exp=NOW + 365 * 86400))[0] == 200
