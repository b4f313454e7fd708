"""Checking an upload's caller and size before a byte of its body is read.

FastAPI parses a multipart form, spooling its file to disk, before any route
dependency runs; so without this guard anyone could make the service write a
body of any size to disk before being told they may not upload at all. The
guard answers 401/403 from the headers alone, 413 from a Content-Length over
the limit, and stops reading a body sent without one once it passes the limit.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supportpulse.service.auth import Role, role_of
from supportpulse.service.errors import ApiError, error_response
from supportpulse.service.runtime import ServiceRuntime

#: Room for the multipart framing and the form's other fields.
_FRAMING = 64 * 1024


class _TooLargeError(Exception):
    """The body passed the limit while being read."""


class UploadGuard:
    """ASGI middleware for the upload routes under `paths`."""

    def __init__(self, app: ASGIApp, runtime: ServiceRuntime, paths: set[str]) -> None:
        self.app = app
        self.runtime = runtime
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return

        headers = {name.decode("latin-1"): value.decode("latin-1")
                   for name, value in scope["headers"]}  # fmt: skip
        service = self.runtime.settings.service
        try:
            if role_of(service, headers.get("authorization")) < Role.admin:
                raise ApiError("forbidden", "this needs the admin token")
        except ApiError as refused:
            response = error_response(refused.code, refused.message, refused.headers)
            await response(scope, receive, send)
            return

        limit = int(service.max_upload_mb * 1024 * 1024) + _FRAMING
        too_large = error_response(
            "too_large",
            f"the upload is larger than the {service.max_upload_mb:g} MB limit "
            "(service.max_upload_mb); ingest the file with `supportpulse ingest`",
        )
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await too_large(scope, receive, send)
            return

        read = 0
        exceeded = False

        async def counted() -> Message:
            nonlocal read, exceeded
            message = await receive()
            read += len(message.get("body", b""))
            if read > limit:
                exceeded = True
                raise _TooLargeError
            return message

        async def answered(message: Message) -> None:
            # The form parser turns any failure into its own 400; once the
            # limit is passed, that answer is replaced by the 413.
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start":
                await too_large(scope, receive, send)

        try:
            await self.app(scope, counted, answered)
        except _TooLargeError:
            await too_large(scope, receive, send)
