"""Named SQL statements, kept in `sql/<dialect>/queries.sql` under `-- name: x` headers."""

from functools import cache
from importlib import resources


@cache
def load(dialect: str) -> dict[str, str]:
    """`{name: statement}` for one dialect."""
    text = resources.files("webhookd.store").joinpath("sql", dialect, "queries.sql").read_text()
    found: dict[str, str] = {}
    name = None
    lines: list[str] = []
    for line in [*text.splitlines(), "-- name: <end>"]:
        if line.startswith("-- name:"):
            if name is not None:
                found[name] = "\n".join(lines).strip().rstrip(";")
            name, lines = line.removeprefix("-- name:").strip(), []
        elif name is not None and not line.lstrip().startswith("--"):
            lines.append(line)
    return found
