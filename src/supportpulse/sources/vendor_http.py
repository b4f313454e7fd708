"""HTTP calls of the help-desk connectors: paced, classified, retried.

Every request waits for the source's token bucket, and every answer feeds it
the vendor's rate-limit headers. Answers become errors by what the engine
should do with them: 429 and 5xx and broken connections are retriable
(honouring Retry-After), bad credentials and permissions are fatal. A page
that needs many calls (one per ticket's conversations) retries each call a
few times on its own, so one dropped connection does not throw away the page.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import stamina

from supportpulse.engine.ratelimit import TokenBucket, retry_after_s
from supportpulse.errors import FatalSourceError, RetriableSourceError

#: Attempts and total seconds for one call inside a page.
CALL_ATTEMPTS = 6
CALL_TIMEOUT_S = 60.0


class VendorHTTP:
    """One vendor account's HTTP client for one source."""

    def __init__(
        self,
        source: str,
        base_url: str,
        bucket: TokenBucket,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
        hints: Mapping[int, str] | None = None,
    ) -> None:
        self.source = source
        self.bucket = bucket
        self.requests = 0
        self._hints = dict(hints or {})
        self._client = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            headers=dict(headers or {}),
            timeout=timeout_s,
            follow_redirects=False,
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        """One request; statuses in `allow` are returned, not raised."""
        await self.bucket.acquire()
        self.requests += 1
        try:
            response = await self._client.request(
                method, path, params=params, json=json
            )
        except httpx.TimeoutException as exc:
            raise RetriableSourceError(f"{method} {path} timed out") from exc
        except httpx.TransportError as exc:
            raise RetriableSourceError(
                f"{method} {path}: {type(exc).__name__}"
            ) from exc

        self.bucket.observe(response.headers)
        if response.status_code not in allow:
            self._check(method, path, response)
        return response

    async def call_retrying(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        """`call`, retried a bounded number of times on retriable errors."""
        async for attempt in stamina.retry_context(
            on=_backoff, attempts=CALL_ATTEMPTS, timeout=CALL_TIMEOUT_S
        ):
            with attempt:
                return await self.call(
                    method, path, params=params, json=json, allow=allow
                )
        raise AssertionError("unreachable: stamina re-raises the last error")

    def _check(self, method: str, path: str, response: httpx.Response) -> None:
        status = response.status_code
        where = f"{method} {path}"
        if status == 429:
            wait = retry_after_s(response.headers.get("retry-after"))
            if wait is None:
                wait = _until_reset(response.headers.get("x-ratelimit-reset"))
            if wait is not None:
                self.bucket.pause_for(wait)
            raise RetriableSourceError(f"429 from {where}", retry_after=wait)
        if status >= 500:
            raise RetriableSourceError(
                f"{status} from {where}",
                retry_after=retry_after_s(response.headers.get("retry-after")),
            )
        if status >= 400:
            hint = self._hints.get(status, "check the source's options")
            raise FatalSourceError(
                f"source '{self.source}': {status} from {where}; {hint}"
            )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def _backoff(exc: Exception) -> bool | float:
    """Retry retriable errors, waiting exactly as long as the vendor asked."""
    if not isinstance(exc, RetriableSourceError):
        return False
    if exc.retry_after is not None:
        return exc.retry_after
    return True


def _until_reset(value: str | None) -> float | None:
    """Seconds until an X-RateLimit-Reset given in epoch seconds (Intercom)."""
    try:
        reset = float(value or "")
    except ValueError:
        return None
    return max(0.0, reset - time.time())


def json_body(response: httpx.Response, where: str) -> Any:
    """The response's JSON, or a retriable error when it is cut or garbled."""
    try:
        return response.json()
    except ValueError as exc:
        raise RetriableSourceError(f"{where} returned invalid JSON") from exc


def server_now(response: httpx.Response) -> int | None:
    """The server's clock from its Date header, in epoch seconds."""
    try:
        return int(parsedate_to_datetime(response.headers["date"]).timestamp())
    except (KeyError, TypeError, ValueError):
        return None
