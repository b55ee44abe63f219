"""The use cases: what webhookd does, independent of HTTP and of the database engine.

Route handlers, the CLI and the page call these; they depend on the Store (store/engine.py)
and on a Transport (the one guarded HTTP client, injected by `api/app.py`).
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from webhookd.domain import catalog, clock, endpoint, filters, ids, jsjson, network, stats, urls
from webhookd.domain.endpoint import EndpointAuth
from webhookd.domain.models import (
    Attempt,
    AuditEntry,
    Delivery,
    DeliveryDetail,
    Event,
    OldSecret,
    SendResult,
    Webhook,
)
from webhookd.errors import Blocked, Conflict, Invalid, KeyReused, NotFound
from webhookd.outbound import Target, Tokens, Transport, open_secrets, send, signed_headers
from webhookd.sealing import Sealer
from webhookd.store.base import DeliveryFilter, Published, QueueStats, WebhookChanges
from webhookd.store.engine import Store

TEST_MESSAGE = "This is a test webhook event from PacSpace."
IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000
MAX_DESCRIPTION = 500
RECOVER_WINDOW_MS = 28 * 86_400_000
RECOVER_LIMIT = 10_000
MAX_TENANT_LENGTH = 255
ORDERINGS = ("none", "fifo")
MAX_GRACE_SECONDS = 7 * 86400
MAX_RATE_LIMIT = 10_000  # deliveries a second to one endpoint
MAX_BATCH = 1000  # events in one POST /events/batch
SYSTEM = "system"  # the actor of changes not made through the API


@dataclass(frozen=True, slots=True)
class TestResult:
    success: bool
    http_status: int | None
    message: str


def delivery_body(event_type: str, timestamp_ms: int, data: Any) -> bytes:
    """`{"event", "timestamp", "data"}` as JSON.stringify writes it (see domain/jsjson)."""
    try:
        return jsjson.dumps(
            {"event": event_type, "timestamp": clock.iso(timestamp_ms), "data": data}
        )
    except jsjson.NotRepresentable as exc:
        raise Invalid(f"data cannot be delivered as JSON: {exc}") from None


def _check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(f"description must be at most {MAX_DESCRIPTION} characters")
    return description


def _check_rate_limit(rate_limit: int) -> int:
    # bool is an int: True would be a limit of 1
    if isinstance(rate_limit, bool) or not 1 <= rate_limit <= MAX_RATE_LIMIT:
        raise Invalid(f"rateLimit must be a whole number from 1 to {MAX_RATE_LIMIT}, or null")
    return rate_limit


def _fifo(ordering: str) -> bool:
    if ordering not in ORDERINGS:
        raise Invalid('ordering must be "none" or "fifo"')
    return ordering == "fifo"


def _filter_text(document: Any) -> str | None:
    """A payload filter as stored (domain/filters.py); None for none ({})."""
    try:
        return filters.check(document)
    except filters.FilterError as exc:
        raise Invalid(str(exc)) from None


def _rate_limit_change(rate_limit: int | None) -> int | None:
    """An update's rate limit as the store takes it: None keeps it, 0 removes it."""
    if rate_limit is None or (type(rate_limit) is int and rate_limit == 0):
        return rate_limit
    return _check_rate_limit(rate_limit)


