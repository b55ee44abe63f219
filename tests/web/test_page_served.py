"""The page's HTTP side: where it lives, what it may load, and that it stays out of the API."""

import re

from fastapi.testclient import TestClient

from webhookd.web.pages import CONTENT_SECURITY_POLICY


def test_root_redirects_to_the_page(client: TestClient) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["location"] == "ui"  # relative: a #token= fragment survives it
    assert client.get("/").url.path == "/ui"


def test_page_and_assets_carry_a_strict_content_security_policy(client: TestClient) -> None:
    for path, kind in [
        ("/ui", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
    ]:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith(kind)
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
    policy = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_page_has_no_inline_script_and_no_inline_handlers(client: TestClient) -> None:
    html = client.get("/ui").text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    assert scripts, "the page loads its module"
    assert all(body.strip() == "" for body in scripts)
    assert re.search(r"<script[^>]*\bsrc=\"ui/app\.js\"", html)
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert "style=" not in html
    script = client.get("/ui/app.js").text
    assert "innerHTML" not in script
    assert "eval(" not in script


def test_page_needs_no_token_and_is_not_an_api_operation(client: TestClient) -> None:
    assert client.get("/ui?utm_source=mail").status_code == 200  # links may carry queries
    assert client.get("/ui/nothing.js").status_code == 404
    operations = client.get("/openapi.json").json()["paths"]
    assert "/dashboard/webhooks" in operations
    assert not [path for path in operations if path == "/" or path.startswith("/ui")]
