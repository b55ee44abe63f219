"""What a webhook adds to each request it receives: custom headers and authentication.
Pure: checks what a customer may set, and renders it into headers; the secret of an
`auth` is passed in opened (sealing is `sealing.py`'s, at the edges).

- `headers`: up to MAX_HEADERS names → values, at most MAX_HEADER_BYTES in all, as HTTP
  allows them (a name is a token; a value has no control characters, so no CR or LF).
  Names webhookd sets itself, or that would change what the request means, are refused
  (`RESERVED`, and every `X-PacSpace-*` and `webhook-*`).
- `auth`: basic, bearer, a header of the customer's choosing, or an OAuth2
  client-credentials grant. Its one secret (password, token, header value, client
  secret) is sealed at rest and never shown; the delivery log shows `[redacted]`.
- OAuth2 tokens are kept until shortly before they expire, at most `MAX_TOKEN_S`.
"""

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

MAX_HEADERS = 20
MAX_HEADER_BYTES = 8 * 1024  # names, values, ": " and CRLF of all custom headers
MAX_SECRET = 4096
MAX_NAME = 255
REDACTED = "[redacted]"
RESERVED = frozenset(
    name.lower()
    for name in (
        "Host",
        "Content-Type",
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "User-Agent",
        "Authorization",
        # also set by webhookd, or hop-by-hop: they would change the request's meaning
        "Accept-Encoding",
        "Content-Encoding",
        "Expect",
        "Keep-Alive",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Upgrade",
    )
)
RESERVED_PREFIXES = ("x-pacspace-", "webhook-")
AUTH_TYPES = ("basic", "bearer", "header", "oauth2")
MAX_TOKEN_S = 3600  # an OAuth2 token is kept an hour at most
EARLY_S = 60  # and refreshed this long before it expires (half its life if shorter)

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 field name
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # every control character but HTAB


@dataclass(frozen=True, slots=True)
class EndpointAuth:
    """A webhook's `auth` as stored: what may be shown, and its one secret, sealed."""

    type: str  # one of AUTH_TYPES
    sealed: str  # the password, token, header value or client secret, sealed
    username: str | None = None  # basic
    name: str | None = None  # header: its name
    client_id: str | None = None  # oauth2
    token_url: str | None = None  # oauth2
    scope: str | None = None  # oauth2, optional

    def shown(self) -> dict[str, str]:
        """What a response shows: never the secret."""
        fields = {
            "type": self.type,
            "username": self.username,
            "name": self.name,
            "clientId": self.client_id,
            "tokenUrl": self.token_url,
        }
        return {key: value for key, value in fields.items() if value is not None}


def is_reserved(name: str) -> bool:
    lower = name.lower()
    return lower in RESERVED or lower.startswith(RESERVED_PREFIXES)


def check_name(name: str, where: str) -> None:
    if not _TOKEN.match(name) or len(name) > MAX_NAME:
        raise ValueError(
            f"{where}: {name[:80]!r} is not a header name (letters, digits and "
            f"!#$%&'*+-.^_`|~, at most {MAX_NAME})"
        )


def has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def check_value(value: str, where: str, *, limit: int = MAX_HEADER_BYTES) -> None:
    if _CONTROL.search(value):
        raise ValueError(f"{where} must not contain CR, LF or other control characters")
    if len(value.encode()) > limit:
        raise ValueError(f"{where} must be at most {limit} bytes")