def _check_headers(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    try:
        return endpoint.check_headers(headers)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


_SECRET_OF = {"basic": "password", "bearer": "token", "header": "value", "oauth2": "clientSecret"}


def _shown_auth(auth: EndpointAuth | None) -> dict[str, str] | None:
    return None if auth is None else auth.shown()


def _no_collision(headers: tuple[tuple[str, str], ...], auth: EndpointAuth | None) -> None:
    clash = endpoint.collision(headers, auth)
    if clash is not None:
        raise Invalid(f"headers: {clash} is the header auth sets; remove one of them")


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One item of a batch, as the publisher gave it."""

    tenant_id: str
    type: str
    data: Any
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Relayed:
    """What `publish_relayed` did with each item, by its index: published, or refused
    with the reason."""

    published: dict[int, Published]
    refused: dict[int, str]


class Unfit(Invalid):
    """An event that cannot be published; `field` names what is wrong with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    @property
    def named(self) -> str:
        """The message, starting with the field: `event: Unknown event type …`."""
        if self.message.startswith(self.field + " "):
            return self.message  # "tenantId must be …" names it already
        return f"{self.field}: {self.message}"


class DataMismatch(Unfit):
    """Data that breaks its event type's schema; `pointer` is where, in the data."""

    def __init__(self, event_type: str, violation: catalog.Violation) -> None:
        self.event_type = event_type
        self.violation = violation
        super().__init__("data", self.at("data", "/data"))

    def at(self, name: str, root: str) -> str:
        """The refusal, for data found at `name` (a path) and `root` (a JSON Pointer)."""
        where = root + self.violation.pointer
        return (
            f"{name} does not match the schema of event type {self.event_type!r} at "
            f"{where}: {self.violation.reason}"
        )


class Service:
    def __init__(
        self,
        store: Store,
        transport: Transport,
        event_types: Mapping[str, str],
        now: clock.Clock = clock.system_clock,
        *,
        sealer: Sealer,
        policy: network.Policy | None = None,
        max_webhooks: int | None = None,
        tokens: Tokens | None = None,
    ) -> None:
        self.store = store
        self.transport = transport
        self.tokens = tokens  # OAuth2 tokens for test sends (outbound.Tokens)
        self.event_types = catalog.Catalog.plain(event_types)
        self.now = now
        self.sealer = sealer
        self.policy = policy or network.Policy()
        self.max_webhooks = max_webhooks  # per tenant; None = no limit

    # validation ---------------------------------------------------------------------
    def _url(self, url: str, field: str = "url") -> str:
        """A URL webhookd may store: well-formed, and not a refused address by its spelling.
        (Names are resolved and checked again at every send: DNS can change.)"""
        try:
            urls.check(url)
        except ValueError as exc:
            message = str(exc)
            if field != "url" and message.startswith("url "):
                message = field + message[3:]
            raise Invalid(message) from None
        parts = urlsplit(url)
        if self.policy.require_https and parts.scheme != "https":
            raise Blocked(f"{field} must use https:// (WEBHOOKD_REQUIRE_HTTPS is on)")
        address = network.literal_address(parts.hostname or "")
        reason = None if address is None else network.blocked(address, self.policy)
        if reason is not None:
            raise Blocked(f"{field} is refused: {reason}")
        return url

    def _auth(self, spec: Mapping[str, Any]) -> EndpointAuth:
        """An `auth` as given (its shape checked by the API's schema), checked and with its
        secret sealed. The token URL passes the same checks as the endpoint's URL."""
        kind = str(spec.get("type"))
        if kind not in _SECRET_OF:
            raise Invalid(f"auth.type must be one of {', '.join(endpoint.AUTH_TYPES)}")
        fields = {key: value for key, value in spec.items() if key != "type"}
        try:
            endpoint.check_auth_fields(kind, fields)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        token_url = spec.get("tokenUrl")
        if kind == "oauth2":
            token_url = self._url(str(token_url or ""), "auth.tokenUrl")
        return EndpointAuth(
            type=kind,
            sealed=self.sealer.seal(str(spec.get(_SECRET_OF[kind]) or "")),
            username=spec.get("username"),
            name=spec.get("name"),
            client_id=spec.get("clientId"),
            token_url=token_url,
            scope=spec.get("scope") or None,
        )

    def _subscription(self, events: list[str] | None) -> tuple[str, ...]:
        try:
            return catalog.normalize_subscription(events, self.event_types)
        except ValueError as exc:
            raise Invalid(str(exc)) from None

    # webhooks -----------------------------------------------------------------------
    async def create_webhook(
        self,
        tenant_id: str,
        url: str,
        events: list[str] | None,
        description: str | None,
        *,
        rate_limit: int | None = None,
        ordering: str = "none",
        payload_filter: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: Mapping[str, Any] | None = None,
        actor: str = SYSTEM,
    ) -> tuple[Webhook, str]:
        """The new webhook and its secret: the only time the plaintext is handed out.
        `rate_limit`: deliveries a second at most, or None for no limit. `ordering`:
        "fifo" delivers one at a time, in publish order; "none" concurrently.
        `payload_filter`: a filter document (domain/filters.py) its events' data must
        match, or None. `headers` and `auth` (domain/endpoint.py): what every request to
        it carries."""
        now = self.now()
        custom = _check_headers(headers or {})
        sealed_auth = None if auth is None else self._auth(auth)
        _no_collision(custom, sealed_auth)
        secret = ids.new_secret()
        webhook = Webhook(
            id=ids.new_id(ids.WEBHOOK, now),
            tenant_id=tenant_id,
            url=self._url(url),
            events=self._subscription(events),
            description=_check_description(description or ""),
            secret=self.sealer.seal(secret),
            active=True,
            created_at=now,
            rate_limit=None if rate_limit is None else _check_rate_limit(rate_limit),
            fifo=_fifo(ordering),
            filter=None if payload_filter is None else _filter_text(payload_filter),
            headers=custom,
            auth=sealed_auth,
        )
        details: dict[str, object] = {"url": webhook.url, "events": list(webhook.events)}
        if webhook.rate_limit is not None:
            details["rateLimit"] = webhook.rate_limit
        if webhook.fifo:
            details["ordering"] = "fifo"
        if webhook.filter is not None:
            details["filter"] = orjson.loads(webhook.filter)
        if custom:  # names only: the audit log repeats no value
            details["headers"] = [name for name, _ in custom]
        if sealed_auth is not None:
            details["auth"] = sealed_auth.shown()
        audit = self._audit(tenant_id, actor, "webhook.created", webhook.id, details)
        await self.store.create_webhook(webhook, audit, limit=self.max_webhooks)
        return webhook, secret

    async def rotate_secret(
        self, tenant_id: str, webhook_id: str, grace_seconds: int, *, actor: str = SYSTEM
    ) -> tuple[Webhook, str]:
        """A new secret; the old one keeps signing for `grace_seconds` (0 = stops now)."""
        if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
            raise Invalid(f"graceSeconds must be between 0 and {MAX_GRACE_SECONDS} (7 days)")
        _check_id(webhook_id)
        secret = ids.new_secret()
        details = {"graceSeconds": grace_seconds}
        audit = self._audit(tenant_id, actor, "webhook.secret_rotated", webhook_id, details)
        webhook = await self.store.rotate_secret(
            tenant_id, webhook_id, self.sealer.seal(secret), grace_seconds * 1000, self.now(), audit
        )
        return _found(webhook, webhook_id), secret

    def secrets_of(self, sealed: str, old: tuple[OldSecret, ...], now_ms: int) -> list[str]:
        """The plaintext secrets that sign now, newest first."""
        return open_secrets(self.sealer, sealed, old, now_ms)

    async def list_webhooks(self, tenant_id: str) -> list[Webhook]:
        return await self.store.list_webhooks(tenant_id)

    async def get_webhook(self, tenant_id: str, webhook_id: str) -> Webhook:
        _check_id(webhook_id)
        return _found(await self.store.get_webhook(tenant_id, webhook_id), webhook_id)

    async def update_webhook(
        self,
        tenant_id: str,
        webhook_id: str,
        *,
        url: str | None = None,
        events: list[str] | None = None,
        description: str | None = None,
        rate_limit: int | None = None,
        ordering: str | None = None,
        payload_filter: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: Mapping[str, Any] | None = None,
        remove_auth: bool = False,
        actor: str = SYSTEM,
    ) -> Webhook:
        """Change the fields given; None keeps a field. `rate_limit` 0 removes the limit;
        `payload_filter` {} removes the filter. A change of `ordering` applies to the
        deliveries not yet attempted. `headers` replaces them all ({} removes them);
        `remove_auth` removes `auth`."""
        _check_id(webhook_id)
        custom = None if headers is None else _check_headers(headers)
        sealed_auth = None if auth is None else self._auth(auth)
        if custom is not None or sealed_auth is not None:
            current = await self.get_webhook(tenant_id, webhook_id)
            _no_collision(
                current.headers if custom is None else custom,
                None if remove_auth else sealed_auth or current.auth,
            )
        changes = WebhookChanges(
            url=None if url is None else self._url(url),
            events=None if events is None else self._subscription(events),
            description=None if description is None else _check_description(description),
            rate_limit=_rate_limit_change(rate_limit),
            fifo=None if ordering is None else _fifo(ordering),
            filter=None if payload_filter is None else (_filter_text(payload_filter) or ""),
            headers=custom,
            auth=sealed_auth,
            remove_auth=remove_auth and sealed_auth is None,
        )
        changed: dict[str, object] = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in asdict(changes).items()
            if value is not None and name in ("url", "events", "description")
        }
        if changes.rate_limit is not None:  # in the API's terms: null means none
            changed["rateLimit"] = changes.rate_limit or None
        if ordering is not None:
            changed["ordering"] = ordering
        if changes.filter is not None:
            changed["filter"] = orjson.loads(changes.filter) if changes.filter else None
        if custom is not None:  # names only: the audit log repeats no value
            changed["headers"] = [name for name, _ in custom]
        if sealed_auth is not None or changes.remove_auth:
            changed["auth"] = _shown_auth(sealed_auth)
        audit = self._audit(tenant_id, actor, "webhook.updated", webhook_id, changed)
        webhook = await self.store.update_webhook(tenant_id, webhook_id, changes, audit)
        return _found(webhook, webhook_id)

    async def toggle_webhook(
        self, tenant_id: str, webhook_id: str, *, actor: str = SYSTEM
    ) -> Webhook:
        _check_id(webhook_id)
        audit = self._audit(tenant_id, actor, "webhook.toggled", webhook_id, {})
        return _found(await self.store.toggle_webhook(tenant_id, webhook_id, audit), webhook_id)

    async def delete_webhook(self, tenant_id: str, webhook_id: str, *, actor: str = SYSTEM) -> None:
        _check_id(webhook_id)
        audit = self._audit(tenant_id, actor, "webhook.deleted", webhook_id, {})
        if not await self.store.delete_webhook(tenant_id, webhook_id, audit):
            raise _not_found(webhook_id)

    def _audit(
        self,
        tenant_id: str,
        actor: str,
        action: str,
        webhook_id: str | None,
        details: Mapping[str, object],
    ) -> AuditEntry:
        now = self.now()
        return AuditEntry(
            id=ids.new_id(ids.AUDIT, now),
            tenant_id=tenant_id,
            actor=actor,
            action=action,
            webhook_id=webhook_id,
            at=now,
            details=dict(details),
        )

    async def audit_log(self, tenant_id: str, before: str | None, limit: int) -> list[AuditEntry]:
        if before is not None and not ids.is_valid(before, ids.AUDIT):
            raise Invalid("cursor must be the nextCursor of an earlier page")
        return await self.store.list_audit(tenant_id, before, limit)

    async def test_webhook(self, tenant_id: str, webhook_id: str) -> TestResult:
        """Send the seed's test payload now, log it, and say how the endpoint answered."""
        webhook = await self.get_webhook(tenant_id, webhook_id)
        now = self.now()
        event = Event(
            id=ids.new_id(ids.EVENT, now),
            tenant_id=tenant_id,
            type=catalog.TEST_EVENT,
            body=delivery_body(catalog.TEST_EVENT, now, {"message": TEST_MESSAGE}),
            created_at=now,
        )
        delivery_id = ids.new_id(ids.DELIVERY, now)
        secrets = self.secrets_of(webhook.secret, webhook.old_secrets, now)
        signed = signed_headers(secrets, event.body, delivery_id, catalog.TEST_EVENT, now)
        target = Target(webhook.id, webhook.url, webhook.headers, webhook.auth)
        result, headers = await send(
            self.transport, self.tokens, self.sealer.open, target, event.body, signed
        )
        await self.store.record_test(webhook, event, Attempt(delivery_id, now, result, headers))
        return describe(result)

    # the delivery log ---------------------------------------------------------------
    async def list_deliveries(
        self, tenant_id: str, webhook_id: str, where: DeliveryFilter
    ) -> list[Delivery]:
        """A page of the webhook's deliveries, newest first."""
        await self.get_webhook(tenant_id, webhook_id)
        if where.before is not None and not ids.is_valid(where.before, ids.DELIVERY):
            raise Invalid("cursor must be the nextCursor of an earlier page")
        if where.event_type is not None and where.event_type not in self._loggable_types:
            raise Invalid(catalog.unknown_types_message([where.event_type]))
        return await self.store.list_deliveries(tenant_id, webhook_id, where, self.now())

    @property
    def _loggable_types(self) -> set[str]:
        return {*self.event_types, catalog.TEST_EVENT}

    async def get_delivery(
        self, tenant_id: str, webhook_id: str, delivery_id: str
    ) -> DeliveryDetail:
        await self.get_webhook(tenant_id, webhook_id)
        if not ids.is_valid(delivery_id, ids.DELIVERY):
            raise _delivery_not_found(delivery_id)
        detail = await self.store.get_delivery(tenant_id, webhook_id, delivery_id, self.now())
        if detail is None:
            raise _delivery_not_found(delivery_id)
        return detail

    async def resend(
        self, tenant_id: str, webhook_id: str, delivery_id: str, *, actor: str = SYSTEM
    ) -> Delivery:
        """Send a delivery again now, with the same id; no second retry chain starts. To
        a webhook that delivers in order, a failed or delivered one goes out of order
        (the route says so): it does not wait for the queue."""
        await self._active_webhook(tenant_id, webhook_id)
        if not ids.is_valid(delivery_id, ids.DELIVERY):
            raise _delivery_not_found(delivery_id)
        details = {"deliveryId": delivery_id}
        audit = self._audit(tenant_id, actor, "delivery.retried", webhook_id, details)
        delivery = await self.store.resend(tenant_id, webhook_id, delivery_id, self.now(), audit)
        if delivery is None:
            raise _delivery_not_found(delivery_id)
        return delivery

    async def recover(
        self,
        tenant_id: str,
        webhook_id: str,
        since_ms: int,
        until_ms: int | None,
        *,
        actor: str = SYSTEM,
    ) -> int:
        """Re-queue the failed deliveries created in [since, until); how many."""
        now = self.now()
        until = now if until_ms is None else until_ms
        if since_ms < now - RECOVER_WINDOW_MS:
            raise Invalid("since must be within the last 28 days")
        if since_ms > now:
            raise Invalid("since must not be in the future")
        if until <= since_ms:
            raise Invalid("until must be later than since")
        await self._active_webhook(tenant_id, webhook_id)
        window = {"since": clock.iso(since_ms), "until": clock.iso(until)}
        audit = self._audit(tenant_id, actor, "deliveries.recovered", webhook_id, window)
        return await self.store.recover(
            tenant_id, webhook_id, since_ms, until, now, RECOVER_LIMIT, audit
        )

    async def webhook_stats(self, tenant_id: str, webhook_id: str, window: str) -> stats.Stats:
        """The webhook's deliveries and attempt latency over `window` (24h, 7d, 30d)."""
        _check_id(webhook_id)
        try:
            span = stats.window(window, self.now())
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        found = await self.store.webhook_stats(tenant_id, webhook_id, span)
        if found is None:
            raise _not_found(webhook_id)
        return found

    async def queue_stats(self) -> QueueStats:
        return await self.store.queue_stats(self.now())

    async def _active_webhook(self, tenant_id: str, webhook_id: str) -> Webhook:
        webhook = await self.get_webhook(tenant_id, webhook_id)
        if not webhook.active:
            raise Conflict(
                f"Webhook {webhook_id} is disabled; enable it (POST …/toggle) before sending again."
            )
        return webhook

    # events -------------------------------------------------------------------------
    async def publish(
        self, tenant_id: str, event_type: str, data: Any, idempotency_key: str | None = None
    ) -> Published:
        """Store the event and one delivery per subscribed active webhook, atomically."""
        now = self.now()
        event_id = ids.new_id(ids.EVENT, now)
        event = new_event(self.event_types, event_id, tenant_id, event_type, data, now)
        return await self.store.publish(event, idempotency_key, IDEMPOTENCY_WINDOW_MS)

    async def publish_batch(self, items: Sequence[NewEvent]) -> list[Published]:
        """`publish` for each item, in order, in one transaction: all or nothing. A 400 or
        a 409 names the item at fault (`events[3].event: …`), and then nothing is stored."""
        if not 1 <= len(items) <= MAX_BATCH:
            raise Invalid(f"events must hold 1 to {MAX_BATCH} events, not {len(items)}")
        now, event_id = self.now(), ids.ascending(ids.EVENT)  # ids in the items' order
        events = []
        for index, item in enumerate(items):
            try:
                event = new_event(
                    self.event_types, event_id(now), item.tenant_id, item.type, item.data, now
                )
            except DataMismatch as exc:
                raise Invalid(exc.at(f"events[{index}].data", f"/events/{index}/data")) from None
            except Unfit as exc:
                raise Invalid(f"events[{index}].{exc.named}") from None
            events.append((event, item.idempotency_key))
        try:
            return await self.store.publish_all(events, IDEMPOTENCY_WINDOW_MS)
        except KeyReused as exc:
            raise Conflict(f"events[{exc.index}].idempotencyKey: {exc.message}") from None

    async def publish_relayed(self, items: Sequence[NewEvent]) -> Relayed:
        """`publish_batch` for the items that can be published (one transaction); the
        others are refused by index with the reason, and the rest still go. For a relay
        (outbox/relay.py), which must set a row that can never be published aside, not
        stop on it."""
        now, event_id = self.now(), ids.ascending(ids.EVENT)
        refused: dict[int, str] = {}
        events, positions = [], []
        for index, item in enumerate(items):
            try:
                event = new_event(
                    self.event_types, event_id(now), item.tenant_id, item.type, item.data, now
                )
            except Unfit as exc:
                refused[index] = exc.named
                continue
            events.append((event, item.idempotency_key))
            positions.append(index)
        while events:
            try:
                published = await self.store.publish_all(events, IDEMPOTENCY_WINDOW_MS)
            except KeyReused as exc:
                refused[positions.pop(exc.index)] = f"idempotencyKey: {exc.message}"
                del events[exc.index]
                continue
            return Relayed(dict(zip(positions, published, strict=True)), refused)
        return Relayed({}, refused)


