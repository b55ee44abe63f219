"""What the sync and async clients share, free of I/O: the one exception type, the
retry policy, what a call is, and how an answer becomes a value or an error."""

import math
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx2

from webhookd import __version__
from webhookd.client._types import NewEvent

# Connect within 5 s; everything else within 30 s: a test send (`…/test`) waits for the
# endpoint's answer, which the server bounds at WEBHOOKD_DELIVERY_TIMEOUT (15 s).
DEFAULT_TIMEOUT = httpx2.Timeout(30.0, connect=5.0)
USER_AGENT = f"webhookd-client/{__version__}"
# Answers that say "nothing was done, come back": retried for idempotent calls.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
AUTO_KEY_PREFIX = "auto_"


class WebhookdAPIError(Exception):
    """Every failure of a call: an error answer, or no answer at all.

    - `status_code` (also `statusCode`): the HTTP status; **0 when no answer came**
      (connection refused or reset, DNS failure, timeout).
    - `message`: the server's own message from its error envelope (what is wrong and
      what to do), or what went wrong on the way.
    - `error`: the envelope's reason phrase (`"Not Found"`); for no answer, the kind of
      failure (`"ConnectError"`, `"ReadTimeout"`, …).
    - `retry_after`: seconds from the answer's `Retry-After`, if it had one.
    - `attempts`: how many requests the call made (more than 1 when it was retried).
    - `body`: the parsed error body (or its text, if not JSON); None for no answer.
    """

    def __init__(
        self,
        status_code: int,
        message: str,
        error: str,
        *,
        method: str = "",
        url: str = "",
        retry_after: float | None = None,
        body: Any = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(status_code, message, error)
        self.status_code = status_code
        self.message = message
        self.error = error
        self.method = method
        self.url = url
        self.retry_after = retry_after
        self.body = body
        self.attempts = attempts

    @property
    def statusCode(self) -> int:  # the envelope's own name
        return self.status_code

    @property
    def answered(self) -> bool:
        """Whether the server answered at all (`status_code` is not 0)."""
        return self.status_code != 0

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method else ""
        if not self.answered:
            return f"{self.error}: {self.message}{where}"
        return f"HTTP {self.status_code} {self.error}: {self.message}{where}"

    def __repr__(self) -> str:
        return (
            f"WebhookdAPIError(status_code={self.status_code!r}, message={self.message!r}, "
            f"error={self.error!r})"
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long a call waits before sending again.

    Only idempotent calls are retried (reads, PATCH, DELETE, and publishes whose every
    event has an idempotency key), on no answer and on 429/502/503/504, up to
    `max_retries` times. The wait is the answer's `Retry-After` when it gives one;
    otherwise `backoff * 2**n` seconds (at most `max_backoff`), of which a random half
    to all is waited (jitter), so clients that failed together do not return together.
    A `Retry-After` longer than `max_retry_after` is not waited out: the error is
    raised at once, with `retry_after` set, for the caller to schedule.
    `RetryPolicy(max_retries=0)` never retries.
    """

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    jitter: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def delay(self, retry: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number `retry` (from 1), or None for "do not
        retry": the retries are spent, or the server asks for too long a wait."""
        if retry > self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        full = min(self.max_backoff, self.backoff * 2.0 ** (retry - 1))
        return full * (0.5 + self.jitter() / 2)


@dataclass(frozen=True, slots=True)
class Call:
    """One API call: what to send, and whether sending it twice is harmless."""

    method: str
    path: str
    json: Any = None
    params: Mapping[str, str | int] | None = None
    idempotent: bool = False


def path(template: str, *ids: str) -> str:
    """`template` with each `{}` replaced by an id, escaped so it stays one path segment."""
    return template.format(*(quote(i, safe="") for i in ids))


def params(**given: str | int | None) -> dict[str, str | int]:
    return {name: value for name, value in given.items() if value is not None}


def publish_call(event: NewEvent, auto_key: bool) -> Call:
    body = _with_key(event, auto_key)
    return Call("POST", "/events", body, idempotent="idempotencyKey" in body)


def batch_call(events: Sequence[NewEvent], auto_key: bool) -> Call:
    items = [_with_key(e, auto_key) for e in events]
    every = bool(items) and all("idempotencyKey" in e for e in items)
    return Call("POST", "/events/batch", {"events": items}, idempotent=every)


def _with_key(event: NewEvent, auto_key: bool) -> dict[str, Any]:
    body: dict[str, Any] = dict(event)
    if body.get("idempotencyKey") is None:
        body.pop("idempotencyKey", None)
        if auto_key:
            body["idempotencyKey"] = AUTO_KEY_PREFIX + uuid.uuid4().hex
    return body


def new_event(
    tenant_id: str, event: str, data: Mapping[str, Any] | None, key: str | None
) -> NewEvent:
    item: NewEvent = {"tenantId": tenant_id, "event": event, "data": dict(data or {})}
    if key is not None:
        item["idempotencyKey"] = key
    return item


def iso(moment: str | datetime) -> str:
    """A time as the API takes it: a string is sent as it is; a datetime must be aware,
    and is written in UTC with milliseconds and `Z`."""
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        raise ValueError("a datetime for the API must be timezone-aware (tzinfo=UTC)")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def answer(call: Call, response: httpx2.Response, attempts: int) -> Any:
    """The success envelope's parsed body, or WebhookdAPIError for anything else."""
    if response.is_success:
        try:
            return response.json()
        except ValueError:
            raise _error(call, response, attempts, "the answer is not JSON") from None
    raise _error(call, response, attempts)


def _error(
    call: Call, response: httpx2.Response, attempts: int, problem: str | None = None
) -> WebhookdAPIError:
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    envelope = body if isinstance(body, dict) else {}
    message = problem or envelope.get("message")
    if not isinstance(message, str):
        excerpt = body[:200] if isinstance(body, str) else ""
        message = f"HTTP {status}, not webhookd's error envelope" + (
            f": {excerpt}" if excerpt else ""
        )
    reason = envelope.get("error")
    if not isinstance(reason, str):
        reason = _phrase(status)
    return WebhookdAPIError(
        status,
        message,
        reason,
        method=call.method,
        url=str(response.request.url),
        retry_after=retry_after(response.headers.get("retry-after")),
        body=body,
        attempts=attempts,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status"


def no_answer(call: Call, url: str, exc: httpx2.TransportError, attempts: int) -> WebhookdAPIError:
    reason = str(exc) or "no details"
    return WebhookdAPIError(
        0,
        f"No answer from the server: {reason}",
        type(exc).__name__,
        method=call.method,
        url=url,
        attempts=attempts,
    )


# What a call may retry after when it got no answer. A bad URL or proxy setting, also
# a TransportError, fails the same way every time.
RETRYABLE_FAILURES = (httpx2.NetworkError, httpx2.TimeoutException, httpx2.RemoteProtocolError)


def worth_retrying(call: Call, failure: WebhookdAPIError | httpx2.TransportError) -> bool:
    if not call.idempotent:
        return False
    if isinstance(failure, WebhookdAPIError):
        return failure.status_code in RETRY_STATUSES
    return isinstance(failure, RETRYABLE_FAILURES)


def retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds: delay-seconds or an HTTP date; None if absent or bad."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - time.time()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def base_headers(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {"User-Agent": USER_AGENT, "Accept": "application/json", **(extra or {})}
