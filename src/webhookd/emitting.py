"""`webhookd emit --file`: a JSON Lines file of events, sent to `POST /events/batch`.

Every line is checked first, by the rules the server applies (the API's schema, the
event catalog, the number rule), so a bad line stops the run before anything is sent,
naming its line number. Then the lines go out in batches of up to 1,000 events (and
`WEBHOOKD_MAX_BATCH_BYTES`), one at a time, each as written: the text of a line is
spliced into the batch, never parsed and written again.
"""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from webhookd.api.schemas import PublishEvent
from webhookd.domain import numbers
from webhookd.service import MAX_BATCH, Unfit, new_event

THROTTLED_TRIES = 10  # a 429 is waited out this many times, then the run stops


class Refused(Exception):
    """The file, or the server, refused an event: the message says which line."""


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # in the file, from 1
    text: bytes  # one event object, as written


@dataclass(frozen=True, slots=True)
class Sent:
    events: int
    deliveries: int


def read(
    lines: Iterable[bytes], event_types: Mapping[str, str], exact: bool, max_batch_bytes: int
) -> list[Line]:
    """The events of a JSON Lines file, each checked as the server will check it; blank
    lines are skipped. Refused naming the first line that would be refused."""
    events = []
    for number, raw in enumerate(lines, 1):
        text = raw.removeprefix(b"\xef\xbb\xbf") if number == 1 else raw  # a UTF-8 BOM
        text = text.strip()
        if text:
            _check(text, number, event_types, exact, max_batch_bytes)
            events.append(Line(number, text))
    if not events:
        raise Refused("the file holds no events: write one JSON object per line")
    return events


def _check(
    text: bytes, number: int, event_types: Mapping[str, str], exact: bool, max_bytes: int
) -> None:
    where = f"line {number}"
    try:
        value = json.loads(text)
    except UnicodeDecodeError:
        raise Refused(f"{where}: not UTF-8 text") from None
    except ValueError as exc:
        raise Refused(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise Refused(f"{where}: not a JSON object; write one event object per line")
    try:
        event = PublishEvent.model_validate(value)
    except ValidationError as exc:
        raise Refused(f"{where}: {_problem(exc)}") from None
    if exact and (found := numbers.inexact(text)) is not None:
        raise Refused(f"{where}: {numbers.refusal(found[0].lstrip('.'), found[1])}")
    try:
        new_event(event_types, "evt_", event.tenantId, event.event, event.data, 0)
    except Unfit as exc:
        raise Refused(f"{where}: {exc.named}") from None
    if len(text) + len(_HEAD) + len(_TAIL) > max_bytes:
        raise Refused(
            f"{where}: {len(text)} bytes, more than a batch may hold "
            f"(WEBHOOKD_MAX_BATCH_BYTES, {max_bytes} bytes)"
        )


def _problem(exc: ValidationError) -> str:
    problem = exc.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    if problem["type"] == "extra_forbidden":
        return f"unknown field '{where}'"
    return f"{where}: {problem['msg']}"


_HEAD, _TAIL = b'{"events":[', b"]}"


def batches(events: list[Line], max_bytes: int, most: int = MAX_BATCH) -> list[list[Line]]:
    """The events in order, cut into batches of at most `most` events and `max_bytes`."""
    cut: list[list[Line]] = [[]]
    size = len(_HEAD) + len(_TAIL)
    for line in events:
        grown = size + len(line.text) + (1 if cut[-1] else 0)
        if cut[-1] and (len(cut[-1]) == most or grown > max_bytes):
            cut.append([])
            grown = len(_HEAD) + len(_TAIL) + len(line.text)
        cut[-1].append(line)
        size = grown
    return cut


def body(batch: list[Line]) -> bytes:
    return _HEAD + b",".join(line.text for line in batch) + _TAIL


Post = Callable[[str, bytes, dict[str, str]], tuple[int, dict[str, str], bytes]]


def post(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """POST over urllib: the status, headers and body, whatever the status."""
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers), answer.read()


def send(
    events: list[Line],
    base: str,
    key: str,
    max_bytes: int,
    progress: Callable[[str], None],
    transport: Post = post,
    sleep: Callable[[float], None] = time.sleep,
) -> Sent:
    """Send the batches in order, one at a time; Refused at the first one the server
    refuses (none of that batch is stored), saying which lines went before it."""
    url = base.rstrip("/") + "/events/batch"
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}
    cut = batches(events, max_bytes)
    sent = deliveries = 0
    for batch in cut:
        answer = _post(transport, url, body(batch), headers, sleep, _done(events, sent))
        if answer is None or "data" not in answer:
            raise Refused(_refusal(answer, batch, events, sent))
        sent += len(batch)
        deliveries += sum(item["deliveries"] for item in answer["data"])
        if len(cut) > 1:
            progress(f"{sent}/{len(events)} events sent (line {batch[-1].number})")
    return Sent(sent, deliveries)


def _post(
    transport: Post,
    url: str,
    data: bytes,
    headers: dict[str, str],
    sleep: Callable[[float], None],
    done: str,
) -> dict[str, Any] | None:
    for _ in range(THROTTLED_TRIES):
        try:
            status, answered, text = transport(url, data, headers)
        except OSError as exc:  # refused, reset, timed out: no answer
            reason = getattr(exc, "reason", exc)
            raise Refused(then(f"no answer from {url} ({reason})", done)) from None
        try:
            envelope: dict[str, Any] = json.loads(text)
        except ValueError:
            raise Refused(
                then(f"{url} answered HTTP {status}, not webhookd's JSON", done)
            ) from None
        if status != 429:
            return envelope
        sleep(float(answered.get("Retry-After", "1")))  # nothing was stored: send it again
    return None


def _refusal(
    answer: dict[str, Any] | None, batch: list[Line], events: list[Line], sent: int
) -> str:
    done = _done(events, sent)
    if answer is None:
        return then("the server kept answering 429 Too Many Requests", done)
    message = str(answer.get("message", answer))
    if message.startswith("events["):  # events[3].event: … names an item of this batch
        index, _, rest = message.removeprefix("events[").partition("]")
        if index.isdigit() and int(index) < len(batch):
            message = f"line {batch[int(index)].number}: {rest.lstrip('.')}"
    return then(f"HTTP {answer.get('statusCode')}: {message}", done)


def _done(events: list[Line], sent: int) -> str:
    if sent == 0:
        return NOTHING_SENT
    first, last = events[0].number, events[sent - 1].number
    return f"The events of lines {first} to {last} were published, none after."


NOTHING_SENT = "Nothing was sent."


def then(message: str, more: str) -> str:
    """Two sentences: `message` (a period added if it has none), then `more`."""
    return f"{message if message.endswith('.') else message + '.'} {more}"
