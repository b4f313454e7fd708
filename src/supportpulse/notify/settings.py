"""How each notification channel is configured under `alerts.notifications`.

Secrets (webhook secret, Slack and webhook URLs, SMTP password) are SecretStr:
their repr and str are masked, and only the channel that sends reads them.
Write them as `${VAR}` in the config file so they stay out of it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from supportpulse.alerts.durations import Duration

Severity = Literal["info", "warning", "critical"]
#: Severities from least to most urgent.
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")


class BaseChannelSettings(BaseModel):
    """What every channel shares: a name, a severity floor and delivery limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", pattern=r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$")
    #: The least urgent severity this channel hears of.
    min_severity: Severity = "info"
    #: Time allowed for one delivery attempt.
    timeout: Duration = Field(default=timedelta(seconds=10))
    #: Attempts per notification, the first included.
    attempts: int = Field(default=5, ge=1, le=20)
    #: Time allowed for all attempts of one notification together.
    retry_timeout: Duration = Field(default=timedelta(seconds=60))

    @model_validator(mode="before")
    @classmethod
    def _name_from_type(cls, data: Any) -> Any:
        # A channel without a name is called by its type: "webhook", "email".
        field = cls.model_fields.get("type")
        default = field.default if field is not None else None
        if isinstance(data, dict) and not data.get("name"):
            kind = data.get("type", default)
            return {**data, "name": kind} if isinstance(kind, str) else data
        return data

    @model_validator(mode="after")
    def _positive_limits(self) -> BaseChannelSettings:
        if self.timeout <= timedelta(0) or self.retry_timeout <= timedelta(0):
            raise ValueError("timeout and retry_timeout must be positive")
        return self

    def hears(self, severity: Severity) -> bool:
        """Whether a notification of this severity goes to this channel."""
        return SEVERITIES.index(severity) >= SEVERITIES.index(self.min_severity)


def _http_url(url: SecretStr, field: str) -> None:
    parts = urlsplit(url.get_secret_value())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # The URL itself may hold a token, so the message does not repeat it.
        raise ValueError(f"{field} must be an http:// or https:// URL")


class LogChannelSettings(BaseChannelSettings):
    """Transitions written to the supportpulse log."""

    type: Literal["log"] = "log"


class WebhookChannelSettings(BaseChannelSettings):
    """A JSON POST signed with HMAC-SHA256 of the body."""

    type: Literal["webhook"]
    url: SecretStr
    secret: SecretStr = Field(min_length=16)

    @model_validator(mode="after")
    def _check_url(self) -> WebhookChannelSettings:
        _http_url(self.url, "url")
        return self


class SlackChannelSettings(BaseChannelSettings):
    """A Slack incoming webhook; its URL is a credential."""

    type: Literal["slack"]
    url: SecretStr

    @model_validator(mode="after")
    def _check_url(self) -> SlackChannelSettings:
        _http_url(self.url, "url")
        return self


class EmailChannelSettings(BaseChannelSettings):
    """Plain-text mail through an SMTP server."""

    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    #: Upgrade the connection with STARTTLS; turn off only for a local relay.
    starttls: bool = True
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(min_length=3)
    recipients: list[str] = Field(min_length=1)
    subject_prefix: str = "[supportpulse]"


ChannelSettings = Annotated[
    LogChannelSettings
    | WebhookChannelSettings
    | SlackChannelSettings
    | EmailChannelSettings,
    Field(discriminator="type"),
]
