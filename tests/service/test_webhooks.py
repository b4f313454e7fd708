"""POST /webhooks/{source}: verified webhooks make a source poll now; refused
ones write nothing and trigger nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from supportpulse.fakes import ServedApp, serving
from supportpulse.fakes.zendesk import (
    ZendeskFake,
    ZendeskFakeConfig,
    send_webhook,
    ticket_event,
)
from supportpulse.fakes.zendesk_account import ZendeskAccount, iso
from supportpulse.webhooks.verify import intercom_signature, zendesk_signature

from .conftest import Service, Wait, running_service, settings_for

ZENDESK_SECRET = "zendesk-signing-secret-canary"
INTERCOM_SECRET = "intercom-client-secret-canary"
FRESHDESK_SECRET = "freshdesk-shared-secret-canary"


@pytest.fixture(scope="module")
def zendesk() -> Iterator[tuple[ZendeskFake, ServedApp]]:
    account = ZendeskAccount(seed=3)
    account.populate(20)
    fake = ZendeskFake(account, ZendeskFakeConfig(hide_recent_s=1, export_limit=1000))
    with serving(fake.app) as served:
        yield fake, served


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, zendesk: tuple[ZendeskFake, ServedApp]
) -> Iterator[Service]:
    folder: Path = tmp_path_factory.mktemp("webhooks")
    _, served = zendesk
    source = {
        "name": "zd", "type": "zendesk", "interval": "1h",
        "options": {"base_url": served.url, "email": "admin@acme.example",
                    "api_token": "fake-zendesk-token", "comments": False},
    }  # fmt: skip
    webhooks = {
        "max_bytes": 2048,
        "sources": {
            "zd": {"scheme": "zendesk", "secret": ZENDESK_SECRET},
            "ic": {"scheme": "intercom", "secret": INTERCOM_SECRET},
            "fd": {"scheme": "freshdesk", "secret": FRESHDESK_SECRET,
                   "header": "X-Supportpulse-Token"},
        },
    }  # fmt: skip
    settings = settings_for(folder, sources=[source], webhooks=webhooks)
    with running_service(f"duckdb://{folder}/store.duckdb", settings) as running:
        yield running


def _events(service: Service) -> list[tuple[str, str]]:
    store = service.runtime.engine.store
    _, rows = service.call(
        service.runtime.engine.query(
            store.fetch, "SELECT source, event_id FROM webhook_events ORDER BY ALL"
        )
    )
    return [tuple(row) for row in rows]


def _zendesk_post(
    service: Service,
    body: bytes,
    stamp: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    stamp = stamp or iso(datetime.now(UTC))
    headers = {
        "x-zendesk-webhook-signature-timestamp": stamp,
        "x-zendesk-webhook-signature": signature
        or zendesk_signature(ZENDESK_SECRET, stamp, body),
    }
    return httpx.post(f"{service.url}/webhooks/zd", content=body, headers=headers)


@pytest.fixture
def caught_up(
    service: Service, zendesk: tuple[ZendeskFake, ServedApp], wait_until: Wait
) -> ZendeskFake:
    """The Zendesk source has caught up and rests for its hour-long interval."""
    fake, _ = zendesk

    def resting() -> bool:
        before = fake.requests["export"]
        statuses = {s["name"]: s for s in service.runtime.engine.status()}
        return before > 0 and statuses["zd"]["records"] >= 20

    wait_until(resting, "the Zendesk backfill")
    return fake


def test_webhook_zendesk_valid_polls_the_source_now(
    service: Service, caught_up: ZendeskFake, wait_until: Wait
) -> None:
    before = caught_up.requests["export"]
    event = ticket_event(next(iter(caught_up.account.tickets.values())))

    answer = send_webhook(f"{service.url}/webhooks/zd", ZENDESK_SECRET, event)

    assert answer.status_code == 202, answer.text
    assert answer.json() == {"status": "accepted", "polling": True}
    wait_until(
        lambda: caught_up.requests["export"] > before, "a poll after the webhook"
    )
    assert ("zd", event["id"]) in _events(service)


def test_webhook_duplicate_event_id_is_acknowledged_once(
    service: Service, caught_up: ZendeskFake, wait_until: Wait
) -> None:
    body = json.dumps(
        {"id": "evt-dup", "type": "zen:event-type:ticket.created"}
    ).encode()
    first = _zendesk_post(service, body)
    wait_until(lambda: ("zd", "evt-dup") in _events(service), "the first delivery")

    again = _zendesk_post(service, body)

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "polling": False}
    assert _events(service).count(("zd", "evt-dup")) == 1


@pytest.mark.parametrize("case", ["unsigned", "forged", "replayed", "future"])
def test_webhook_zendesk_refused_touches_nothing(
    service: Service, caught_up: ZendeskFake, case: str
) -> None:
    body = json.dumps({"id": f"evt-{case}"}).encode()
    old = iso(datetime.now(UTC) - timedelta(minutes=6))
    future = iso(datetime.now(UTC) + timedelta(minutes=6))
    before_events = _events(service)

    if case == "unsigned":
        answer = httpx.post(f"{service.url}/webhooks/zd", content=body)
    elif case == "forged":
        answer = _zendesk_post(
            service, body, signature=base64.b64encode(b"x" * 32).decode()
        )
    else:
        stamp = old if case == "replayed" else future
        answer = _zendesk_post(service, body, stamp=stamp)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert ZENDESK_SECRET not in answer.text
    assert _events(service) == before_events


def test_webhook_oversized_is_refused(service: Service) -> None:
    body = json.dumps({"id": "evt-big", "pad": "x" * 4096}).encode()

    answer = _zendesk_post(service, body)

    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert ("zd", "evt-big") not in _events(service)


def test_webhook_unknown_source_is_not_found(service: Service) -> None:
    answer = httpx.post(f"{service.url}/webhooks/nope", content=b"{}")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_webhook_intercom_signed_and_forged(service: Service) -> None:
    body = b'{"type":"notification_event","topic":"conversation.user.created","id":"notif_7"}'
    good = {"X-Hub-Signature": intercom_signature(INTERCOM_SECRET, body)}
    forged = {"X-Hub-Signature": intercom_signature("not-the-secret", body)}

    accepted = httpx.post(f"{service.url}/webhooks/ic", content=body, headers=good)
    refused = httpx.post(
        f"{service.url}/webhooks/ic", content=body + b" ", headers=forged
    )
    repeated = httpx.post(f"{service.url}/webhooks/ic", content=body, headers=good)

    # No running source is named "ic": the webhook is recorded, nothing polls.
    assert accepted.status_code == 202
    assert accepted.json() == {"status": "accepted", "polling": False}
    assert refused.status_code == 401
    assert repeated.json()["status"] == "duplicate"


def test_webhook_freshdesk_shared_header(service: Service) -> None:
    body = b'{"freshdesk_webhook": {"ticket_id": 42, "ticket_status": "Open"}}'

    accepted = httpx.post(
        f"{service.url}/webhooks/fd", content=body,
        headers={"X-Supportpulse-Token": FRESHDESK_SECRET},
    )  # fmt: skip
    refused = httpx.post(
        f"{service.url}/webhooks/fd", content=b'{"other": 1}',
        headers={"X-Supportpulse-Token": "guess"},
    )  # fmt: skip

    assert accepted.status_code == 202
    assert refused.status_code == 401
