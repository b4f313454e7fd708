"""Transport-level faults any fake vendor server can switch on.

`FaultMiddleware` wraps an ASGI app and, per request, may answer with a 429
storm, a 5xx, a slow response, or close the connection without answering.
Every decision comes from one seeded RNG, so a run with the same seed and
the same request order injects the same faults. The switches live in a
mutable `Faults` object: a test turns them on for a sync and off to let it
quiesce, while the server keeps running.

Data-level faults (duplicates, records changing while paged, page caps) are
protocol-specific and live in each vendor's fake.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Headers and body of a throttled reply, given the seconds to wait.
Throttle = Callable[[float], tuple[Mapping[str, str], bytes]]

#: Scope extension under which the loopback server exposes the connection's
#: transport, so a fault can close the socket before any byte of a reply.
TRANSPORT_EXTENSION = "supportpulse.transport"

_SERVER_ERRORS = (500, 502, 503, 504)


def retry_after_throttle(seconds: float) -> tuple[Mapping[str, str], bytes]:
    """A plain 429: `Retry-After` in whole seconds (RFC 9110 section 10.2.3)."""
    wait = str(max(1, math.ceil(seconds)))
    return {"Retry-After": wait}, b'{"error": "rate limited"}'


@dataclass
class Faults:
    """Probabilities (0..1) per request of each fault, and how each looks.

    `storm_length` requests in a row are refused once a 429 storm starts.
    Only paths starting with one of `paths` are faulted (all when empty), so
    a fake's control endpoints stay reliable.
    """

    seed: int = 0
    throttle: float = 0.0
    storm_length: int = 3
    retry_after_s: float = 1.0
    throttle_response: Throttle = retry_after_throttle
    server_error: float = 0.0
    slow: float = 0.0
    slow_s: float = 0.2
    drop: float = 0.0
    paths: tuple[str, ...] = ()
    #: Faults injected so far, by kind ("throttle", "server_error", "slow",
    #: "drop"), and requests seen: tests assert a fault really happened.
    injected: Counter[str] = field(default_factory=Counter)
    _rng: random.Random = field(init=False, repr=False)
    _storm_left: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def enable(self, **rates: float) -> None:
        """Set several switches at once, e.g. `enable(throttle=0.1, drop=0.05)`."""
        with self._lock:
            for name, rate in rates.items():
                if name not in ("throttle", "server_error", "slow", "drop"):
                    raise ValueError(f"unknown fault switch '{name}'")
                setattr(self, name, rate)

    def disable(self) -> None:
        """Switch every fault off and end any running storm."""
        with self._lock:
            self.throttle = self.server_error = self.slow = self.drop = 0.0
            self._storm_left = 0

    @property
    def active(self) -> bool:
        """Whether any switch is on."""
        return any((self.throttle, self.server_error, self.slow, self.drop))

    def decide(self, path: str) -> str | None:
        """The fault for one request to `path`, or None to serve it."""
        if self.paths and not path.startswith(self.paths):
            return None
        with self._lock:
            self.injected["requests"] += 1
            kind = self._draw()
            if kind is not None:
                self.injected[kind] += 1
            return kind

    def _draw(self) -> str | None:
        if self._storm_left > 0:
            self._storm_left -= 1
            return "throttle"
        # One draw per switch, always in the same order, keeps a seeded run
        # reproducible whatever the rates are.
        draws = [self._rng.random() for _ in range(4)]
        if draws[0] < self.throttle:
            self._storm_left = max(0, self.storm_length - 1)
            return "throttle"
        if draws[1] < self.server_error:
            return "server_error"
        if draws[2] < self.drop:
            return "drop"
        if draws[3] < self.slow:
            return "slow"
        return None

    def server_status(self) -> int:
        """Which 5xx to answer with."""
        with self._lock:
            return self._rng.choice(_SERVER_ERRORS)


class FaultMiddleware:
    """ASGI middleware that injects the faults `faults` decides on."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        kind = self.faults.decide(scope["path"])
        if kind == "throttle":
            headers, body = self.faults.throttle_response(self.faults.retry_after_s)
            await _reply(send, 429, headers, body)
        elif kind == "server_error":
            status = self.faults.server_status()
            await _reply(send, status, {}, b'{"error": "injected server error"}')
        elif kind == "drop":
            await _drop(scope, receive, send)
        else:
            if kind == "slow":
                await asyncio.sleep(self.faults.slow_s)
            await self.app(scope, receive, send)


async def _reply(
    send: Send, status: int, headers: Mapping[str, str], body: bytes
) -> None:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    raw.append((b"content-type", b"application/json"))
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _drop(scope: Scope, receive: Receive, send: Send) -> None:
    """Close the connection without a reply.

    With the loopback server's transport at hand the socket closes before a
    byte is written; on another server the reply is cut after its headers.
    """
    transport = scope.get("extensions", {}).get(TRANSPORT_EXTENSION)
    if transport is None:
        start: Message = {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"1024")],
        }
        await send(start)
        return

    transport.close()
    # Wait for the server to notice, so it does not answer on our behalf.
    while (await receive())["type"] != "http.disconnect":
        pass


def json_throttle(
    headers: Callable[[float], Mapping[str, str]], body: object
) -> Throttle:
    """A throttle reply with vendor-specific headers and a JSON body."""
    encoded = json.dumps(body).encode()

    def respond(seconds: float) -> tuple[Mapping[str, str], bytes]:
        return headers(seconds), encoded

    return respond
