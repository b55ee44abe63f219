"""What a webhook URL must look like before webhookd will store it."""

from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


def check(url: str) -> None:
    """Raise ValueError, saying what is wrong, unless `url` is an absolute http(s) URL."""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"url must be at most {MAX_URL_LENGTH} characters")
    if not url.isascii() or not url.isprintable() or any(ch.isspace() for ch in url):
        raise ValueError(
            "url must be ASCII without spaces or control characters; "
            "percent-encode other characters and write international domains in punycode"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"url is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("url must be an absolute http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("url must name a host, as in https://your-app.com/webhooks")
    if port == 0:
        raise ValueError("url must not use port 0")
    if parts.fragment:
        raise ValueError("url must not contain a #fragment (it is never sent to the server)")
