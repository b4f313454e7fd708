"""Real receivers on 127.0.0.1 ephemeral ports, each in its own thread.

`HTTPReceiver` records every POST and answers from a script of statuses; it
can verify the webhook signature, and can hang until released. `SMTPReceiver`
is an aiosmtpd server that keeps every message and can require a login.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

#: Upper bound for any wait on a receiver, so a broken test ends by itself.
WAIT_S = 20.0


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool | None


@dataclass
class Answer:
    """What the receiver replies to one request."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


class HTTPReceiver:
    """An HTTP server that records POSTs and replies from `answers`, then 200."""

    def __init__(
        self,
        answers: list[Answer] | None = None,
        *,
        secret: bytes | None = None,
        hang: bool = False,
    ) -> None:
        self.answers = list(answers or [])
        self.secret = secret
        self.hang = hang
        self.requests: list[Received] = []
        self.released = threading.Event()
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval makes shutdown() quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def url(self) -> str:
        """The receiver's URL, with a path and a query like real hooks have."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> HTTPReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int) -> list[Received]:
        """Block until `count` requests arrived (at most WAIT_S); return them all."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.requests) >= count, WAIT_S)
            return list(self.requests)

    async def arrived(self, count: int) -> list[Received]:
        """`wait_for` without blocking the event loop."""
        return await asyncio.to_thread(self.wait_for, count)

    def _record(self, received: Received) -> Answer:
        with self._arrived:
            self.requests.append(received)
            self._arrived.notify_all()
            return self.answers.pop(0) if self.answers else Answer()

    def _verify(self, headers: dict[str, str], body: bytes) -> bool | None:
        if self.secret is None:
            return None
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        given = headers.get("x-supportpulse-signature", "")
        return hmac.compare_digest(expected, given)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                ok = receiver._verify(headers, body)
                answer = receiver._record(Received(self.path, headers, body, ok))
                if receiver.hang:
                    receiver.released.wait(WAIT_S)
                    return
                if ok is False:
                    answer = Answer(401, b"bad signature")
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def http_receiver(
    answers: list[Answer] | None = None,
    *,
    secret: bytes | None = None,
    hang: bool = False,
) -> Iterator[HTTPReceiver]:
    """A started HTTPReceiver, stopped afterwards."""
    receiver = HTTPReceiver(answers, secret=secret, hang=hang).start()
    try:
        yield receiver
    finally:
        receiver.stop()


def free_port() -> int:
    """A port nothing listens on right now (aiosmtpd cannot bind port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SMTPReceiver:
    """Keeps every message; refuses recipients listed in `refuse` with their code."""

    def __init__(
        self,
        *,
        login: tuple[str, str] | None = None,
        refuse: dict[str, str] | None = None,
    ) -> None:
        self.messages: list[tuple[Envelope, Message]] = []
        self.logins: list[str] = []
        self.login = login
        self.refuse = refuse or {}
        extra: dict[str, Any] = {}
        if login is not None:
            # Plain-text AUTH is fine on loopback; real servers demand TLS first.
            extra = {"authenticator": self._authenticate, "auth_require_tls": False}
        self.port = free_port()
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, **extra
        )

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: Any,
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        self.messages.append((envelope, message_from_bytes(content)))
        return "250 Message accepted"

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        data: Any,
    ) -> AuthResult:
        assert self.login is not None
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False)
        given = (data.login.decode(), data.password.decode())
        if given == self.login:
            self.logins.append(given[0])
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@contextmanager
def smtp_receiver(**options: Any) -> Iterator[SMTPReceiver]:
    """A started SMTPReceiver, stopped afterwards."""
    receiver = SMTPReceiver(**options)
    receiver.controller.start()
    try:
        yield receiver
    finally:
        receiver.controller.stop()
