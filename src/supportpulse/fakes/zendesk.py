"""A fake Zendesk Support API over HTTP, faithful where connectors can trip.

Serves a `ZendeskAccount` the way Zendesk does (vendors.md section 1):
- the cursor-based incremental ticket export, which never shows changes of
  the last `hide_recent_s` seconds (60 on Zendesk), ends a catch-up with
  `end_of_stream: true` and a reusable `after_cursor`, refuses `start_time`
  with `cursor` and a too recent `start_time`, returns deleted tickets with
  status `deleted` unless `exclude_deleted=true`, and sideloads
  `metric_sets`, `users` and `groups`;
- ticket comments with cursor pagination and sideloaded users;
- HTTP Basic `{email}/token:{token}` or Bearer auth;
- `X-Rate-Limit` / `X-Rate-Limit-Remaining` on every reply, an account
  limit per window and the lower limit of `/incremental/` endpoints, both
  answered with 429 and `Retry-After`;
- signed webhooks: base64 HMAC-SHA256 over the ISO timestamp and the body.

Data-level faults of this protocol: `duplicate` re-sends the record a page
starts after, `shuffle` mixes the order inside a page, `max_per_page` caps
pages below what the client asked for. Transport faults come from `faults`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supportpulse.fakes.faults import FaultMiddleware, Faults
from supportpulse.fakes.serve import require_loopback
from supportpulse.fakes.zendesk_account import Record, ZendeskAccount, iso

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
_SIDELOADS = {"metric_sets", "users", "groups", "organizations", "brands"}


@dataclass
class ZendeskFakeConfig:
    """Credentials, limits and data-level faults of one fake account."""

    email: str = "admin@acme.example"
    api_token: str = "fake-zendesk-token"
    oauth_token: str | None = None
    hide_recent_s: int = 60
    window_s: float = 60.0
    account_limit: int = 700
    export_limit: int = 10
    max_per_page: int = 1000
    duplicate: float = 0.0
    shuffle: bool = False
    seed: int = 0


@dataclass
class _Window:
    started: float = 0.0
    account: int = 0
    export: int = 0


@dataclass
class ZendeskFake:
    """The fake API around one account; `app` is the ASGI app to serve."""

    account: ZendeskAccount
    config: ZendeskFakeConfig = field(default_factory=ZendeskFakeConfig)
    faults: Faults = field(default_factory=Faults)
    #: Requests answered, by endpoint ("export", "comments", "throttled").
    requests: Counter[str] = field(default_factory=Counter)
    _window: _Window = field(default_factory=_Window)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.config.seed)

    @property
    def app(self) -> ASGIApp:
        """The API, behind the transport fault layer."""
        routes = [
            Route(EXPORT_PATH, self._export),
            Route("/api/v2/tickets/{ticket_id:int}/comments.json", self._comments),
        ]
        faulty = FaultMiddleware(Starlette(routes=routes), self.faults)
        return _RateHeaders(faulty, self)

    # -- guards ------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and self.config.oauth_token:
            return hmac.compare_digest(value, self.config.oauth_token)
        if scheme.lower() != "basic":
            return False
        expected = f"{self.config.email}/token:{self.config.api_token}"
        try:
            given = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(given, expected)

    def _admit(self, export: bool) -> Response | None:
        """Count a request against the limits; a 429 when one is exhausted."""
        now = self.account.clock()
        window = self._window
        if now - window.started >= self.config.window_s:
            window.started, window.account, window.export = now, 0, 0
        wait = str(max(1, math.ceil(window.started + self.config.window_s - now)))
        over = window.account >= self.config.account_limit or (
            export and window.export >= self.config.export_limit
        )
        if over:
            self.requests["throttled"] += 1
            body = {
                "error": "APIRateLimitExceeded",
                "description": "Rate limit exceeded",
            }
            return self._json(body, 429, {"Retry-After": wait})
        window.account += 1
        window.export += export
        return None

    def limit_headers(self) -> dict[str, str]:
        """`X-Rate-Limit` and `X-Rate-Limit-Remaining` as they stand now."""
        left = max(0, self.config.account_limit - self._window.account)
        # Zendesk states a per-minute limit; a shorter test window scales it.
        per_minute = round(self.config.account_limit * 60 / self.config.window_s)
        return {"X-Rate-Limit": str(per_minute), "X-Rate-Limit-Remaining": str(left)}

    def _json(
        self, body: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        return JSONResponse(body, status, {**self.limit_headers(), **(headers or {})})

    def _guard(self, request: Request, export: bool) -> Response | None:
        if not self._authorized(request):
            return self._json({"error": "Couldn't authenticate you"}, 401)
        return self._admit(export)

    # -- incremental export ----------------------------------------------

    async def _export(self, request: Request) -> Response:
        refused = self._guard(request, export=True)
        if refused is not None:
            return refused
        self.requests["export"] += 1
        with self.account.lock:
            return self._export_page(request)

    def _export_page(self, request: Request) -> Response:
        query = request.query_params
        now = int(self.account.clock())
        horizon = now - self.config.hide_recent_s
        position = self._position(query.get("start_time"), query.get("cursor"), horizon)
        if isinstance(position, Response):
            return position
        includes = {name for name in query.get("include", "").split(",") if name}
        if not includes <= _SIDELOADS:
            return self._invalid(f"include not allowed: {', '.join(sorted(includes))}")

        per_page = min(
            _int(query.get("per_page"), 1000), 1000, self.config.max_per_page
        )
        found = self.account.after(position, max(1, per_page), horizon)
        last = (
            (found[-1]["generated_timestamp"], found[-1]["id"]) if found else position
        )
        tickets = [dict(ticket) for ticket in found]
        if query.get("exclude_deleted") == "true":
            tickets = [ticket for ticket in tickets if ticket["status"] != "deleted"]
        tickets = self._data_faults(position, tickets)

        cursor = _encode(last)
        base = f"https://{self.account.subdomain}.zendesk.com{EXPORT_PATH}"
        body: dict[str, Any] = {
            "tickets": tickets,
            "after_cursor": cursor,
            "after_url": f"{base}?cursor={cursor}",
            "before_cursor": None,
            "before_url": None,
            "end_of_stream": not self.account.has_after(last, horizon),
        }
        body.update(self._sideload(includes, tickets))
        return self._json(body)

    def _position(
        self, start_time: str | None, cursor: str | None, horizon: int
    ) -> tuple[int, int] | Response:
        if cursor is not None and start_time is not None:
            return self._invalid("start_time is not allowed together with cursor")
        if cursor is not None:
            decoded = _decode(cursor)
            return decoded if decoded else self._invalid("cursor is not valid")
        if start_time is None:
            return self._invalid("start_time or cursor is required")
        start = _int(start_time, -1)
        if start < 0:
            return self._invalid("start_time must be a Unix time in seconds")
        if start > horizon:
            return self._invalid(
                "Too recent start_time. Use a start_time older than 1 minute"
            )
        return (start, -1)

    def _invalid(self, description: str) -> Response:
        body = {"error": "InvalidPaginationParameter", "description": description}
        return self._json(body, 400)

    def _data_faults(
        self, position: tuple[int, int], tickets: list[Record]
    ) -> list[Record]:
        if self.config.duplicate and self._rng.random() < self.config.duplicate:
            repeated = self.account.tickets.get(position[1])
            if repeated is not None:
                tickets.insert(0, dict(repeated))
        if self.config.shuffle:
            self._rng.shuffle(tickets)
        return tickets

    def _sideload(self, includes: set[str], tickets: list[Record]) -> dict[str, Any]:
        loaded: dict[str, Any] = {}
        if "metric_sets" in includes:
            loaded["metric_sets"] = [
                self.account.metric_sets[ticket["id"]] for ticket in tickets
            ]
        if "users" in includes:
            ids = {
                ticket[key]
                for ticket in tickets
                for key in ("requester_id", "submitter_id", "assignee_id")
            }
            loaded["users"] = [self.account.users[i] for i in sorted(ids - {None})]
        if "groups" in includes:
            groups = {ticket["group_id"] for ticket in tickets} - {None}
            loaded["groups"] = [self.account.groups[i] for i in sorted(groups)]
        return loaded

    # -- comments ----------------------------------------------------------

    async def _comments(self, request: Request) -> Response:
        refused = self._guard(request, export=False)
        if refused is not None:
            return refused
        self.requests["comments"] += 1
        ticket_id = request.path_params["ticket_id"]
        query = request.query_params
        with self.account.lock:
            ticket = self.account.tickets.get(ticket_id)
            if ticket is None or ticket["status"] == "deleted":
                return self._json(
                    {"error": "RecordNotFound", "description": "Not found"}, 404
                )
            comments = self.account.comments[ticket_id]
            size = min(max(1, _int(query.get("page[size]"), 100)), 100)
            start = _int(_unb64(query.get("page[after]")), 0)
            page = comments[start : start + size]
            more = start + size < len(comments)
            after = _b64(str(start + size)) if page else None
            base = f"https://{self.account.subdomain}.zendesk.com{request.url.path}"
            body: dict[str, Any] = {
                "comments": page,
                "meta": {
                    "has_more": more,
                    "after_cursor": after,
                    "before_cursor": None,
                },
                "links": {
                    "next": f"{base}?page[after]={after}&page[size]={size}"
                    if more
                    else None,
                    "prev": None,
                },
            }
            if "users" in query.get("include", ""):
                authors = sorted({comment["author_id"] for comment in page})
                body["users"] = [self.account.users[i] for i in authors]
            return self._json(body)


class _RateHeaders:
    """Adds the account's rate-limit headers to replies that lack them
    (injected faults, unknown paths): Zendesk sends them on every reply."""

    def __init__(self, app: ASGIApp, fake: ZendeskFake) -> None:
        self.app = app
        self.fake = fake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name == b"x-rate-limit" for name, _ in headers):
                    limits = self.fake.limit_headers()
                    headers += [
                        (k.lower().encode(), v.encode()) for k, v in limits.items()
                    ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- webhooks ----------------------------------------------------------------


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's webhook signature: base64 HMAC-SHA256 of timestamp + body,
    keyed with the signing secret's text as it is."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def ticket_event(ticket: Record, kind: str = "ticket.status_changed") -> Record:
    """An event-subscription payload about one ticket."""
    return {
        "type": f"zen:event-type:{kind}",
        "account_id": 10001,
        "id": secrets.token_hex(8),
        "time": iso(datetime.now(UTC)),
        "zendesk_event_version": "2022-11-06",
        "subject": f"zen:ticket:{ticket['id']}",
        "detail": {"id": str(ticket["id"]), "status": str(ticket["status"]).upper()},
        "event": {},
    }


def send_webhook(
    url: str, secret: str, payload: Record, timestamp: str | None = None
) -> httpx.Response:
    """POST a signed webhook to a loopback URL, as Zendesk delivers one."""
    require_loopback(urlsplit(url).hostname or "")
    body = json.dumps(payload).encode()
    stamp = timestamp or iso(datetime.now(UTC))
    headers = {
        "content-type": "application/json",
        "x-zendesk-account-id": "10001",
        "x-zendesk-webhook-id": "01HZFAKEWEBHOOK",
        "x-zendesk-webhook-invocation-id": secrets.token_hex(8),
        "x-zendesk-webhook-signature-timestamp": stamp,
        "x-zendesk-webhook-signature": webhook_signature(secret, stamp, body),
    }
    return httpx.post(url, content=body, headers=headers, timeout=10)


# -- helpers -----------------------------------------------------------------


#: What a source needs to sign in to the fake that cli_app serves.
CREDENTIALS = (
    f"email {ZendeskFakeConfig().email}, api_token {ZendeskFakeConfig().api_token}"
)


def cli_app(tickets: int, seed: int, faults: Faults) -> ASGIApp:
    """The fake with `tickets` generated tickets, for `python -m supportpulse.fakes`."""
    account = ZendeskAccount(seed=seed)
    account.populate(tickets)
    return ZendeskFake(account, ZendeskFakeConfig(seed=seed), faults).app


def _encode(position: tuple[int, int]) -> str:
    return _b64(f"{position[0]}.0||{position[1]}|")


def _decode(cursor: str) -> tuple[int, int] | None:
    try:
        stamp, _, rest = _unb64(cursor).partition("||")
        return int(float(stamp)), int(rest.rstrip("|"))
    except ValueError:
        return None


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _unb64(text: str | None) -> str:
    if not text:
        return ""
    try:
        return base64.urlsafe_b64decode(text.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "?"


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
