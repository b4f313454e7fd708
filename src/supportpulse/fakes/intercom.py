"""A fake Intercom REST API over an `IntercomDesk`, as an ASGI app.

It reproduces what a connector must cope with (vendors.md section 3): Bearer
auth, the `Intercom-Version` header validated and echoed, `POST
/conversations/search` whose `>` on `updated_at` is inclusive, ascending
sort, `per_page` up to 150, `pages.next.starting_after` only while more
follow (an opaque keyset token, so paging never skips a conversation that
changes meanwhile), conversation parts only from `GET /conversations/{id}`,
and `X-RateLimit-Limit/-Remaining/-Reset` with 429 once a window's calls are
spent (Intercom counts in 10-second windows).
"""

from __future__ import annotations

import base64
import copy
import json
import math
import time
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from supportpulse.fakes.faults import FaultMiddleware, Faults, json_throttle
from supportpulse.fakes.intercom_desk import IntercomDesk, Record

#: The access token `python -m supportpulse.fakes intercom` accepts.
DEMO_TOKEN = "fake-intercom-token"
VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", *(f"2.{minor}" for minor in range(15)))
DEFAULT_VERSION = "2.14"
MAX_PER_PAGE = 150
_OPERATORS = (">", "<", "=")


@dataclass
class IntercomLimits:
    """Calls allowed per window, as Intercom meters them."""

    calls_per_window: int = 1666
    window_s: float = 10.0


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = {
        "type": "error.list",
        "request_id": "fake",
        "errors": [{"code": code, "message": message}],
    }
    return JSONResponse(body, status_code=status, headers=headers)


def encode_after(updated_at: int, conversation_id: str) -> str:
    """Intercom's starting_after token: base64 of [updated_at ms, id]."""
    return base64.b64encode(
        json.dumps([updated_at * 1000, int(conversation_id)]).encode()
    ).decode()


def decode_after(token: str) -> tuple[int, int]:
    """(updated_at, id) of a token; ValueError when it is not one."""
    try:
        millis, number = json.loads(base64.b64decode(token, validate=True))
        return int(millis) // 1000, int(number)
    except (ValueError, TypeError) as exc:
        raise ValueError(token) from exc