def new_event(
    event_types: Mapping[str, str],
    event_id: str,
    tenant_id: str,
    event_type: str,
    data: Any,
    now_ms: int,
) -> Event:
    """The event as it is stored, or Unfit: one place for what a publisher may send (the
    API's routes and `webhookd emit --file`, which checks a file before sending any).
    Where the catalog has a schema for the type, the data must match it (DataMismatch)."""
    if event_type not in event_types:
        raise Unfit("event", catalog.unknown_types_message([event_type]))
    if not tenant_id or len(tenant_id) > MAX_TENANT_LENGTH:
        raise Unfit("tenantId", f"tenantId must be 1 to {MAX_TENANT_LENGTH} characters")
    try:
        body = delivery_body(event_type, now_ms, data)
    except Invalid as exc:
        raise Unfit("data", exc.message) from None
    if isinstance(event_types, catalog.Catalog):
        violation = event_types.violation(event_type, data)
        if violation is not None:
            raise DataMismatch(event_type, violation)
    # `fingerprint(event_type, data)` from the data's JSON in the body, where it comes
    # last, rather than encoding the data a second time.
    head = b'{"event":%b,"timestamp":%b,"data":' % (
        jsjson.dumps(event_type),
        jsjson.dumps(clock.iso(now_ms)),
    )
    fingerprinted = (
        _fingerprint(event_type, body[len(head) : -1])
        if body.startswith(head)
        else fingerprint(event_type, data)
    )
    return Event(
        id=event_id,
        tenant_id=tenant_id,
        type=event_type,
        body=body,
        created_at=now_ms,
        fingerprint=fingerprinted,
        data=data,
    )


