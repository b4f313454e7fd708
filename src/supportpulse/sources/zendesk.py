"""Zendesk Support tickets by the cursor-based incremental export.

The first poll starts the export at `start_time`; every later one continues
from the export's `after_cursor`, which is the checkpoint the engine commits
with the page. `end_of_stream` means caught up: the cursor is kept and the
next poll, an interval later, asks for what changed since. Ticket metric
sets, users and groups come sideloaded with each page; comments, when
enabled, are fetched per ticket. Mapping: `zendesk_mapping`.

Requests are paced by two buckets shared with every source of the same
account: the plan's per-minute limit and the export endpoint's own. 429
waits exactly its Retry-After; 429, 5xx and dropped connections are retried
inside the poll within `attempts` and `retry_budget_s`, then handed to the
engine's backoff. 401, 403 and 404 stop the source with what to check.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
import stamina
import structlog
from pydantic import Field, model_validator

from supportpulse.config import Settings
from supportpulse.engine.ratelimit import (
    ACCOUNTS,
    AccountKey,
    TokenBucket,
    retry_after_s,
)
from supportpulse.errors import FatalSourceError, RetriableSourceError
from supportpulse.model import Batch
from supportpulse.sources.base import Cursor, Page, PullSource, SourceOptions
from supportpulse.sources.zendesk_mapping import Record, join_page, to_batch

log = structlog.get_logger("supportpulse.sources.zendesk")

EXPORT = "/api/v2/incremental/tickets/cursor.json"
SIDELOADS = "metric_sets,users,groups"


class ZendeskOptions(SourceOptions):
    """Where the account is, how to authenticate, and how much to read."""

    subdomain: str | None = None
    #: Overrides the https://{subdomain}.zendesk.com address, e.g. a proxy.
    base_url: str | None = None
    email: str | None = None
    api_token: str | None = None
    oauth_token: str | None = None
    start_time: datetime = datetime(1970, 1, 2, tzinfo=UTC)
    #: Tickets per export page; 100 when comments are fetched, else 1000.
    per_page: int | None = Field(default=None, ge=1, le=1000)
    comments: bool = True
    comment_concurrency: int = Field(default=4, ge=1, le=32)
    #: Id of the custom field that holds the category; the ticket type if unset.
    category_field: int | None = None
    account_rate_per_min: float = Field(default=200, gt=0)
    export_rate_per_min: float = Field(default=10, gt=0)
    attempts: int = Field(default=6, ge=1)
    retry_budget_s: float = Field(default=20, gt=0)
    timeout_s: float = Field(default=30, gt=0)
    record_source: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not (self.subdomain or self.base_url):
            raise ValueError("set subdomain (or base_url)")
        if not self.oauth_token and not (self.email and self.api_token):
            raise ValueError("set email and api_token, or oauth_token")
        return self

    @property
    def url(self) -> str:
        """The account's API address."""
        return (self.base_url or f"https://{self.subdomain}.zendesk.com").rstrip("/")

    @property
    def page_size(self) -> int:
        """Tickets asked for per export page."""
        return self.per_page or (100 if self.comments else 1000)