def check_headers(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The custom headers as stored (in the order given), or ValueError saying what is wrong."""
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"headers: at most {MAX_HEADERS} headers, not {len(headers)}")
    reserved = [name for name in headers if is_reserved(name)]
    if reserved:
        raise ValueError(
            f"headers: {', '.join(reserved)} cannot be set here: webhookd sets "
            f"{'it' if len(reserved) == 1 else 'them'} (Host, Content-Type, Content-Length, "
            "Transfer-Encoding, Connection, User-Agent, X-PacSpace-*, webhook-* and hop-by-hop "
            "headers); use `auth` for Authorization"
        )
    seen: set[str] = set()
    size = 0
    for name, value in headers.items():
        check_name(name, "headers")
        if name.lower() in seen:
            raise ValueError(f"headers: {name} is given twice (names are case-insensitive)")
        seen.add(name.lower())
        check_value(value, f"headers.{name}")
        size += len(name.encode()) + len(value.encode()) + 4
    if size > MAX_HEADER_BYTES:
        raise ValueError(f"headers: at most {MAX_HEADER_BYTES} bytes in all, not {size}")
    return tuple(headers.items())


def check_auth_fields(kind: str, fields: Mapping[str, str | None]) -> None:
    """The parts of an `auth` that are not URLs: lengths and characters."""
    for key, value in fields.items():
        if value is None:
            continue
        limit = MAX_SECRET if key in ("password", "token", "value", "clientSecret") else 1024
        check_value(value, f"auth.{key}", limit=limit)
    if kind == "basic" and ":" in (fields.get("username") or ""):
        raise ValueError("auth.username must not contain ':' (HTTP Basic cannot carry it)")
    if kind == "header":
        name = fields.get("name") or ""
        check_name(name, "auth.name")
        if is_reserved(name) and name.lower() != "authorization":
            raise ValueError(f"auth.name: {name} cannot be set here: webhookd sets it")
    for key in ("username", "clientId", "token", "value", "clientSecret"):
        if key in fields and not fields[key]:
            raise ValueError(f"auth.{key} must not be empty")


def collision(headers: tuple[tuple[str, str], ...], auth: EndpointAuth | None) -> str | None:
    """The custom header that `auth` would overwrite, if any."""
    if auth is None or auth.type != "header" or auth.name is None:
        return None
    for name, _ in headers:
        if name.lower() == auth.name.lower():
            return name
    return None


def auth_header(auth: EndpointAuth, secret: str, token: str | None = None) -> tuple[str, str]:
    """The header `auth` puts on a request, given its opened secret (and, for oauth2, the
    access token)."""
    if auth.type == "basic":
        pair = f"{auth.username}:{secret}".encode()
        return "Authorization", "Basic " + base64.b64encode(pair).decode()
    if auth.type == "bearer":
        return "Authorization", f"Bearer {secret}"
    if auth.type == "header":
        return auth.name or "", secret
    return "Authorization", f"Bearer {token}"


def redacted(name: str, value: str) -> str:
    """How the delivery log shows an auth header: the scheme, never the credential."""
    if name.lower() == "authorization" and " " in value:
        return f"{value.split(' ', 1)[0]} {REDACTED}"
    return REDACTED


def client_credentials(auth: EndpointAuth, secret: str) -> tuple[bytes, dict[str, str]]:
    """The token request's body and headers (RFC 6749 4.4, client_secret_basic)."""
    form = "grant_type=client_credentials"
    if auth.scope:
        form += "&scope=" + quote(auth.scope, safe="")
    pair = f"{quote(auth.client_id or '', safe='')}:{quote(secret, safe='')}".encode()
    return form.encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "Authorization": "Basic " + base64.b64encode(pair).decode(),
    }


def token_kept_until(now_ms: int, expires_in: object) -> int:
    """Until when a token answered with `expires_in` (seconds) is used: at most an hour,
    refreshed a minute before it expires (half its life, if it lives under 2 minutes).
    Without `expires_in`, an hour (a 401 drops it sooner)."""
    life = float(MAX_TOKEN_S)
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        life = min(float(expires_in), MAX_TOKEN_S)
    early = min(EARLY_S, life / 2)
    return now_ms + round((life - early) * 1000)


def bypasses_proxy(host: str, no_proxy: tuple[str, ...]) -> bool:
    """`WEBHOOKD_NO_PROXY`: `*`, a host, or a suffix (`.example.com` or `example.com` both
    match example.com and every name under it). Case-insensitive."""
    host = host.lower().rstrip(".").strip("[]")
    for entry in no_proxy:
        if entry == "*":
            return True
        bare = entry.lstrip(".")
        if host == bare or host.endswith("." + bare):
            return True
    return False


def parse_no_proxy(spec: str) -> tuple[str, ...]:
    return tuple(
        part.strip().lower().rstrip(".").strip("[]") for part in spec.split(",") if part.strip()
    )
