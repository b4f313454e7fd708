"""Freshdesk (API v2): tickets, their conversations and satisfaction ratings.

Two listings are followed, each from its own anchor in the cursor: live
tickets and the deleted ones (`filter=deleted`), both by `updated_since` in
ascending `updated_at` with stats embedded. Every changed ticket brings its
conversations (for reply times) and ratings (for CSAT), fetched a few at a
time. A deleted ticket is kept as status `deleted`, newest change winning,
so a delete and a restore seen in either order end as the account has it.
The paging rules live in `freshdesk_records`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from pydantic import Field, SecretStr

from supportpulse.config import Settings
from supportpulse.engine.ratelimit import ACCOUNTS, AccountKey
from supportpulse.errors import FatalSourceError
from supportpulse.model import Batch
from supportpulse.sources.base import Cursor, Page, PullSource, SourceOptions
from supportpulse.sources.freshdesk_records import (
    Anchor,
    Lookups,
    Step,
    TooManyInOneSecondError,
    capped,
    normalize,
    parse_time,
    spell,
    step,
)
from supportpulse.sources.vendor_http import VendorHTTP, json_body, server_now

log = structlog.get_logger("supportpulse.sources.freshdesk")

STREAMS = ("tickets", "deleted")
_HINTS = {401: "check FRESHDESK_API_KEY (the api_key option)",
          403: "check the API key's permissions", 404: "check base_url"}  # fmt: skip


class FreshdeskOptions(SourceOptions):
    """Which account, which key, and how hard to read it."""

    #: https://{domain}.freshdesk.com
    base_url: str
    api_key: SecretStr
    #: Tickets changed before this are not read; the default reads them all.
    start: datetime = datetime(1970, 1, 1)
    #: Tickets a page; each costs two more calls, so a page must fit the
    #: source's timeout at the account rate: 20 take 41 calls, 15 s at 160/min.
    per_page: int = Field(default=20, gt=0, le=100)
    #: Pages followed by offset before re-anchoring on the last updated_at;
    #: 1 is the only setting that cannot lose a ticket changed while paged.
    pages_per_anchor: int = Field(default=1, gt=0, le=300)
    #: Requests a minute shared by every source on this account and key;
    #: plans allow 200-700 credits a minute and a listing costs 5.
    account_rate_per_min: float = Field(default=160.0, gt=0)
    #: Tickets whose conversations and ratings are fetched at once.
    concurrency: int = Field(default=4, gt=0, le=32)
    timeout_s: float = Field(default=30.0, gt=0)
    record_source: str | None = None


class FreshdeskSource(PullSource):
    """Polls a Freshdesk account's tickets from a cursor of two anchors."""

    options_model = FreshdeskOptions

    def __init__(
        self, name: str, options: FreshdeskOptions, settings: Settings
    ) -> None:
        super().__init__(name, options, settings)
        self.fd = options
        self.record_source = options.record_source or name
        self.http = VendorHTTP(
            name,
            options.base_url.rstrip("/"),
            ACCOUNTS.bucket(
                AccountKey.of(
                    "freshdesk",
                    urlsplit(options.base_url).netloc,
                    options.api_key.get_secret_value(),
                ),
                "account",
                options.account_rate_per_min,
            ),
            auth=httpx.BasicAuth(options.api_key.get_secret_value(), "X"),
            timeout_s=options.timeout_s,
            hints=_HINTS,
        )
        self.lookups = Lookups()
        self._lookups_loaded = False

    def _start(self, cursor: Cursor | None) -> dict[str, Any]:
        if cursor:
            return cursor
        start = self.fd.start
        first = Anchor(
            int(start.replace(tzinfo=start.tzinfo or UTC).timestamp())
        ).as_json()
        return {"stream": "tickets", "tickets": first, "deleted": first}

    async def pull(self, cursor: Cursor | None) -> Page:
        state = self._start(cursor)
        stream = state["stream"]
        anchor = Anchor.from_json(state[stream])
        if not self._lookups_loaded:
            await self._load_lookups()

        rows, has_next, server_now = await self._list(stream, anchor)
        if rows is None:
            done = Step([], self._capped(anchor), True)
        else:
            done = step(
                anchor,
                rows,
                has_next,
                server_now,
                pages_per_anchor=self.fd.pages_per_anchor,
            )
        if self.lookups.missing(done.fresh):
            await self._load_lookups()
        records = await self._expand(done.fresh, deleted=stream == "deleted")
        for record in records:
            self.lookups.name(record)

        following = {**state, stream: done.anchor.as_json()}
        more = done.more
        if not more:
            # Caught up on this listing: read the other one now, and rest
            # once both are caught up.
            following["stream"] = STREAMS[1 - STREAMS.index(stream)]
            more = stream == "tickets"
        log.debug(
            "page_fetched", source=self.name, stream=stream, records=len(records),
            repeated=done.skipped, page=anchor.page, more=more,
        )  # fmt: skip
        newest = max(
            (parse_time(r["ticket"]["updated_at"]) for r in records), default=None
        )
        return Page(records, following, newest=newest, more=more)

    def _capped(self, anchor: Anchor) -> Anchor:
        try:
            return capped(anchor)
        except TooManyInOneSecondError:
            raise FatalSourceError(
                f"source '{self.name}': more tickets changed within the second "
                f"{spell(anchor.since)} than the page cap lets a listing reach; "
                "raise per_page to 100"
            ) from None

    async def _list(
        self, stream: str, anchor: Anchor
    ) -> tuple[list[dict[str, Any]] | None, bool, int | None]:
        """One listing page: its tickets (None past the page cap), whether
        another page follows, and the server's clock."""
        params = {
            "updated_since": spell(anchor.since),
            "order_by": "updated_at",
            "order_type": "asc",
            "per_page": self.fd.per_page,
            "page": anchor.page,
            "include": "stats,description",
        }
        if stream == "deleted":
            params["filter"] = "deleted"
        response = await self.http.call(
            "GET", "/api/v2/tickets", params=params, allow=(400,)
        )
        if response.status_code == 400:
            if _page_capped(response):
                log.info(
                    "page_cap_reached",
                    source=self.name,
                    stream=stream,
                    page=anchor.page,
                )
                return None, True, None
            raise FatalSourceError(
                f"source '{self.name}': 400 from the tickets list: "
                f"{_errors(response)}; check the source's options"
            )
        rows = json_body(response, "the tickets list")
        if not isinstance(rows, list):
            raise FatalSourceError(
                f"source '{self.name}': the tickets list is not an array; check base_url"
            )
        return rows, response.links.get("next") is not None, server_now(response)

    async def _expand(
        self, tickets: list[dict[str, Any]], deleted: bool
    ) -> list[dict[str, Any]]:
        """Each ticket with its conversations and ratings, fetched a few at once."""
        limit = asyncio.Semaphore(self.fd.concurrency)

        async def one(ticket: dict[str, Any]) -> dict[str, Any]:
            # A deleted ticket keeps the messages stored while it was alive.
            record: dict[str, Any] = {"ticket": ticket, "conversations": None}
            async with limit:
                tid = ticket["id"]
                if not deleted:
                    path = f"/api/v2/tickets/{tid}/conversations"
                    record["conversations"] = await self._all(path) or []
                ratings = await self._all(f"/api/v2/tickets/{tid}/satisfaction_ratings")
            # A ticket removed for good between the listing and now has none
            # to show; its next listing says what it became.
            record["ratings"] = ratings or []
            return record
            async with limit:
                tid = ticket["id"]
                conversations = await self._all(f"/api/v2/tickets/{tid}/conversations")
                ratings = await self._all(f"/api/v2/tickets/{tid}/satisfaction_ratings")
            # A ticket removed for good between the listing and now has no
            # conversations to show; its next listing says what it became.
            record["conversations"] = conversations or []
            record["ratings"] = ratings or []
            return record

        return list(await asyncio.gather(*(one(ticket) for ticket in tickets)))

    async def _all(self, path: str, **params: Any) -> list[dict[str, Any]] | None:
        """Every page of a listing, or None when the thing is gone (404)."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            response = await self.http.call_retrying(
                "GET",
                path,
                params={**params, "per_page": 100, "page": page},
                allow=(404,),
            )
            if response.status_code == 404:
                return None
            body = json_body(response, path)
            rows.extend(row for row in body if isinstance(row, dict))
            if response.links.get("next") is None:
                return rows
            page += 1

    async def _load_lookups(self) -> None:
        groups = await self._all("/api/v2/groups") or []
        agents = await self._all("/api/v2/agents") or []
        self.lookups.groups = {group["id"]: group["name"] for group in groups}
        self.lookups.agents = {
            agent["id"]: str((agent.get("contact") or {}).get("name") or agent["id"])
            for agent in agents
        }
        self._lookups_loaded = True

    def normalize(self, page: Page) -> Batch:
        return normalize(self.record_source, page.records)

    async def close(self) -> None:
        await self.http.close()


def _page_capped(response: httpx.Response) -> bool:
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return False
    return any(
        error.get("field") == "page" for error in errors if isinstance(error, dict)
    )


def _errors(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return "no details"
    return "; ".join(
        f"{error.get('field')}: {error.get('message')}"
        for error in errors
        if isinstance(error, dict)
    )