class IntercomApp:
    """The routes of the fake; `app` is the ASGI application."""

    def __init__(
        self, desk: IntercomDesk, token: str, limits: IntercomLimits | None = None
    ) -> None:
        self.desk = desk
        self.limits = limits or IntercomLimits()
        self._authorization = f"Bearer {token}"
        self._window_start = desk.clock()
        self._used = 0
        self.requests = 0
        #: Intercom-Version values requests carried (None when absent).
        self.versions_seen: set[str | None] = set()
        self.app = Starlette(routes=[
            Route("/conversations/search", self._search, methods=["POST"]),
            Route("/conversations/{conversation_id}", self._conversation),
            Route("/admins", self._admins),
            Route("/teams", self._teams),
        ])  # fmt: skip

    def _guard(self, request: Request) -> Response | dict[str, str]:
        """A refusal (401, 400 version, 429) or the headers of an allowed call."""
        self.requests += 1
        self.versions_seen.add(request.headers.get("intercom-version"))
        version = request.headers.get("intercom-version", DEFAULT_VERSION)
        if request.headers.get("authorization") != self._authorization:
            return _error(401, "unauthorized", "Access Token Invalid")
        if version not in VERSIONS:
            return _error(
                400,
                "intercom_version_invalid",
                f"Requested version {version} is invalid",
            )

        now = self.desk.clock()
        if now - self._window_start >= self.limits.window_s:
            self._window_start, self._used = now, 0
        reset = math.ceil(self._window_start + self.limits.window_s)
        limit = self.limits.calls_per_window
        headers = {"Intercom-Version": version, "X-RateLimit-Limit": str(limit),
                   "X-RateLimit-Reset": str(reset)}  # fmt: skip
        if self._used >= limit:
            headers["X-RateLimit-Remaining"] = "0"
            return _error(429, "rate_limit_exceeded", "Rate Limit Exceeded", headers)
        self._used += 1
        headers["X-RateLimit-Remaining"] = str(limit - self._used)
        return headers

    async def _search(self, request: Request) -> Response:
        guard = self._guard(request)
        if isinstance(guard, Response):
            return guard
        try:
            body = await request.json()
            since, until = _window(body.get("query") or {})
            paging = body.get("pagination") or {}
            per_page = int(paging.get("per_page", 20))
            after = paging.get("starting_after")
            start = (
                decode_after(after)
                if after
                else (since - 1, 2**62)
                if since
                else (-1, 0)
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return _error(400, "parameter_invalid", f"Invalid search request: {exc}")
        if not 1 <= per_page <= MAX_PER_PAGE:
            return _error(
                400, "parameter_invalid", f"per_page must be 1..{MAX_PER_PAGE}"
            )
        sort = body.get("sort") or {"field": "updated_at", "order": "ascending"}
        if sort != {"field": "updated_at", "order": "ascending"}:
            return _error(
                400, "parameter_invalid", "the fake sorts by updated_at ascending only"
            )

        with self.desk.lock:
            ids = self.desk.after(*start)
            if until is not None:
                ids = [
                    i for i in ids if self.desk.conversations[i]["updated_at"] <= until
                ]
            total = len(ids) + (0 if after is None else self._before(since, start))
            chosen = [self._listed(self.desk.conversations[i]) for i in ids[:per_page]]
        done = total - len(ids)
        pages: dict[str, Any] = {
            "type": "pages", "page": done // per_page + 1, "per_page": per_page,
            "total_pages": max(1, math.ceil(total / per_page)),
        }  # fmt: skip
        if len(ids) > per_page:
            last = chosen[-1]
            token = encode_after(last["updated_at"], last["id"])
            pages["next"] = {"page": pages["page"] + 1, "starting_after": token}
        return JSONResponse(
            {"type": "conversation.list", "conversations": chosen, "total_count": total,
             "pages": pages},
            headers=guard,
        )  # fmt: skip

    def _before(self, since: int | None, start: tuple[int, int]) -> int:
        """Matches already paged past, for the page number."""
        first = (since - 1, 2**62) if since else (-1, 0)
        return len(self.desk.after(*first)) - len(self.desk.after(*start))

    def _listed(self, conversation: Record) -> Record:
        return copy_without_parts(conversation)

    async def _conversation(self, request: Request) -> Response:
        guard = self._guard(request)
        if isinstance(guard, Response):
            return guard
        conversation_id = request.path_params["conversation_id"]
        with self.desk.lock:
            found = self.desk.conversations.get(conversation_id)
            if found is None:
                return _error(404, "not_found", "Resource Not Found", guard)
            record = copy_without_parts(found)
            parts = [dict(part) for part in self.desk.parts[conversation_id]]
        record["conversation_parts"] = {
            "type": "conversation_part.list",
            "conversation_parts": parts,
            "total_count": len(parts),
        }
        return JSONResponse(record, headers=guard)

    async def _admins(self, request: Request) -> Response:
        guard = self._guard(request)
        if isinstance(guard, Response):
            return guard
        admins = [dict(admin) for admin in self.desk.admins.values()]
        return JSONResponse({"type": "admin.list", "admins": admins}, headers=guard)

    async def _teams(self, request: Request) -> Response:
        guard = self._guard(request)
        if isinstance(guard, Response):
            return guard
        teams = [dict(team) for team in self.desk.teams.values()]
        return JSONResponse({"type": "team.list", "teams": teams}, headers=guard)


def copy_without_parts(conversation: Record) -> Record:
    """A conversation as search shows it: no parts."""
    return copy.deepcopy(conversation)


def _window(query: dict[str, Any]) -> tuple[int | None, int | None]:
    """The inclusive updated_at bounds of a query: one filter or an AND of them."""
    filters = (
        query["value"] if query.get("operator") == "AND" else [query] if query else []
    )
    since = until = None
    for condition in filters:
        if (
            condition["field"] != "updated_at"
            or condition["operator"] not in _OPERATORS
        ):
            raise ValueError("the fake searches updated_at with >, < or = only")
        value = int(condition["value"])
        # Intercom's > and < include the boundary value.
        if condition["operator"] in (">", "="):
            since = value if since is None else max(since, value)
        if condition["operator"] in ("<", "="):
            until = value if until is None else min(until, value)
    return since, until


def throttled(seconds: float) -> dict[str, str]:
    """Headers of an injected 429: Intercom sends no Retry-After, only when
    the window resets."""
    return {"X-RateLimit-Limit": "1666", "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(math.ceil(time.time() + seconds))}  # fmt: skip


#: What a source needs to sign in to the fake that cli_app serves.
CREDENTIALS = f"access_token {DEMO_TOKEN}"


def cli_app(tickets: int, seed: int, faults: Faults) -> ASGIApp:
    """A fake workspace of `tickets` generated conversations behind `faults`,
    taking DEMO_TOKEN. Calls are not metered, so benchmarks measure the
    client; the `throttle` fault switch sends Intercom-shaped 429s instead."""
    desk = IntercomDesk(seed=seed)
    desk.populate(tickets)
    error = {"type": "error.list", "errors": [{"code": "rate_limit_exceeded"}]}
    faults.throttle_response = json_throttle(throttled, error)
    unmetered = IntercomLimits(calls_per_window=10**12)
    return FaultMiddleware(IntercomApp(desk, DEMO_TOKEN, unmetered).app, faults)
