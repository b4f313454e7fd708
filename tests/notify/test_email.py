"""The email channel against a local aiosmtpd server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from supportpulse.notify.base import DeliveryError
from supportpulse.notify.email import EmailChannel
from supportpulse.notify.notifier import deliver
from supportpulse.notify.settings import EmailChannelSettings

from .samples import transition
from .servers import free_port, smtp_receiver

PASSWORD = "smtp-pa55word"


def channel(port: int, **overrides: Any) -> EmailChannel:
    settings = {
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "starttls": False,
        "sender": "alerts@example.org",
        "recipients": ["oncall@example.org", "lead@example.org"],
        **overrides,
    }
    return EmailChannel(EmailChannelSettings.model_validate(settings))


def send(target: EmailChannel) -> bool:
    return asyncio.run(deliver(target, transition()))


def failure(target: EmailChannel) -> DeliveryError:
    async def run() -> DeliveryError:
        with pytest.raises(DeliveryError) as caught:
            await target.send(transition())
        return caught.value

    return asyncio.run(run())


def test_email_arrives_with_summary_and_payload() -> None:
    with smtp_receiver() as smtp:
        delivered = send(channel(smtp.port))

    assert delivered
    ((envelope, message),) = smtp.messages
    assert envelope.mail_from == "alerts@example.org"
    assert envelope.rcpt_tos == ["oncall@example.org", "lead@example.org"]
    assert message["Subject"] == "[supportpulse] FIRING frt for team=billing"
    assert message["To"] == "oncall@example.org, lead@example.org"
    text = message.get_payload(decode=True).decode().replace("\r\n", "\n")
    first, _, rest = text.partition("\n\n")
    assert first.startswith("[warning] frt is firing for team=billing")
    assert json.loads(rest)["value"] == 4210.0


def test_email_logs_in_with_the_configured_password() -> None:
    with smtp_receiver(login=("alerts", PASSWORD)) as smtp:
        delivered = send(channel(smtp.port, username="alerts", password=PASSWORD))

    assert delivered
    assert smtp.logins == ["alerts"]
    assert len(smtp.messages) == 1


def test_email_wrong_password_is_fatal() -> None:
    with smtp_receiver(login=("alerts", PASSWORD)) as smtp:
        error = failure(channel(smtp.port, username="alerts", password="wrong"))

    assert not error.retriable
    assert "check username and password" in str(error)
    assert smtp.messages == []


def test_email_starttls_against_a_server_without_it_is_fatal() -> None:
    with smtp_receiver() as smtp:
        error = failure(channel(smtp.port, starttls=True))

    assert not error.retriable
    assert "starttls" in str(error).lower()


def test_email_permanently_refused_recipients_are_not_retried() -> None:
    refuse = {"oncall@example.org": "550 no such user", "lead@example.org": "550 gone"}
    with smtp_receiver(refuse=refuse) as smtp:
        error = failure(channel(smtp.port))

    assert not error.retriable
    assert str(error) == "email: every recipient refused (SMTP 550)"


def test_email_temporary_refusal_is_retried() -> None:
    refuse = {"oncall@example.org": "451 try later", "lead@example.org": "451 later"}
    with smtp_receiver(refuse=refuse) as smtp:
        error = failure(channel(smtp.port))

    assert error.retriable


def test_email_one_refused_recipient_is_not_resent_to_the_others() -> None:
    with smtp_receiver(refuse={"lead@example.org": "550 no such user"}) as smtp:
        error = failure(channel(smtp.port))

    assert not error.retriable
    assert str(error) == "email: 1 of 2 recipients refused"
    assert len(smtp.messages) == 1


def test_email_unreachable_server_is_retriable() -> None:
    error = failure(channel(free_port()))

    assert error.retriable
    assert "cannot reach the SMTP server" in str(error)
