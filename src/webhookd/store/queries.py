"""Named SQL statements, kept in `sql/<dialect>/queries.sql` under `-- name: x` headers."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


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


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@dataclass(frozen=True, slots=True)
class Positional:
    """A statement with `$1, $2, …` placeholders and the parameter names they stand for."""

    sql: str
    names: tuple[str, ...]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


def positional(sql: str) -> Positional:
    """Rewrite `:name` parameters as `$n` (the same name gets the same number)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match[1]
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return Positional(_NAMED.sub(number, sql), tuple(names))
