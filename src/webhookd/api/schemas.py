"""Request bodies. Strict: wrong types and unknown fields are 400s, never coerced."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class CreateWebhook(_Strict):
    url: str = Field(examples=["https://your-app.com/webhooks/pacspace"])
    events: list[str] | None = Field(
        None,
        examples=[["verification.completed", "verification.failed"]],
        description='Event types to receive; omitted or ["*"] means all.',
    )
    description: str | None = Field(None, examples=["Production webhook"])


class UpdateWebhook(_Strict):
    url: str | None = None
    events: list[str] | None = None
    description: str | None = None


class PublishEvent(_Strict):
    tenantId: str = Field(min_length=1, max_length=255, examples=["tenant_42"])
    event: str = Field(examples=["verification.completed"])
    data: dict[str, Any] = Field(default_factory=dict, examples=[{"recordId": "rec_123"}])
    idempotencyKey: str | None = Field(None, min_length=1, max_length=255)


class Recover(_Strict):
    since: str = Field(examples=["2025-06-01T00:00:00.000Z"])
    until: str | None = Field(None, examples=["2025-06-02T00:00:00.000Z"])
