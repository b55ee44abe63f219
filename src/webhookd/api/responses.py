"""The seed's envelope, and the one mapping of errors to HTTP answers.

Success: `{"statusCode": N, "data": ...}` (or `"message"` for a delete).
Failure: `{"statusCode": N, "message": "...", "error": "<reason phrase>"}`.
"""

import logging
import secrets
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from webhookd import errors

log = logging.getLogger("webhookd.api")

STATUS_OF: dict[type[errors.WebhookdError], int] = {
    errors.Invalid: 400,
    errors.Blocked: 400,
    errors.Unauthenticated: 401,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unavailable: 503,
}


class Json(JSONResponse):
    """Starlette's JSONResponse, written by orjson: the same compact UTF-8 text for the
    envelope's types, at a fraction of the stdlib encoder's cost per request."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # orjson.JSONEncodeError: a type or size it does not write
            return super().render(content)


def ok(status: int, data: Any) -> JSONResponse:
    return Json({"statusCode": status, "data": data}, status_code=status)


_SLOT = f"raw-json-{secrets.token_hex(16)}"  # unguessable: input can never contain it


def ok_with_raw(status: int, data: dict[str, Any], key: str, raw: bytes) -> Response:
    """`ok(status, data)` with `data[key]` = `raw`, JSON text webhookd itself wrote (a
    delivery body), spliced in as it is stored. Parsing it again could only fail where
    the writer did not: a lone surrogate escape (`"\\ud800"`) or an integer past 64
    bits are valid JSON that Python's parsers refuse or cannot write back as UTF-8."""
    body = bytes(ok(status, {**data, key: _SLOT}).body)
    quoted = f'"{_SLOT}"'.encode()
    return Response(body.replace(quoted, raw, 1), status, media_type="application/json")


def message(status: int, text: str) -> JSONResponse:
    return Json({"statusCode": status, "message": text}, status_code=status)


def error_body(status: int, text: str) -> dict[str, Any]:
    # Messages may quote input: make sure whatever was quoted can be written as JSON.
    safe = text.encode("utf-8", "replace").decode("utf-8")
    return {"statusCode": status, "message": safe, "error": HTTPStatus(status).phrase}


def error(status: int, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return Json(error_body(status, text), status_code=status, headers=headers)


_SOURCES = ("body", "query", "path", "header")
FASTAPI_PARSE_ERROR = "There was an error parsing the body"


def _path(parts: Sequence[int | str]) -> str:
    """A field's JSON path as a message names it: `events[3].event`."""
    return "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts
    ).removeprefix(".")


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for problem in exc.errors()[:3]:
        loc = problem.get("loc", ())
        where = _path(loc[1:]) if loc and loc[0] in _SOURCES else ""
        kind = problem.get("type", "")
        if kind == "json_invalid":
            reason = problem.get("ctx", {}).get("error", "")
            return (
                f"Request body is not valid JSON ({reason})."
                if reason
                else ("Request body is not valid JSON.")
            )
        if not where and isinstance(problem.get("input"), bytes):
            return "Send the body as JSON, with the header 'Content-Type: application/json'."
        if kind == "missing" and not where:
            return "Request body is required: send a JSON object."
        if kind == "extra_forbidden":
            problems.append(f"Unknown field '{where}'")
        elif not where:
            problems.append("Request body must be a JSON object")
        else:
            problems.append(f"{where}: {problem.get('msg', 'is invalid')}")
    return "; ".join(problems) + "."


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the envelope."""

    async def on_webhookd_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.WebhookdError)
        status = next(code for kind, code in STATUS_OF.items() if isinstance(exc, kind))
        headers = {"Retry-After": "5"} if status == 503 else None
        return error(status, exc.message, headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error(400, _validation_message(exc))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        text = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if text == FASTAPI_PARSE_ERROR:
            text = (
                "Request body could not be parsed as JSON: it must be UTF-8, with numbers of "
                "at most 4300 digits and nesting of at most 512 levels"
            )
        return error(exc.status_code, f"{text}.".replace("..", "."), dict(exc.headers or {}))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error(500, "Internal server error; the server log has the details.")

    app.add_exception_handler(errors.WebhookdError, on_webhookd_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["statusCode", "message", "error"],
    "properties": {
        "statusCode": {"type": "integer"},
        "message": {"type": "string", "description": "What went wrong and what to do next."},
        "error": {"type": "string", "description": "The HTTP reason phrase."},
    },
}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Errors are answered in the envelope (components/schemas/Error); FastAPI's default
    422 never happens. Which codes each route documents is examples.errors_for's."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.setdefault("responses", {}).pop("422", None)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Error"] = ERROR_SCHEMA
    return schema
