"""How each source's webhooks are verified: the `webhooks:` config section."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from supportpulse.alerts.durations import Duration

Scheme = Literal["zendesk", "intercom", "freshdesk"]


class WebhookSource(BaseModel):
    """One source's webhook secret and the vendor scheme that uses it.

    zendesk: `secret` is the webhook's signing secret. intercom: `secret` is
    the app's client secret. freshdesk: either `header` names a header that
    must carry `secret`, or `username` and `secret` are HTTP Basic
    credentials the automation rule sends.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: Scheme
    secret: str = Field(min_length=8, repr=False)
    header: str | None = None
    username: str | None = None

    @model_validator(mode="after")
    def _freshdesk_mode(self) -> Self:
        if self.scheme == "freshdesk" and not (self.header or self.username):
            raise ValueError("freshdesk webhooks need header or username")
        return self


class WebhookSettings(BaseModel):
    """Webhook verification per source name, and the limits for all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: dict[str, WebhookSource] = Field(default_factory=dict)
    max_bytes: int = Field(default=1_048_576, gt=0)
    #: Signed timestamps further than this from now are refused as replays.
    tolerance: Duration = timedelta(minutes=5)
    #: How long event ids are remembered to recognise redeliveries.
    remember: Duration = timedelta(days=3)
