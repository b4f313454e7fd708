"""Intercom: conversations by `POST /conversations/search` on `updated_at`.

The search runs in ascending `updated_at` with `starting_after` tokens;
each changed conversation is then read whole with `GET /conversations/{id}`,
the only place its parts (for reply times) appear. Intercom's own statistics
give the first response (`first_admin_reply_at`) and resolution
(`last_close_at` of a closed conversation); `conversation_rating` is CSAT.
Every request pins `Intercom-Version`, so a workspace's default version
cannot change the shapes read here. The paging rules live in
`intercom_records`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import structlog
from pydantic import Field, SecretStr

from supportpulse.config import Settings
from supportpulse.engine.ratelimit import ACCOUNTS, AccountKey
from supportpulse.errors import FatalSourceError
from supportpulse.model import Batch
from supportpulse.sources.base import Cursor, Page, PullSource, SourceOptions
from supportpulse.sources.intercom_records import Position, at, normalize, step
from supportpulse.sources.vendor_http import VendorHTTP, json_body, server_now

log = structlog.get_logger("supportpulse.sources.intercom")

API_VERSION = "2.14"
_HINTS = {401: "check INTERCOM_TOKEN (the access_token option)",
          403: "check the token's scopes", 404: "check base_url"}  # fmt: skip


class IntercomOptions(SourceOptions):
    """Which workspace, which token, and how hard to read it."""

    #: https://api.intercom.io, or the EU / AU host.
    base_url: str
    access_token: SecretStr
    start: datetime = datetime(1970, 1, 1)
    per_page: int = Field(default=150, gt=0, le=150)
    #: Requests a minute shared by every source on this workspace and
    #: token; a private app may make 10,000 a minute.
    account_rate_per_min: float = Field(default=3000.0, gt=0)
    concurrency: int = Field(default=8, gt=0, le=32)
    #: The custom attribute holding the conversation's category, if any.
    category_attribute: str | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    record_source: str | None = None


class IntercomSource(PullSource):
    """Polls an Intercom workspace's conversations from a search position."""

    options_model = IntercomOptions

    def __init__(self, name: str, options: IntercomOptions, settings: Settings) -> None:
        super().__init__(name, options, settings)
        self.ic = options
        self.record_source = options.record_source or name
        self.http = VendorHTTP(
            name,
            options.base_url.rstrip("/"),
            ACCOUNTS.bucket(
                AccountKey.of(
                    "intercom",
                    urlsplit(options.base_url).netloc,
                    options.access_token.get_secret_value(),
                ),
                "account",
                options.account_rate_per_min,
            ),
            headers={
                "Authorization": f"Bearer {options.access_token.get_secret_value()}",
                "Accept": "application/json",
                "Intercom-Version": API_VERSION,
            },
            timeout_s=options.timeout_s,
            hints=_HINTS,
        )
        self.teams: dict[int, str] = {}
        self.admins: dict[int, str] = {}
        self._names_loaded = False

    def _position(self, cursor: Cursor | None) -> Position:
        if cursor:
            return Position.from_json(cursor)
        start = self.ic.start
        return Position(int(start.replace(tzinfo=start.tzinfo or UTC).timestamp()))

    async def pull(self, cursor: Cursor | None) -> Page:
        position = self._position(cursor)
        if not self._names_loaded:
            await self._load_names()

        rows, next_after, server_now = await self._search(position)
        done = step(position, rows, next_after, server_now)
        records = await self._expand(done.fresh)
        if any(self._unnamed(record["conversation"]) for record in records):
            await self._load_names()
        for record in records:
            self._name(record)

        log.debug(
            "page_fetched", source=self.name, records=len(records),
            repeated=done.skipped, more=done.more,
        )  # fmt: skip
        newest = max((r["conversation"]["updated_at"] for r in records), default=None)
        return Page(records, done.position.as_json(), newest=at(newest), more=done.more)

    async def _search(
        self, position: Position
    ) -> tuple[list[dict[str, Any]], str | None, int | None]:
        pagination: dict[str, Any] = {"per_page": self.ic.per_page}
        if position.after:
            pagination["starting_after"] = position.after
        body = {
            # Inclusive: conversations updated in the anchor second are
            # served again, and skipped in `step` once delivered.
            "query": {"field": "updated_at", "operator": ">", "value": position.since},
            "pagination": pagination,
            "sort": {"field": "updated_at", "order": "ascending"},
        }
        response = await self.http.call(
            "POST", "/conversations/search", json=body, allow=(400,)
        )
        if response.status_code == 400 and position.after:
            # A token the workspace no longer honours: search again from the
            # anchor; what repeats is skipped or upserted idempotently.
            log.info("search_token_refused", source=self.name)
            return await self._search(Position(position.since, None, position.seen))
        if response.status_code == 400:
            raise FatalSourceError(
                f"source '{self.name}': 400 from the conversation search; "
                "check the source's options"
            )
        page = json_body(response, "the conversation search")
        rows = page.get("conversations") if isinstance(page, dict) else None
        if not isinstance(rows, list):
            raise FatalSourceError(
                f"source '{self.name}': the conversation search returned no "
                "conversations list; check base_url"
            )
        following = ((page.get("pages") or {}).get("next") or {}).get("starting_after")
        return rows, following, server_now(response)

    async def _expand(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each conversation read whole, parts included, a few at once."""
        limit = asyncio.Semaphore(self.ic.concurrency)

        async def one(row: dict[str, Any]) -> dict[str, Any] | None:
            async with limit:
                response = await self.http.call_retrying(
                    "GET", f"/conversations/{row['id']}", allow=(404,)
                )
            if response.status_code == 404:
                # Deleted since it was listed: nothing left to store.
                return None
            full = json_body(response, "a conversation")
            return {"conversation": full if isinstance(full, dict) else row}

        found = await asyncio.gather(*(one(row) for row in rows))
        return [record for record in found if record is not None]

    def _unnamed(self, conversation: dict[str, Any]) -> bool:
        team, admin = (
            conversation.get("team_assignee_id"),
            conversation.get("admin_assignee_id"),
        )
        return (team is not None and int(team) not in self.teams) or (
            admin is not None and int(admin) not in self.admins
        )

    def _name(self, record: dict[str, Any]) -> None:
        conversation = record["conversation"]
        team, admin = (
            conversation.get("team_assignee_id"),
            conversation.get("admin_assignee_id"),
        )
        record["team"] = None if team is None else self.teams.get(int(team))
        record["agent"] = None if admin is None else self.admins.get(int(admin))

    async def _load_names(self) -> None:
        teams = json_body(
            await self.http.call_retrying("GET", "/teams"), "the teams list"
        )
        admins = json_body(
            await self.http.call_retrying("GET", "/admins"), "the admins list"
        )
        self.teams = {
            int(team["id"]): str(team["name"]) for team in teams.get("teams", [])
        }
        self.admins = {
            int(admin["id"]): str(admin.get("name") or admin["id"])
            for admin in admins.get("admins", [])
        }
        self._names_loaded = True

    def normalize(self, page: Page) -> Batch:
        return normalize(self.record_source, page.records, self.ic.category_attribute)

    async def close(self) -> None:
        await self.http.close()
