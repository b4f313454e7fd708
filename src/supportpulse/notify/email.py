"""The email channel: a plain-text message through SMTP, STARTTLS by default.

SMTP replies 4xx are temporary and retried; 5xx are permanent (RFC 5321
section 4.2.1), as are refused credentials.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from supportpulse.alerts.transition import Transition
from supportpulse.notify.base import Channel, DeliveryError
from supportpulse.notify.message import payload, subject, summary
from supportpulse.notify.settings import EmailChannelSettings


def email_message(
    transition: Transition, settings: EmailChannelSettings
) -> EmailMessage:
    """The message: summary line, then the JSON payload for machines."""
    message = EmailMessage()
    message["Subject"] = f"{settings.subject_prefix} {subject(transition)}".strip()
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="supportpulse.invalid")
    text = json.dumps(payload(transition), indent=2, sort_keys=True)
    message.set_content(f"{summary(transition)}\n\n{text}\n")
    return message


class EmailChannel(Channel):
    """Sends one message per transition to the configured recipients."""

    def __init__(self, settings: EmailChannelSettings) -> None:
        super().__init__(settings)
        self._settings = settings

    async def send(self, transition: Transition) -> None:
        """Connect, send, disconnect; raise DeliveryError when it fails."""
        settings = self._settings
        password = settings.password.get_secret_value() if settings.password else None
        try:
            refused, _ = await aiosmtplib.send(
                email_message(transition, settings),
                hostname=settings.host,
                port=settings.port,
                username=settings.username,
                password=password,
                start_tls=settings.starttls,
                timeout=settings.timeout.total_seconds(),
            )
        except aiosmtplib.SMTPException as exc:
            raise _delivery_error(self.name, exc) from None
        if refused:
            # The others got it: another attempt would send them duplicates.
            raise DeliveryError(
                f"{self.name}: {len(refused)} of {len(settings.recipients)} "
                "recipients refused",
                retriable=False,
            )


def _delivery_error(channel: str, exc: aiosmtplib.SMTPException) -> DeliveryError:
    # Server replies can echo addresses and user names, so only codes are kept.
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"{channel}: SMTP login refused ({exc.code}); check username and password",
            retriable=False,
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        return DeliveryError(
            f"{channel}: every recipient refused (SMTP {min(codes)})",
            retriable=all(400 <= code < 500 for code in codes),
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return DeliveryError(
            f"{channel}: SMTP server answered {exc.code}",
            retriable=400 <= exc.code < 500,
        )
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | aiosmtplib.SMTPConnectError):
        return DeliveryError(
            f"{channel}: cannot reach the SMTP server ({type(exc).__name__})",
            retriable=True,
        )
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return DeliveryError(f"{channel}: SMTP server disconnected", retriable=True)
    return DeliveryError(
        f"{channel}: SMTP failed ({type(exc).__name__}); check host, port and starttls",
        retriable=False,
    )
