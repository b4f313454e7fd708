"""A JSON REST endpoint paged by an opaque cursor, mapped like a flat export.

Declarative: the URL, where the records and the next cursor sit in each
response, the cursor's query parameter, headers (secrets via `${VAR}` in the
config file) and the column mapping. Statuses decide what the engine does:
429 and 5xx back off (honouring Retry-After), 401/403/404 stop the source.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from pydantic import Field

from supportpulse.config import Settings
from supportpulse.engine.ratelimit import TokenBucket, retry_after_s
from supportpulse.errors import (
    FatalSourceError,
    InputError,
    RecordError,
    RetriableSourceError,
)
from supportpulse.ingest.flat import FlatMapping, flat_records
from supportpulse.model import Batch, QuarantinedRecord
from supportpulse.sources.base import Cursor, Page, PullSource, SourceOptions

log = structlog.get_logger("supportpulse.sources.rest")

_FATAL = {401: "check the credentials in its headers", 403: "check its permissions",
          404: "check its url"}  # fmt: skip


class RestOptions(SourceOptions):
    """Where the endpoint is and how its responses are laid out."""

    url: str
    records_path: str = "records"
    next_cursor_path: str | None = "next_cursor"
    cursor_param: str = "cursor"
    headers: dict[str, str] = Field(default_factory=dict)
    rate_per_s: float = Field(default=5.0, gt=0)
    timeout_s: float = Field(default=30.0, gt=0)
    record_source: str | None = None
    mappings: dict[str, str] = Field(default_factory=dict)


def _at(document: Any, path: str | None) -> Any:
    if not path:
        return document
    for part in path.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document


class RestSource(PullSource):
    """Polls one endpoint, following its cursor until it has no next one."""

    options_model = RestOptions

    def __init__(self, name: str, options: RestOptions, settings: Settings) -> None:
        super().__init__(name, options, settings)
        self.rest = options
        self.record_source = options.record_source or name
        self.bucket = TokenBucket(options.rate_per_s)
        self._client = httpx.AsyncClient(
            headers=options.headers, timeout=options.timeout_s, follow_redirects=False
        )
        self._mapping: FlatMapping | None = None
        parts = urlsplit(options.url)
        # Logged instead of the URL: a query string may carry a token.
        self._where = f"{parts.scheme}://{parts.netloc}{parts.path}"

    async def pull(self, cursor: Cursor | None) -> Page:
        token = (cursor or {}).get("token")
        # Set on the URL itself: a `params` argument would replace the query
        # the URL already carries, such as an api_key.
        url = httpx.URL(self.rest.url)
        if token:
            url = url.copy_set_param(self.rest.cursor_param, token)
        await self.bucket.acquire()
        try:
            response = await self._client.get(url)
        except httpx.TimeoutException as exc:
            raise RetriableSourceError(f"{self._where} timed out") from exc
        except httpx.TransportError as exc:
            raise RetriableSourceError(f"{self._where}: {type(exc).__name__}") from exc

        self.bucket.observe(response.headers)
        self._check(response)
        try:
            document = response.json()
        except ValueError as exc:
            raise RetriableSourceError(f"{self._where} returned invalid JSON") from exc

        records = _at(document, self.rest.records_path)
        if not isinstance(records, list):
            raise FatalSourceError(
                f"source '{self.name}': no list at '{self.rest.records_path}' in the "
                "response; check records_path"
            )
        following = _at(document, self.rest.next_cursor_path)
        more = following is not None and following != token
        log.debug(
            "page_fetched",
            source=self.name,
            endpoint=self._where,
            records=len(records),
            more=more,
        )
        return Page(
            records=[record for record in records if isinstance(record, dict)],
            cursor={"token": following if more else token},
            more=more,
        )

    def _check(self, response: httpx.Response) -> None:
        status = response.status_code
        if status == 429:
            wait = retry_after_s(response.headers.get("retry-after"))
            if wait is not None:
                self.bucket.pause_for(wait)
            raise RetriableSourceError(f"429 from {self._where}", retry_after=wait)
        if status >= 500:
            raise RetriableSourceError(
                f"{status} from {self._where}",
                retry_after=retry_after_s(response.headers.get("retry-after")),
            )
        if status in _FATAL:
            raise FatalSourceError(
                f"source '{self.name}': {status} from {self._where}; {_FATAL[status]}"
            )
        if status >= 400:
            raise FatalSourceError(f"source '{self.name}': {status} from {self._where}")

    def normalize(self, page: Page) -> Batch:
        batch = Batch()
        for position, record in enumerate(page.records):
            if self._mapping is None:
                overrides = {**self.settings.mappings, **self.rest.mappings}
                try:
                    self._mapping = FlatMapping.detect(
                        f"source '{self.name}'", list(record), overrides
                    )
                except InputError as exc:
                    raise FatalSourceError(str(exc)) from None
            try:
                ticket, message = flat_records(
                    record, self._mapping, self.record_source, self.settings.zone
                )
            except RecordError as exc:
                batch.quarantined.append(QuarantinedRecord(
                    self.record_source, self._where, position, exc.reason, str(record)[:2000]
                ))  # fmt: skip
                continue
            batch.tickets.append(ticket)
            if message is not None:
                batch.messages.append(message)
        return batch

    async def close(self) -> None:
        await self._client.aclose()
