"""No secret reaches a log line, whatever happens to a delivery.

Canary values stand in for the webhook secret, a token in a webhook URL, a
Slack webhook path and the SMTP password, and pass through `${VAR}`
interpolation as in production. Deliveries succeed, fail, retry and time
out; every event logged (ours and stamina's) and the rendered log output
must be free of every canary.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from supportpulse.alerts.state import State
from supportpulse.config import load_settings
from supportpulse.logs import configure_logging
from supportpulse.notify.notifier import Notifier

from .samples import transition
from .servers import Answer, free_port, http_receiver, smtp_receiver

CANARIES = {
    "SP_CANARY_HOOK_SECRET": "CANARY-hook-secret-0001",
    "SP_CANARY_URL_TOKEN": "CANARY-url-token-0002",
    "SP_CANARY_SLACK_PATH": "CANARY-slack-path-0003",
    "SP_CANARY_SMTP_PASSWORD": "CANARY-smtp-pass-0004",
}


def config(hook: str, slack: str, smtp_port: int, dead_port: int) -> str:
    return f"""\
alerts:
  notifications:
    - {{type: log}}
    - name: hook
      type: webhook
      url: "{hook}?token=${{SP_CANARY_URL_TOKEN}}"
      secret: "${{SP_CANARY_HOOK_SECRET}}"
      attempts: 2
    - name: slow-hook
      type: webhook
      url: "{hook}?token=${{SP_CANARY_URL_TOKEN}}&slow=1"
      secret: "${{SP_CANARY_HOOK_SECRET}}"
      timeout: 0.1s
      attempts: 1
    - type: slack
      url: "{slack}/services/${{SP_CANARY_SLACK_PATH}}"
    - type: email
      host: 127.0.0.1
      port: {smtp_port}
      starttls: false
      username: alerts
      password: "${{SP_CANARY_SMTP_PASSWORD}}"
      sender: alerts@example.org
      recipients: [oncall@example.org]
    - name: dead-smtp
      type: email
      host: 127.0.0.1
      port: {dead_port}
      starttls: false
      username: alerts
      password: "${{SP_CANARY_SMTP_PASSWORD}}"
      sender: alerts@example.org
      recipients: [oncall@example.org]
"""


def test_no_secret_is_ever_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    failing = [Answer(500), Answer(401), Answer(503)]
    with (
        http_receiver(failing) as hook,
        http_receiver([Answer(429, b"rate_limited", {"Retry-After": "0"})]) as slack,
        smtp_receiver(login=("alerts", CANARIES["SP_CANARY_SMTP_PASSWORD"])) as smtp,
    ):
        path = tmp_path / "config.yaml"
        path.write_text(config(hook.url, slack.url, smtp.port, free_port()))
        settings = load_settings(path)

        async def run() -> None:
            async with Notifier.from_settings(settings.alerts) as notifier:
                notifier.notify(transition())
                notifier.notify(transition(state=State.RESOLVED, id=8))
                await notifier.join()

        with capture_logs() as events:
            asyncio.run(run())
        saved = structlog.get_config()
        configure_logging("debug", "json")
        try:
            asyncio.run(run())
        finally:
            structlog.configure(**saved)

    rendered = capsys.readouterr()
    everything = f"{events!r}\n{rendered.out}\n{rendered.err}\n{settings!r}"
    assert {e["event"] for e in events} >= {
        "notification_sent",
        "notification_failed",
        "stamina.retry_scheduled",
    }
    assert len(smtp.logins) == 4
    for canary in CANARIES.values():
        assert canary not in everything
