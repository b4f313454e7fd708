"""Webhook signatures of all three vendors, with the vendors.md section 9 vectors."""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from supportpulse.webhooks.settings import WebhookSource
from supportpulse.webhooks.verify import (
    WebhookRefused,
    event_id,
    intercom_signature,
    verify,
    zendesk_signature,
)

WINDOW = timedelta(minutes=5)

ZENDESK_SECRET = "my-zendesk-signing-secret"
ZENDESK_TS = "2024-05-01T12:00:00Z"
ZENDESK_BODY = b'{"type":"zen:event-type:ticket.created","id":"evt-1"}'
ZENDESK_SIG = "asfYE67S3V6llCXswdfh2kOxIeVkJBQm+nb8VNDepVU="
ZENDESK_AT = datetime(2024, 5, 1, 12, 1, tzinfo=UTC)

INTERCOM_SECRET = "my-intercom-client-secret"
INTERCOM_BODY = (
    b'{"type":"notification_event","topic":"conversation.user.created","id":"notif_1"}'
)
INTERCOM_SIG = "sha1=ef38deb19276e6dc1d3b08a3c641e6bf8e7e3449"

ZENDESK = WebhookSource(scheme="zendesk", secret=ZENDESK_SECRET)
INTERCOM = WebhookSource(scheme="intercom", secret=INTERCOM_SECRET)
FRESHDESK_HEADER = WebhookSource(
    scheme="freshdesk", secret="fd-shared-secret", header="X-Supportpulse-Token"
)
FRESHDESK_BASIC = WebhookSource(
    scheme="freshdesk", secret="fd-password-123", username="freshdesk"
)


def _zendesk_headers(
    signature: str = ZENDESK_SIG, stamp: str = ZENDESK_TS
) -> dict[str, str]:
    return {
        "x-zendesk-webhook-signature": signature,
        "x-zendesk-webhook-signature-timestamp": stamp,
    }


def test_zendesk_signature_is_the_section_9_vector() -> None:
    assert zendesk_signature(ZENDESK_SECRET, ZENDESK_TS, ZENDESK_BODY) == ZENDESK_SIG


def test_zendesk_valid_webhook_gives_its_event_id() -> None:
    found = verify(ZENDESK, _zendesk_headers(), ZENDESK_BODY, ZENDESK_AT, WINDOW)

    assert found == "evt-1"


def test_zendesk_legacy_body_then_timestamp_sample_is_refused() -> None:
    legacy = WebhookSource(
        scheme="zendesk", secret="HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="
    )
    headers = _zendesk_headers(
        "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=", "2021-07-25T10:00:00Z"
    )
    at = datetime(2021, 7, 25, 10, 0, tzinfo=UTC)

    with pytest.raises(WebhookRefused, match="does not match"):
        verify(legacy, headers, b'{"say": "hello"}', at, WINDOW)
    headers["x-zendesk-webhook-signature"] = (
        "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk="
    )
    assert verify(legacy, headers, b'{"say": "hello"}', at, WINDOW)


@pytest.mark.parametrize(
    ("headers", "body", "at", "reason"),
    [
        ({}, ZENDESK_BODY, ZENDESK_AT, "unsigned"),
        (_zendesk_headers(stamp=""), ZENDESK_BODY, ZENDESK_AT, "unsigned"),
        (_zendesk_headers(), ZENDESK_BODY + b" ", ZENDESK_AT, "does not match"),
        (_zendesk_headers("A" * 44), ZENDESK_BODY, ZENDESK_AT, "does not match"),
        (_zendesk_headers(), ZENDESK_BODY, ZENDESK_AT + WINDOW, "replay window"),
        (_zendesk_headers(), ZENDESK_BODY, ZENDESK_AT - 2 * WINDOW, "replay window"),
        (_zendesk_headers(stamp="yesterday"), ZENDESK_BODY, ZENDESK_AT, "ISO 8601"),
        (_zendesk_headers(stamp="2024-05-01T12:00:00"), ZENDESK_BODY, ZENDESK_AT,
         "replay window"),
    ],
    ids=["unsigned", "no-timestamp", "body-changed", "forged", "replayed-late",
         "from-the-future", "bad-timestamp", "no-zone"],
)  # fmt: skip
def test_zendesk_refuses(
    headers: dict[str, str], body: bytes, at: datetime, reason: str
) -> None:
    with pytest.raises(WebhookRefused, match=reason):
        verify(ZENDESK, headers, body, at, WINDOW)


def test_intercom_signature_is_the_section_9_vector() -> None:
    assert intercom_signature(INTERCOM_SECRET, INTERCOM_BODY) == INTERCOM_SIG


def test_intercom_valid_webhook_gives_its_notification_id() -> None:
    headers = {"x-hub-signature": INTERCOM_SIG}

    assert verify(INTERCOM, headers, INTERCOM_BODY, ZENDESK_AT, WINDOW) == "notif_1"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "unsigned"),
        ({"x-hub-signature": "sha1=" + "0" * 40}, "does not match"),
        ({"x-hub-signature": INTERCOM_SIG.removeprefix("sha1=")}, "does not match"),
    ],
    ids=["unsigned", "forged", "no-prefix"],
)
def test_intercom_refuses(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookRefused, match=reason):
        verify(INTERCOM, headers, INTERCOM_BODY, ZENDESK_AT, WINDOW)


def test_freshdesk_shared_header_secret() -> None:
    body = b'{"freshdesk_webhook": {"ticket_id": 42}}'
    good = {"x-supportpulse-token": "fd-shared-secret"}

    found = verify(FRESHDESK_HEADER, good, body, ZENDESK_AT, WINDOW)

    assert found.startswith("sha256:")
    with pytest.raises(WebhookRefused, match="unsigned"):
        verify(FRESHDESK_HEADER, {}, body, ZENDESK_AT, WINDOW)
    with pytest.raises(WebhookRefused, match="does not match"):
        verify(
            FRESHDESK_HEADER,
            {"x-supportpulse-token": "guess"},
            body,
            ZENDESK_AT,
            WINDOW,
        )


def test_freshdesk_basic_credentials() -> None:
    def basic(text: str) -> dict[str, str]:
        return {"authorization": "Basic " + base64.b64encode(text.encode()).decode()}

    body = b"{}"

    assert verify(
        FRESHDESK_BASIC, basic("freshdesk:fd-password-123"), body, ZENDESK_AT, WINDOW
    )
    with pytest.raises(WebhookRefused, match="do not match"):
        verify(FRESHDESK_BASIC, basic("freshdesk:wrong"), body, ZENDESK_AT, WINDOW)
    with pytest.raises(WebhookRefused, match="unsigned"):
        verify(FRESHDESK_BASIC, {}, body, ZENDESK_AT, WINDOW)
    with pytest.raises(WebhookRefused, match="malformed"):
        verify(
            FRESHDESK_BASIC, {"authorization": "Basic %%%"}, body, ZENDESK_AT, WINDOW
        )


def test_event_id_prefers_payload_then_invocation_then_digest() -> None:
    assert event_id({}, b'{"id": "evt-9"}') == "evt-9"
    assert event_id({"x-zendesk-webhook-invocation-id": "inv-3"}, b"{}") == "inv-3"
    assert event_id({}, b"not json") == event_id({}, b"not json")
    assert event_id({}, b"a").startswith("sha256:")


def test_webhook_source_freshdesk_needs_a_mode() -> None:
    with pytest.raises(ValueError, match="header or username"):
        WebhookSource(scheme="freshdesk", secret="long-enough")


def test_webhook_source_hides_its_secret() -> None:
    assert ZENDESK_SECRET not in repr(ZENDESK)
