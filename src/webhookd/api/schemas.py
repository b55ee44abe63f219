"""Request bodies. Strict: wrong types and unknown fields are 400s, never coerced."""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


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


class CreateWebhook(_Strict):
    url: Text = Field(examples=["https://your-app.com/webhooks/pacspace"])
    events: list[Text] | None = Field(
        None,
        examples=[["verification.completed", "verification.failed"]],
        description='Event types to receive; omitted or ["*"] means all.',
    )
    description: Text | None = Field(None, examples=["Production webhook"])


class UpdateWebhook(_Strict):
    url: Text | None = None
    events: list[Text] | None = None
    description: Text | None = None


class PublishEvent(_Strict):
    tenantId: Text = Field(min_length=1, max_length=255, examples=["tenant_42"])
    event: Text = Field(examples=["verification.completed"])
    data: dict[str, Any] = Field(default_factory=dict, examples=[{"recordId": "rec_123"}])
    idempotencyKey: Text | None = Field(None, min_length=1, max_length=255)


class Recover(_Strict):
    since: Text = Field(examples=["2025-06-01T00:00:00.000Z"])
    until: Text | None = Field(None, examples=["2025-06-02T00:00:00.000Z"])


class RotateSecret(_Strict):
    graceSeconds: int | None = Field(
        None, ge=0, le=7 * 86400, examples=[86400],
        description="How long the old secret keeps signing too (default 24 h; 0 = stop now).",
    )  # fmt: skip
