"""A fake Freshdesk API v2 server over a `FreshdeskDesk`, as an ASGI app.

It reproduces what a connector must cope with (vendors.md section 2):
Basic auth with the API key, bare JSON arrays, `Link: <...>; rel="next"` only
when another page exists, `per_page` above 100 refused, the 300-page cap
(page 301 is a 400 validation error), only tickets created in the last 30
days without `updated_since`, deleted tickets only under `filter=deleted`,
account-wide credits per minute with `X-RateLimit-Total/-Remaining/
-Used-CurrentRequest` (each `include` costs 2 more) and 429 + Retry-After
once they are spent.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from supportpulse.fakes.faults import FaultMiddleware, Faults, json_throttle
from supportpulse.fakes.freshdesk_desk import DAY, FreshdeskDesk, Record, epoch_of

#: The API key `python -m supportpulse.fakes freshdesk` accepts.
DEMO_API_KEY = "fake-freshdesk-key"
MAX_PER_PAGE = 100
PAGE_CAP = 300
_ORDERS = ("created_at", "due_by", "updated_at", "status")
_INCLUDES = ("stats", "requester", "description")


@dataclass
class FreshdeskLimits:
    """The account's API credits and the data-level quirks switched on."""

    credits_per_window: int = 400
    window_s: float = 60.0
    page_cap: int = PAGE_CAP


class _Credits:
    """Credits spent in the current window, reset when the window ends."""

    def __init__(self, limits: FreshdeskLimits, desk: FreshdeskDesk) -> None:
        self.limits = limits
        self.desk = desk
        self.window_start = desk.clock()
        self.used = 0
        self.requests = 0

    def spend(self, cost: int) -> tuple[bool, dict[str, str]]:
        now = self.desk.clock()
        if now - self.window_start >= self.limits.window_s:
            self.window_start, self.used = now, 0
        self.requests += 1
        total = self.limits.credits_per_window
        if self.used + cost > total:
            wait = self.window_start + self.limits.window_s - now
            return False, {
                "Retry-After": str(max(1, math.ceil(wait))),
                "X-RateLimit-Total": str(total),
                "X-RateLimit-Remaining": "0",
            }
        self.used += cost
        return True, {
            "X-RateLimit-Total": str(total),
            "X-RateLimit-Remaining": str(total - self.used),
            "X-RateLimit-Used-CurrentRequest": str(cost),
        }


def _invalid(field_name: str, message: str) -> JSONResponse:
    body = {
        "description": "Validation failed",
        "errors": [{"field": field_name, "message": message, "code": "invalid_value"}],
    }
    return JSONResponse(body, status_code=400)


def _positive(request: Request, name: str, default: int) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return default
    return int(text) if text.isdigit() and int(text) > 0 else None


