"""A small typed client of the supportpulse HTTP API (/api/v1), over httpx.

Every failure, whether the service is unreachable, refuses a token, or
rejects a request, becomes one `ApiError` whose message is ready to show: the
API's own error message when it sent one, else what happened and what to try.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

API_URL_ENV = "SUPPORTPULSE_API_URL"
ADMIN_TOKEN_ENV = "SUPPORTPULSE_ADMIN_TOKEN"
VIEWER_TOKEN_ENV = "SUPPORTPULSE_VIEWER_TOKEN"
#: Long enough for a KPI query over a large store, short enough for a wall screen.
TIMEOUT_S = 30.0
#: Uploads run a whole ingest before the API answers.
UPLOAD_TIMEOUT_S = 300.0

Document = dict[str, Any]


class ApiError(Exception):
    """The API could not be used; `code` is the API's error code when it sent one."""

    def __init__(
        self, message: str, code: str = "unavailable", status: int = 0
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class KPIFilter:
    """Which tickets a KPI request counts; None means all."""

    team: str | None = None
    channel: str | None = None
    priority: str | None = None

    def params(self) -> dict[str, str]:
        """The filters as query parameters."""
        named = {"team": self.team, "channel": self.channel, "priority": self.priority}
        return {name: value for name, value in named.items() if value is not None}


def token_from_env() -> str | None:
    """The admin token when set, else the viewer token, else none."""
    return os.environ.get(ADMIN_TOKEN_ENV) or os.environ.get(VIEWER_TOKEN_ENV) or None


class ApiClient:
    """Calls the API at `base_url` with a bearer token when one is given."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=TIMEOUT_S,
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- reading ----------------------------------------------------------

    def kpis(
        self,
        since: str | None = None,
        until: str | None = None,
        by: tuple[str, ...] = (),
        where: KPIFilter | None = None,
    ) -> Document:
        """The `kpis --json` document for a window, grouped by `by`."""
        params = _window(since, until)
        if by:
            params["by"] = ",".join(by)
        params.update((where or KPIFilter()).params())
        return self._json("GET", "/api/v1/kpis", params=params)

    def series(
        self,
        bucket: str,
        since: str | None = None,
        until: str | None = None,
        where: KPIFilter | None = None,
    ) -> Document:
        """KPIs per time bucket: {"bucket", "points": [{"start", "kpis"}]}."""
        params = {**_window(since, until), "bucket": bucket}
        params.update((where or KPIFilter()).params())
        return self._json("GET", "/api/v1/kpis/series", params=params)

    def sources(self) -> list[Document]:
        """Every source's status, type and masked options."""
        return list(self._json("GET", "/api/v1/sources")["sources"])

    def alerts(self) -> list[Document]:
        """The current state of every alert rule and group."""
        return list(self._json("GET", "/api/v1/alerts")["alerts"])

    def alert_history(self, limit: int = 20) -> list[Document]:
        """The latest alert transitions, newest first."""
        return list(
            self._json("GET", "/api/v1/alerts/history", params={"limit": limit})[
                "events"
            ]
        )

    # -- acting -----------------------------------------------------------

    def acknowledge(self, rule: str, group: Document | None = None) -> Document:
        """Acknowledge a firing alert (one group of a grouped rule) so it stays
        quiet until it resolves."""
        body = {"group": group} if group else None
        return self._json(
            "POST", f"/api/v1/alerts/{_segment(rule)}/acknowledge", json=body
        )

    def add_source(self, source: Document) -> Document:
        """Add and start a source from a SourceSettings document."""
        return self._json("POST", "/api/v1/sources", json=source)

    def test_source(self, name: str) -> Document:
        """What the source delivers: mapping, sample rows and problems."""
        return self._json("POST", f"/api/v1/sources/{_segment(name)}/test")

    def pause_source(self, name: str) -> Document:
        """Stop polling a source, keeping its cursor."""
        return self._json("POST", f"/api/v1/sources/{_segment(name)}/pause")

    def resume_source(self, name: str) -> Document:
        """Continue a paused source."""
        return self._json("POST", f"/api/v1/sources/{_segment(name)}/resume")

    def remove_source(self, name: str) -> None:
        """Stop a source and forget it."""
        self._request("DELETE", f"/api/v1/sources/{_segment(name)}")

    def ingest(
        self, filename: str, content: bytes, source: str | None = None
    ) -> Document:
        """Ingest an uploaded file; the summary and its quarantined rows."""
        data = {"source": source} if source else None
        return self._json(
            "POST",
            "/api/v1/ingest",
            files={"file": (filename, content, "text/csv")},
            data=data,
            timeout=UPLOAD_TIMEOUT_S,
        )

    # -- transport --------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> Document:
        response = self._request(method, path, **kwargs)
        try:
            document = response.json()
        except ValueError:
            raise ApiError(
                f"the API at {self.base_url} answered {path} with something other "
                "than JSON; is this a supportpulse service?"
            ) from None
        if not isinstance(document, dict):
            raise ApiError(f"the API answered {path} with an unexpected document")
        return document

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ApiError(
                f"the API at {self.base_url} did not answer {path} in time; "
                "it may be busy, try again"
            ) from None
        except httpx.HTTPError as exc:
            raise ApiError(
                f"cannot reach the API at {self.base_url} ({type(exc).__name__}); "
                "is `supportpulse run` serving there?"
            ) from None
        if response.is_success:
            return response
        raise _error_of(response, self.base_url)


def _error_of(response: httpx.Response, base_url: str) -> ApiError:
    """The API's own error message, or one naming the status."""
    code, message = "", ""
    try:
        body = response.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code, message = str(error.get("code", "")), str(error.get("message", ""))
    except ValueError:
        pass
    if response.status_code == 401 and not message:
        message = "the API needs a token; set SUPPORTPULSE_VIEWER_TOKEN"
    if response.status_code == 403 and not message:
        message = "this needs the admin token; set SUPPORTPULSE_ADMIN_TOKEN"
    if not message:
        message = f"the API at {base_url} answered {response.status_code}"
    return ApiError(message, code or "internal", response.status_code)


def _window(since: str | None, until: str | None) -> dict[str, str]:
    params = {}
    if since:
        params["since"] = since
    if until:
        params["until"] = until
    return params


def _segment(name: str) -> str:
    # Names are validated to [A-Za-z0-9_.-], but a path segment is quoted anyway.
    return quote(name, safe="")
