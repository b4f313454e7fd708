"""Serving the API on the engine's own event loop with uvicorn."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import structlog
import uvicorn

from supportpulse.config import ServiceSettings
from supportpulse.errors import UserError
from supportpulse.service.app import create_app
from supportpulse.service.auth import check_bind
from supportpulse.service.runtime import ServiceRuntime

log = structlog.get_logger("supportpulse.service")


class EngineServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT and SIGTERM to the engine, which
    drains its queue before anything stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(settings: ServiceSettings) -> socket.socket:
    """The listening socket, opened before the engine starts so a taken port
    or an open non-loopback bind fails at once with one clear error."""
    check_bind(settings)
    try:
        infos = socket.getaddrinfo(
            settings.host, settings.port, type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise UserError(
            f"service.host '{settings.host}' cannot be resolved ({exc.strerror})"
        ) from None

    family, kind, protocol, _, address = infos[0]
    listener = socket.socket(family, kind, protocol)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
    except OSError as exc:
        listener.close()
        raise UserError(
            f"cannot listen on {settings.host}:{settings.port} ({exc.strerror}); "
            "stop what uses that port or set service.port"
        ) from None
    listener.listen(128)
    listener.setblocking(False)
    return listener


def make_server(runtime: ServiceRuntime) -> EngineServer:
    """A server for the runtime's API; run it with `serve(sockets=[bind(...)])`."""
    config = uvicorn.Config(
        create_app(runtime),
        # The service logs through structlog; uvicorn's own configuration
        # would print request lines with query strings.
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    return EngineServer(config)


def address(listener: socket.socket) -> str:
    """The base URL a bound socket serves."""
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"