class ZendeskSource(PullSource):
    """Follows one Zendesk account's incremental ticket export."""

    options_model = ZendeskOptions

    def __init__(self, name: str, options: ZendeskOptions, settings: Settings) -> None:
        super().__init__(name, options, settings)
        self.zendesk = options
        self.record_source = options.record_source or name
        host = urlsplit(options.url).netloc
        auth: httpx.Auth
        if options.oauth_token:
            credential, auth = options.oauth_token, _Bearer(options.oauth_token)
        else:
            credential = f"{options.email}/token:{options.api_token}"
            auth = httpx.BasicAuth(f"{options.email}/token", options.api_token or "")
        key = AccountKey.of("zendesk", host, credential)
        self.account_bucket = ACCOUNTS.bucket(
            key, "account", options.account_rate_per_min
        )
        self.export_bucket = ACCOUNTS.bucket(key, "export", options.export_rate_per_min)
        self._client = httpx.AsyncClient(
            base_url=options.url,
            auth=auth,
            timeout=options.timeout_s,
            follow_redirects=False,
        )
        self._comment_slots = asyncio.Semaphore(options.comment_concurrency)

    async def pull(self, cursor: Cursor | None) -> Page:
        params: dict[str, Any] = {
            "per_page": self.zendesk.page_size,
            "include": SIDELOADS,
        }
        if cursor and cursor.get("after_cursor"):
            params["cursor"] = cursor["after_cursor"]
        else:
            params["start_time"] = int(self.zendesk.start_time.timestamp())
        document = await self._get(EXPORT, params, buckets=(self.export_bucket,))
        if not isinstance(document.get("tickets"), list):
            raise RetriableSourceError("Zendesk export page without a tickets list")

        comments, authors = None, None
        if self.zendesk.comments:
            comments, authors = await self._comments(document["tickets"])
        records = join_page(document, comments, authors)
        after = document.get("after_cursor") or (cursor or {}).get("after_cursor")
        more = document.get("end_of_stream") is False
        log.debug("page_fetched", source=self.name, tickets=len(records), more=more)
        return Page(
            records=records,
            cursor={"after_cursor": after} if after else cursor,
            newest=_newest(records),
            more=more,
        )

    async def _comments(
        self, tickets: list[Record]
    ) -> tuple[dict[int, list[Record]], dict[Any, Record]]:
        """Every comment of the page's live tickets, with their authors."""
        wanted = [
            t["id"]
            for t in tickets
            if isinstance(t, dict) and t.get("status") != "deleted"
        ]
        found = await asyncio.gather(*(self._ticket_comments(i) for i in wanted))
        comments: dict[int, list[Record]] = {}
        authors: dict[Any, Record] = {}
        for ticket_id, (listed, users) in zip(wanted, found, strict=True):
            if listed is not None:
                comments[ticket_id] = listed
                authors.update(users)
        return comments, authors

    async def _ticket_comments(
        self, ticket_id: int
    ) -> tuple[list[Record] | None, dict[Any, Record]]:
        """One ticket's comments, or None when the ticket has been deleted
        since the page was exported (its deletion comes with a later page)."""
        path = f"/api/v2/tickets/{ticket_id}/comments.json"
        params: dict[str, Any] = {"page[size]": 100, "include": "users"}
        listed: list[Record] = []
        authors: dict[Any, Record] = {}
        async with self._comment_slots:
            while True:
                page = await self._get(path, params, missing_ok=True)
                if page is None:
                    return None, {}
                listed.extend(page.get("comments") or [])
                authors.update({u.get("id"): u for u in page.get("users") or []})
                meta = page.get("meta") or {}
                if not meta.get("has_more") or not meta.get("after_cursor"):
                    return listed, authors
                params["page[after]"] = meta["after_cursor"]

    async def _get(
        self,
        path: str,
        params: dict[str, Any],
        buckets: tuple[TokenBucket, ...] = (),
        missing_ok: bool = False,
    ) -> Any:
        """One GET with retries inside the poll; the JSON body."""
        async for attempt in stamina.retry_context(
            on=_retry_wait,
            attempts=self.zendesk.attempts,
            timeout=self.zendesk.retry_budget_s,
            wait_max=5.0,
        ):
            with attempt:
                return await self._get_once(path, params, buckets, missing_ok)
        raise AssertionError("stamina ends with a return or an exception")

    async def _get_once(
        self,
        path: str,
        params: dict[str, Any],
        buckets: tuple[TokenBucket, ...],
        missing_ok: bool,
    ) -> Any:
        for bucket in (self.account_bucket, *buckets):
            await bucket.acquire()
        try:
            response = await self._client.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise RetriableSourceError(f"Zendesk {_endpoint(path)} timed out") from exc
        except httpx.TransportError as exc:
            raise RetriableSourceError(
                f"Zendesk {_endpoint(path)}: {type(exc).__name__}"
            ) from exc

        self.account_bucket.observe(response.headers)
        if response.status_code == 404 and missing_ok:
            return None
        self._check(response, path)
        try:
            return response.json()
        except ValueError as exc:
            raise RetriableSourceError(
                f"Zendesk {_endpoint(path)} returned invalid JSON"
            ) from exc

    def _check(self, response: httpx.Response, path: str) -> None:
        status, where = response.status_code, _endpoint(path)
        if status == 429:
            wait = retry_after_s(response.headers.get("retry-after"))
            if wait is not None:
                # The whole account waits, not just this source.
                self.account_bucket.pause_for(wait)
            raise RetriableSourceError(f"429 from Zendesk {where}", retry_after=wait)
        if status >= 500:
            raise RetriableSourceError(
                f"{status} from Zendesk {where}",
                retry_after=retry_after_s(response.headers.get("retry-after")),
            )
        if status < 400:
            return
        hint = {
            401: "check email and api_token (or oauth_token)",
            403: "the incremental export needs an admin's credentials",
            404: "check subdomain or base_url",
        }.get(status, _description(response))
        raise FatalSourceError(
            f"source '{self.name}': {status} from Zendesk {where}; {hint}"
        )

    def normalize(self, page: Page) -> Batch:
        return to_batch(page.records, self.record_source, self.zendesk.category_field)

    async def close(self) -> None:
        await self._client.aclose()


class _Bearer(httpx.Auth):
    """OAuth access token auth."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self._header
        yield request


def _retry_wait(exc: Exception) -> bool | float:
    """Retry what may pass; a throttle waits exactly what the vendor said."""
    if not isinstance(exc, RetriableSourceError):
        return False
    return exc.retry_after if exc.retry_after is not None else True


def _endpoint(path: str) -> str:
    # Logged and shown instead of the URL: ticket ids stay out of messages
    # that repeat per ticket, and no query string is ever shown.
    return "comments endpoint" if "/comments" in path else "incremental export"


def _description(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "see the Zendesk API documentation"
    detail = (
        body.get("description") or body.get("error") if isinstance(body, dict) else None
    )
    return str(detail)[:200] if detail else "see the Zendesk API documentation"


def _newest(records: list[Record]) -> datetime | None:
    stamps = [
        r["ticket"].get("generated_timestamp")
        for r in records
        if isinstance(r["ticket"].get("generated_timestamp"), int)
    ]
    return (
        datetime.fromtimestamp(max(stamps), UTC).replace(tzinfo=None)
        if stamps
        else None
    )
