"""Where tickets and messages live: an embedded DuckDB file or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from supportpulse.errors import StoreError
from supportpulse.store.base import Store
from supportpulse.store.url import StoreURL, parse_store_url, resolve_store_url

__all__ = ["Store", "StoreURL", "open_store", "parse_store_url", "resolve_store_url"]


def open_store(
    url: StoreURL, *, migrate: bool = True, create: bool = True, shared: bool = False
) -> Store:
    """Connect to the store at `url` and bring its schema up to date.

    With `create` False a missing DuckDB file is an error rather than a new,
    empty store: reading commands should not invent one from a typo. A
    `shared` DuckDB store holds its file only while it works, so other
    processes can read between its writes.
    """
    store: Store
    embedded_file = url.engine == "duckdb" and url.target != ":memory:"
    if not create and embedded_file and not Path(url.target).is_file():
        raise StoreError(
            f"no store at {url.target}; ingest data first or pass --store "
            "(or SUPPORTPULSE_STORE) pointing at an existing store"
        )
    if url.engine == "duckdb":
        from supportpulse.store.duckdb import DuckDBStore

        store = DuckDBStore(url, shared=shared)
    else:
        from supportpulse.store.postgres import PostgresStore

        store = PostgresStore(url)

    if migrate:
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
    return store
