"""Store URLs: which engine holds the data and where."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from supportpulse.errors import StoreURLError

STORE_ENV = "SUPPORTPULSE_STORE"
DEFAULT_PATH = "supportpulse.duckdb"

Engine = Literal["duckdb", "postgresql"]


@dataclass(frozen=True)
class StoreURL:
    """A parsed store location; `target` is a file path or a libpq URL."""

    engine: Engine
    target: str

    def redacted(self) -> str:
        """The location with any password removed, safe to log or print."""
        if self.engine == "duckdb":
            return self.target
        scheme, _, rest = self.target.partition("://")
        # The password may hold '/', '#', '?' or '@' unencoded, so split the
        # user part at the last '@' before anything else is parsed.
        userinfo, at, hostpart = rest.rpartition("@")
        user = userinfo.partition(":")[0] if at else ""
        host = hostpart.split("?")[0]
        return f"{scheme}://{user + '@' if user else ''}{host}"

    @property
    def password(self) -> str | None:
        """The password in a PostgreSQL URL, so messages can mask it."""
        if self.engine == "duckdb":
            return None
        userinfo, at, _ = self.target.partition("://")[2].rpartition("@")
        secret = userinfo.partition(":")[2] if at else ""
        return secret or None


def resolve_store_url(value: str | None, configured: str | None = None) -> StoreURL:
    """Pick the store from the option, then the environment, then config, then default."""
    if value is not None and not value.strip():
        raise StoreURLError("--store is empty; pass a file path or postgresql://...")
    chosen = value or os.environ.get(STORE_ENV) or configured or DEFAULT_PATH
    return parse_store_url(chosen)


def parse_store_url(value: str) -> StoreURL:
    """Parse a path, `duckdb:///path` or `postgresql://...` into a StoreURL."""
    text = value.strip()
    if not text:
        raise StoreURLError("store URL is empty; pass a file path or postgresql://...")

    scheme, sep, rest = text.partition("://")
    if not sep:
        return StoreURL("duckdb", str(Path(text).expanduser()))

    scheme = scheme.lower()
    if scheme == "duckdb":
        # duckdb:///abs/path and duckdb:////abs/path both mean /abs/path;
        # duckdb://name.duckdb is relative to the working directory.
        path = "/" + rest.lstrip("/") if rest.startswith("/") else rest
        if path.strip("/") == ":memory:":
            path = ":memory:"
        if not path.strip("/"):
            raise StoreURLError(
                f"store URL '{value}' has no file path; use duckdb:///path"
            )
        return StoreURL("duckdb", path)
    if scheme in ("postgresql", "postgres"):
        return StoreURL("postgresql", "postgresql://" + rest)

    raise StoreURLError(
        f"store URL scheme '{scheme}' is not supported; "
        "use a file path, duckdb:///path or postgresql://user@host/db"
    )
