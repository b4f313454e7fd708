"""Versioned schema migrations: `NNNN_name.sql`, applied in order, once each."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Migration:
    """One schema step; `statements` are ready for the given dialect."""

    version: int
    name: str
    statements: tuple[str, ...]


_JSON_TYPE = {"duckdb": "JSON", "postgresql": "JSONB"}


def load_migrations(dialect: str) -> list[Migration]:
    """Every migration shipped with the package, oldest first."""
    found = []
    for entry in resources.files(__package__).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        stem = entry.name.removesuffix(".sql")
        number, _, name = stem.partition("_")
        text = entry.read_text(encoding="utf-8").replace("{json}", _JSON_TYPE[dialect])
        statements = _for_dialect(_split_statements(text), dialect)
        found.append(Migration(int(number), name, statements))
    return sorted(found, key=lambda migration: migration.version)


def _split_statements(text: str) -> tuple[str, ...]:
    # Migrations hold plain DDL with no semicolons inside statements.
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return tuple(part.strip() for part in "\n".join(lines).split(";") if part.strip())


def _for_dialect(statements: tuple[str, ...], dialect: str) -> tuple[str, ...]:
    # A statement starting with {dialect} runs on that engine alone.
    kept = []
    for statement in statements:
        marked, _, rest = statement.partition("} ")
        if statement.startswith("{") and marked[1:] in _JSON_TYPE:
            if marked[1:] == dialect:
                kept.append(rest)
        else:
            kept.append(statement)
    return tuple(kept)
