"""Every error the API returns, as one JSON shape with a stable code.

    {"error": {"code": "not_found", "message": "no source named 'x'"}}

Codes map to statuses one to one, so a client can branch on either. FastAPI's
own request validation and Starlette's unknown paths are reshaped here too,
and an unexpected exception becomes `internal` without its text, which may
hold values a client must not see.
"""

from __future__ import annotations

from typing import Any, Literal

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from supportpulse.errors import StoreError, UserError
from supportpulse.logs import redact

log = structlog.get_logger("supportpulse.service")

ErrorCode = Literal[
    "not_found",
    "unauthorized",
    "forbidden",
    "invalid",
    "conflict",
    "too_large",
    "unavailable",
    "internal",
]

STATUS: dict[ErrorCode, int] = {
    "invalid": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "internal": 500,
    "unavailable": 503,
}
_CODE_OF_STATUS: dict[int, ErrorCode] = {
    **{status: code for code, status in STATUS.items()},
    400: "invalid",
    405: "not_found",
}


class ErrorDetail(BaseModel):
    """What went wrong, by stable code and in words."""

    code: ErrorCode
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(Exception):
    """Raised by routes to answer with an error document."""

    def __init__(
        self, code: ErrorCode, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    code: ErrorCode,
    message: str,
    headers: dict[str, str] | None = None,
    status: int | None = None,
) -> JSONResponse:
    """A JSON error response, by default with the status that belongs to `code`."""
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status or STATUS[code], headers=headers)


def responses(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the error responses a route may give."""
    return {
        STATUS[code]: {"model": ErrorBody, "description": code.replace("_", " ")}
        for code in codes
    }


def validation_message(errors: list[Any]) -> str:
    """The first validation problem, naming its dotted key."""
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ())]
    # "body", "query" and "path" say where, not which key.
    if location and location[0] in ("body", "query", "path", "header"):
        where, location = location[0], location[1:]
    else:
        where = "body"
    key = ".".join(location) or "(whole body)"
    return f"{where} key '{key}': {first.get('msg', 'is invalid')}"


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.code, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _CODE_OF_STATUS.get(exc.status_code, "invalid")
    if exc.status_code == 404:
        message = f"no such path: {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    # 405 keeps its status (clients and proxies know it) under the nearest code.
    return error_response(code, message, dict(exc.headers or {}), exc.status_code)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response("invalid", validation_message(list(exc.errors())))


async def _user_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response("invalid", str(exc))


async def _store_error(request: Request, exc: Exception) -> JSONResponse:
    log.warning("api_store_unavailable", path=request.url.path, error=redact(str(exc)))
    return error_response(
        "unavailable", f"the store is unavailable: {redact(str(exc))}"
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # A bug of ours: ERROR with the traceback, as text that logs.py masks.
    log.error(
        "api_request_failed",
        path=request.url.path,
        error=type(exc).__name__,
        exc_info=exc,
    )
    return error_response(
        "internal", f"internal error ({type(exc).__name__}); see the service log"
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, ours or the framework's, an `ErrorBody` response."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(UserError, _user_error)
    app.add_exception_handler(StoreError, _store_error)
    app.add_exception_handler(Exception, _unexpected)