class FreshdeskApp:
    """The routes of the fake; `app` is the ASGI application."""

    def __init__(
        self,
        desk: FreshdeskDesk,
        api_key: str,
        limits: FreshdeskLimits | None = None,
    ) -> None:
        self.desk = desk
        self.limits = limits or FreshdeskLimits()
        self.credits = _Credits(self.limits, desk)
        token = base64.b64encode(f"{api_key}:X".encode()).decode()
        self._authorization = f"Basic {token}"
        self.app = Starlette(routes=[
            Route("/api/v2/tickets", self._tickets),
            Route("/api/v2/tickets/{ticket_id:int}/conversations", self._conversations),
            Route(
                "/api/v2/tickets/{ticket_id:int}/satisfaction_ratings", self._ratings
            ),
            Route("/api/v2/groups", self._groups),
            Route("/api/v2/agents", self._agents),
        ])  # fmt: skip

    @property
    def requests(self) -> int:
        """Requests answered so far, refused ones included."""
        return self.credits.requests

    def _guard(self, request: Request, cost: int) -> Response | dict[str, str]:
        """A refusal (401, 429) or the rate-limit headers of an allowed call."""
        if request.headers.get("authorization") != self._authorization:
            self.credits.requests += 1
            return JSONResponse(
                {"code": "invalid_credentials",
                 "message": "You have to be logged in to perform this action."},
                status_code=401,
            )  # fmt: skip
        allowed, headers = self.credits.spend(cost)
        if not allowed:
            return JSONResponse(
                {"code": "rate_limit_exceeded"}, status_code=429, headers=headers
            )
        return headers

    def _page(
        self, request: Request, rows: list[Any], headers: dict[str, str]
    ) -> Response | tuple[list[Any], dict[str, str]]:
        """One page of `rows` and its headers, with Link when more follow; or
        the 400 refusing the paging parameters."""
        per_page = _positive(request, "per_page", 30)
        page = _positive(request, "page", 1)
        if per_page is None or per_page > MAX_PER_PAGE:
            return _invalid(
                "per_page",
                f"It should be a Positive Integer less than or equal to {MAX_PER_PAGE}",
            )
        if page is None:
            return _invalid("page", "It should be a Positive Integer")
        if page > self.limits.page_cap:
            return _invalid(
                "page",
                f"You cannot access tickets beyond the {self.limits.page_cap}th page",
            )

        start = (page - 1) * per_page
        body = rows[start : start + per_page]
        if start + per_page < len(rows):
            query = dict(request.query_params)
            query["page"] = str(page + 1)
            url = request.url.replace(query=urlencode(query))
            headers = {**headers, "Link": f'<{url}>; rel="next"'}
        return body, headers

    def _listed(
        self, request: Request, rows: list[Any], headers: dict[str, str]
    ) -> Response:
        page = self._page(request, rows, headers)
        if isinstance(page, Response):
            return page
        return JSONResponse(page[0], headers=page[1])

    async def _tickets(self, request: Request) -> Response:
        includes = [
            name for name in request.query_params.get("include", "").split(",") if name
        ]
        for name in includes:
            if name not in _INCLUDES:
                return _invalid(
                    "include", f"It should be one of these values: {_INCLUDES}"
                )
        guard = self._guard(request, 1 + 2 * len(includes))
        if isinstance(guard, Response):
            return guard

        order_by = request.query_params.get("order_by", "created_at")
        order_type = request.query_params.get("order_type", "desc")
        if order_by not in _ORDERS:
            return _invalid("order_by", f"It should be one of these values: {_ORDERS}")
        if order_type not in ("asc", "desc"):
            return _invalid("order_type", "It should be one of these values: asc,desc")
        since_text = request.query_params.get("updated_since")
        try:
            since = epoch_of(since_text) if since_text else None
        except ValueError:
            return _invalid("updated_since", "It should be in the 'valid date' format")
        wanted_deleted = request.query_params.get("filter") == "deleted"

        with self.desk.lock:
            if since is not None and order_by == "updated_at":
                ids = self.desk.listing(wanted_deleted, since)
                if order_type == "desc":
                    ids.reverse()
            else:
                ids = self._scan(wanted_deleted, since, order_by, order_type)
            page = self._page(request, ids, guard)
            if isinstance(page, Response):
                return page
            body, headers = page
            rows = [_ticket_view(self.desk.tickets[i], includes) for i in body]
        return JSONResponse(rows, headers=headers)

    def _scan(
        self, deleted: bool, since: int | None, order_by: str, order_type: str
    ) -> list[int]:
        """Ticket ids by any order; without updated_since only tickets created
        in the last 30 days, as the real list does."""
        now = self.desk.now()
        picked = [
            ticket
            for ticket in self.desk.tickets.values()
            if ticket["deleted"] == deleted
            and (
                self.desk.updated_epoch(ticket) >= since
                if since is not None
                else epoch_of(ticket["created_at"]) >= now - 30 * DAY
            )
        ]
        picked.sort(
            key=lambda row: (_order_key(row, order_by), row["id"]),
            reverse=order_type == "desc",
        )
        return [ticket["id"] for ticket in picked]

    async def _conversations(self, request: Request) -> Response:
        guard = self._guard(request, 1)
        if isinstance(guard, Response):
            return guard
        ticket_id = request.path_params["ticket_id"]
        with self.desk.lock:
            if ticket_id not in self.desk.tickets:
                return JSONResponse({"code": "access_denied"}, status_code=404)
            rows = [dict(row) for row in self.desk.conversations[ticket_id]]
        return self._listed(request, rows, guard)

    async def _ratings(self, request: Request) -> Response:
        guard = self._guard(request, 1)
        if isinstance(guard, Response):
            return guard
        ticket_id = request.path_params["ticket_id"]
        with self.desk.lock:
            if ticket_id not in self.desk.tickets:
                return JSONResponse({"code": "access_denied"}, status_code=404)
            rows = [dict(row) for row in self.desk.ratings[ticket_id]]
        return JSONResponse(rows, headers=guard)

    async def _groups(self, request: Request) -> Response:
        guard = self._guard(request, 1)
        if isinstance(guard, Response):
            return guard
        with self.desk.lock:
            rows = [dict(group) for group in self.desk.groups.values()]
        return self._listed(request, rows, guard)

    async def _agents(self, request: Request) -> Response:
        guard = self._guard(request, 1)
        if isinstance(guard, Response):
            return guard
        with self.desk.lock:
            rows = [dict(agent) for agent in self.desk.agents.values()]
        return self._listed(request, rows, guard)


def _order_key(row: Record, order_by: str) -> Any:
    value = row.get(order_by)
    return epoch_of(value) if order_by.endswith(("_at", "_by")) and value else value


def _ticket_view(ticket: Record, includes: list[str]) -> Record:
    """A ticket as the list endpoint shows it with these embeds."""
    hidden = ("stats", "description", "description_text", "deleted", "_updated")
    view = {key: value for key, value in ticket.items() if key not in hidden}
    view["tags"] = list(ticket["tags"])
    if ticket["deleted"]:
        view["deleted"] = True
    if "stats" in includes:
        view["stats"] = dict(ticket["stats"])
    if "description" in includes:
        view["description"] = ticket["description"]
        view["description_text"] = ticket["description_text"]
    if "requester" in includes:
        view["requester"] = {"id": ticket["requester_id"], "name": None, "email": None}
    return view


def throttled(seconds: float) -> dict[str, str]:
    """Headers of an injected 429, shaped like the real one."""
    return {
        "Retry-After": str(max(1, math.ceil(seconds))),
        "X-RateLimit-Total": "400",
        "X-RateLimit-Remaining": "0",
    }


#: What a source needs to sign in to the fake that cli_app serves.
CREDENTIALS = f"api_key {DEMO_API_KEY}"


def cli_app(tickets: int, seed: int, faults: Faults) -> ASGIApp:
    """A fake account of `tickets` generated tickets behind `faults`, taking
    DEMO_API_KEY. Credits are not metered, so benchmarks measure the client;
    the `throttle` fault switch sends Freshdesk-shaped 429s instead."""
    desk = FreshdeskDesk(seed=seed)
    desk.populate(tickets)
    faults.throttle_response = json_throttle(throttled, {"code": "rate_limit_exceeded"})
    unmetered = FreshdeskLimits(credits_per_window=10**12)
    return FaultMiddleware(FreshdeskApp(desk, DEMO_API_KEY, unmetered).app, faults)
