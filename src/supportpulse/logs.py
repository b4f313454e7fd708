"""Structured logs on stderr, with secrets masked before anything is written.

Levels: ERROR for a bug in supportpulse, WARNING for a degraded source or a
scheduled retry, INFO for state changes (store migrated, file ingested), DEBUG
for per-request and per-batch detail. Log calls pass values as fields, never
pre-formatted text, and never customer message text.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|api[_-]?key|authorization|cookie", re.IGNORECASE
)
# user:password@ in any URL-looking value.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.I)
# Option names that hold credentials beside those above: keys, DSNs, private
# parts, and headers like X-Auth (but not "author").
_SECRET_OPTION = re.compile(
    r"(^|[_-])(key|dsn|credentials?|private|auth|sig|signature)($|[_-])", re.IGNORECASE
)
# A query parameter with a secret-looking name, e.g. ?api_key=... or &token=...
_URL_SECRET_PARAM = re.compile(
    r"(?P<head>[?&][^=&#\s]*(?:pass|secret|token|key|auth|sig)[^=&#\s]*=)[^&#\s]+",
    re.IGNORECASE,
)
MASK = "***"
_DEBUG = False


def debug_enabled() -> bool:
    """Whether logs are at DEBUG, where tracebacks of our own bugs are shown."""
    return _DEBUG


def redact(value: Any) -> Any:
    """Mask passwords and secret-looking query parameters inside URLs in a
    value; other values pass unchanged."""
    if isinstance(value, str):
        value = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", value)
        return _URL_SECRET_PARAM.sub(lambda m: f"{m['head']}{MASK}", value)
    return value


def is_secret_name(name: str) -> bool:
    """Whether a field or option called `name` is likely to hold a secret."""
    return bool(_SECRET_KEY.search(name) or _SECRET_OPTION.search(name))


def mask_secrets(value: Any) -> Any:
    """A copy of a JSON-like value with secret-looking entries masked and
    passwords in URLs removed, safe to show in the API or the dashboard."""
    if isinstance(value, dict):
        return {
            name: MASK if is_secret_name(str(name)) else mask_secrets(item)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return redact(value)


def _mask_secrets(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event):
        if _SECRET_KEY.search(key):
            event[key] = MASK
        else:
            event[key] = redact(event[key])
    return event


def configure_logging(level: str = "warning", fmt: str = "console") -> None:
    """Send structured logs to stderr at `level`, as `console` or `json` lines."""
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level}")
    global _DEBUG
    _DEBUG = numeric <= logging.DEBUG
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Tracebacks become plain text here, before masking: no local
            # variables (they hold URLs and message text), and any password
            # in the text is masked like every other field.
            structlog.processors.format_exc_info,
            _mask_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