def fingerprint(event_type: str, data: Any) -> str:
    """Identifies what was published, so a reused idempotency key can be checked."""
    return _fingerprint(event_type, jsjson.dumps(data))


def _fingerprint(event_type: str, data_json: bytes) -> str:
    return hashlib.sha256(event_type.encode() + b"\n" + data_json).hexdigest()


def describe(result: SendResult) -> TestResult:
    """The test route's answer for one attempt."""
    if result.ok:
        return TestResult(True, result.http_status, "Test event sent successfully.")
    if result.http_status is None:
        return TestResult(False, None, f"No answer from the endpoint: {result.error}.")
    return TestResult(
        False,
        result.http_status,
        f"The endpoint answered HTTP {result.http_status}; a 2xx status is expected.",
    )


def _not_found(webhook_id: str) -> NotFound:
    return NotFound(f"Webhook {webhook_id} not found.")


def _check_id(webhook_id: str) -> None:
    """An id webhookd could never have made is not looked up (nor echoed back)."""
    if not ids.is_valid(webhook_id, ids.WEBHOOK):
        raise NotFound("Webhook not found.")


def _delivery_not_found(delivery_id: str) -> NotFound:
    if not ids.is_valid(delivery_id, ids.DELIVERY):
        return NotFound("Delivery not found.")
    return NotFound(f"Delivery {delivery_id} not found.")


def _found(webhook: Webhook | None, webhook_id: str) -> Webhook:
    if webhook is None:
        raise _not_found(webhook_id)
    return webhook
