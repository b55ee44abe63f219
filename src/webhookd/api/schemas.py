"""Request bodies. Strict: wrong types and unknown fields are 400s, never coerced."""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from webhookd.domain.endpoint import MAX_HEADERS
from webhookd.service import MAX_BATCH, MAX_RATE_LIMIT


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no unpaired surrogates)") from None
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\u0000)")
    return value


Text = Annotated[str, AfterValidator(_encodable)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


RateLimit = Annotated[int, Field(ge=1, le=MAX_RATE_LIMIT)]
RATE_LIMIT = (
    f"Deliveries per second to this endpoint at most (1 to {MAX_RATE_LIMIT}), across all "
    "workers; null for none. Deliveries over the rate wait; they never fail for it."
)


ORDERING = (
    '"fifo": deliveries go one at a time, in the order their events were published (a '
    'failed one holds the ones behind it until it is delivered or fails for good); "none" '
    "(the default): concurrently, in no particular order."
)
Ordering = Literal["none", "fifo"]
FILTER = (
    "Only events whose data matches this filter are delivered (checked at publish time: "
    "an event that does not match creates no delivery). Keys are field paths with dots; "
    "a plain value means $eq; operators: $eq, $ne, $in, $nin, $gt, $gte, $lt, $lte, "
    "$exists, $not; combine with $and, $or, $not. null or {}: every event."
)
FILTER_EXAMPLE = {"amount": {"$gte": 100}, "currency": {"$in": ["EUR", "USD"]}}


HEADERS = (
    f"Custom headers sent with every delivery and test send: up to {MAX_HEADERS} names to "
    "values, 8 KiB in all, no CR/LF. Refused (400, naming them): Host, Content-Type, "
    "Content-Length, Transfer-Encoding, Connection, User-Agent, Authorization (use `auth`), "
    "X-PacSpace-*, webhook-* and hop-by-hop headers."
)
Headers = Annotated[
    dict[Text, Text],
    Field(
        max_length=MAX_HEADERS,
        description=HEADERS,
        examples=[{"X-Customer-Id": "cus_42", "X-Env": "production"}],
    ),
]
Secret = Annotated[Text, Field(min_length=1, max_length=4096)]
Short = Annotated[Text, Field(min_length=1, max_length=1024)]


class BasicAuth(_Strict):
    """HTTP Basic: `Authorization: Basic base64(username:password)`."""

    type: Literal["basic"]
    username: Short
    password: Annotated[Text, Field(max_length=4096)]


class BearerAuth(_Strict):
    """`Authorization: Bearer <token>`."""

    type: Literal["bearer"]
    token: Secret


class HeaderAuth(_Strict):
    """A header of your choosing, such as `X-Api-Key: <value>`."""

    type: Literal["header"]
    name: Annotated[Text, Field(min_length=1, max_length=255, examples=["X-Api-Key"])]
    value: Secret


class OAuth2Auth(_Strict):
    """OAuth2 client credentials: webhookd asks `tokenUrl` for a token (client_secret_basic),
    keeps it until shortly before it expires (an hour at most), and sends it as a Bearer
    token; fetched anew once when the endpoint answers 401."""

    type: Literal["oauth2"]
    tokenUrl: Annotated[Text, Field(examples=["https://auth.your-app.com/oauth/token"])]
    clientId: Short
    clientSecret: Secret
    scope: Short | None = None


Auth = Annotated[
    BasicAuth | BearerAuth | HeaderAuth | OAuth2Auth,
    Field(
        discriminator="type",
        description=(
            "How each request authenticates to the endpoint; null for none. Its secret "
            "(password, token, value, clientSecret) is sealed at rest and never shown again: "
            "responses show only type, username, name, clientId and tokenUrl."
        ),
    ),
]


class CreateWebhook(_Strict):
    url: Text = Field(examples=["https://your-app.com/webhooks/pacspace"])
    events: list[Text] | None = Field(
        None,
        examples=[["verification.completed", "verification.failed"]],
        description='Event types to receive; omitted or ["*"] means all.',
    )
    description: Text | None = Field(None, examples=["Production webhook"])
    rateLimit: RateLimit | None = Field(None, examples=[50], description=RATE_LIMIT)
    ordering: Ordering = Field("none", examples=["fifo"], description=ORDERING)
    filter: dict[str, Any] | None = Field(None, examples=[FILTER_EXAMPLE], description=FILTER)
    headers: Headers | None = None
    auth: Auth | None = None


class UpdateWebhook(_Strict):
    url: Text | None = None
    events: list[Text] | None = None
    description: Text | None = None
    rateLimit: RateLimit | None = Field(
        None, examples=[50], description=RATE_LIMIT + " Left out, the limit is kept."
    )
    ordering: Ordering | None = Field(
        None,
        examples=["fifo"],
        description=ORDERING + " A change applies to deliveries not yet attempted.",
    )
    filter: dict[str, Any] | None = Field(
        None,
        examples=[FILTER_EXAMPLE],
        description=FILTER + " Left out, the filter is kept; null removes it.",
    )
    headers: Headers | None = Field(
        None, description=HEADERS + " Replaces them all; {} or null removes them; left out, kept."
    )
    auth: Auth | None = Field(None, description="A new auth; null removes it; left out, kept.")


class PublishEvent(_Strict):
    tenantId: Text = Field(min_length=1, max_length=255, examples=["tenant_42"])
    event: Text = Field(examples=["verification.completed"])
    data: dict[str, Any] = Field(default_factory=dict, examples=[{"recordId": "rec_123"}])
    idempotencyKey: Text | None = Field(None, min_length=1, max_length=255)


class PublishBatch(_Strict):
    events: list[PublishEvent] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH} events, published in this order, all or none.",
    )


class Recover(_Strict):
    since: Text = Field(examples=["2025-06-01T00:00:00.000Z"])
    until: Text | None = Field(None, examples=["2025-06-02T00:00:00.000Z"])


class RotateSecret(_Strict):
    graceSeconds: int | None = Field(
        None,
        ge=0,
        le=7 * 86400,
        examples=[86400],
        description="How long the old secret keeps signing too (default 24 h; 0 = stop now).",
    )
