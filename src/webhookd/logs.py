"""Log output: readable lines for a terminal, or one JSON object per line for a collector.

`WEBHOOKD_LOG_FORMAT=json` renders every record (ours, uvicorn's, asyncpg's) as JSON
with `timestamp`, `level`, `logger` and `event` (the message), plus the fields a record
carries: each delivery attempt adds delivery_id, webhook_id, event_type, attempt,
http_status, duration_ms, outcome and error. structlog's stdlib bridge does the work.
"""

import logging
import sys
from typing import Literal

import structlog

LogFormat = Literal["text", "json"]
TEXT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _drop_terminal_colours(
    _logger: object, _name: str, record: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    record.pop("color_message", None)  # uvicorn's copy of the message with ANSI colours
    return record


def configure(level: str, form: LogFormat) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if form == "json":
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=[
                    structlog.stdlib.add_log_level,
                    structlog.stdlib.add_logger_name,
                    structlog.stdlib.ExtraAdder(),
                    _drop_terminal_colours,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                ],
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(sort_keys=False),
                ],
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
