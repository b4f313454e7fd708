"""Where tickets and messages live: an embedded DuckDB file or PostgreSQL."""

from __future__ import annotations

from supportpulse.store.base import Store
from supportpulse.store.url import StoreURL, parse_store_url, resolve_store_url

__all__ = ["Store", "StoreURL", "open_store", "parse_store_url", "resolve_store_url"]


def open_store(url: StoreURL, *, migrate: bool = True) -> Store:
    """Connect to the store at `url` and bring its schema up to date."""
    store: Store
    if url.engine == "duckdb":
        from supportpulse.store.duckdb import DuckDBStore

        store = DuckDBStore(url)
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
