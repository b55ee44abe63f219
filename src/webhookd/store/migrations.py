"""Numbered migrations: `sql/<dialect>/NNN_name.sql`, applied in order, each once.

The store's (store/sql/) and the producer outbox's (outbox/sql/, in an application's
database) are loaded alike.

Each engine applies a file and records its version in `schema_migrations` in the
same transaction, after taking the database's write lock, so several processes
starting at once apply each migration exactly once.
"""

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load(dialect: str, package: str = "webhookd.store") -> list[Migration]:
    """Every migration of a dialect, oldest first (`package`'s `sql/<dialect>/`: the
    store's own, or `webhookd.outbox`'s for an application's database)."""
    folder = resources.files(package).joinpath("sql", dialect)
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql") and entry.name[:1].isdigit():
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda migration: migration.version)


def statements(sql: str) -> list[str]:
    """Split a migration into statements (`;` at the end of a line ends one)."""
    parts: list[str] = []
    current: list[str] = []
    for line in sql.splitlines():
        if line.strip().startswith("--") and not current:
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            parts.append("\n".join(current).strip())
            current = []
    if "\n".join(current).strip():
        parts.append("\n".join(current).strip())
    return parts
