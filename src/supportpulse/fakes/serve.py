"""Serve an ASGI app with uvicorn on a loopback port in a background thread.

Tests and benchmarks talk to fakes over a real socket. The server binds an
ephemeral port on 127.0.0.1 (or ::1) and refuses any other address: fakes
are never reachable from outside the machine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from supportpulse.fakes.faults import TRANSPORT_EXTENSION

LOOPBACK = "127.0.0.1"


class _TransportExposingProtocol(H11Protocol):
    """uvicorn's h11 protocol, adding the connection's transport to each
    request's scope so a fault can drop the connection without a reply."""

    def handle_events(self) -> None:
        super().handle_events()
        # The request task was created but has not run yet: it will see this.
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope.setdefault("extensions", {})[TRANSPORT_EXTENSION] = self.transport


def require_loopback(host: str) -> None:
    """Refuse any address that is not the loopback interface."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"fake servers bind loopback only, not '{host}'")


@dataclass
class ServedApp:
    """A running server: its base URL, and the thread and server behind it."""

    url: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread


def start(app: ASGIApp, host: str = LOOPBACK, port: int = 0) -> ServedApp:
    """Start serving `app` on `host`:`port` (0 picks a free port); returns
    once the socket accepts connections."""
    require_loopback(host)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_TransportExposingProtocol,
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve()), name="fake-server", daemon=True
    )
    thread.start()

    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"fake server on {host}:{port} did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return ServedApp(f"http://{shown}:{bound}", bound, server, thread)


def stop(served: ServedApp) -> None:
    """Stop the server and wait for its thread."""
    served.server.should_exit = True
    served.thread.join(timeout=10)


@contextmanager
def serving(app: ASGIApp, host: str = LOOPBACK, port: int = 0) -> Iterator[ServedApp]:
    """Serve `app` for the duration of a `with` block."""
    served = start(app, host, port)
    try:
        yield served
    finally:
        stop(served)
