"""The fake Zendesk API reproduces the behaviours of vendors.md section 11."""

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from supportpulse.fakes import ServedApp, serving
from supportpulse.fakes.zendesk import (
    EXPORT_PATH,
    ZendeskFake,
    ZendeskFakeConfig,
    webhook_signature,
)
from supportpulse.fakes.zendesk_account import ZendeskAccount

NOW = 1_714_561_000.0
AUTH = (
    "Basic " + base64.b64encode(b"admin@acme.example/token:fake-zendesk-token").decode()
)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> ZendeskFake:
    account = ZendeskAccount(seed=1, clock=clock)
    account.populate(50)
    config = ZendeskFakeConfig(export_limit=1000, account_limit=1000)
    return ZendeskFake(account, config)


@pytest.fixture
def served(fake: ZendeskFake) -> Iterator[ServedApp]:
    with serving(fake.app) as running:
        yield running


def _get(served: ServedApp, path: str = EXPORT_PATH, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{served.url}{path}", params=params, headers={"Authorization": AUTH}
    )


def _drain(served: ServedApp, cursor: str) -> tuple[list[dict[str, Any]], str]:
    tickets: list[dict[str, Any]] = []
    while True:
        page = _get(served, cursor=cursor, per_page=7).json()
        tickets += page["tickets"]
        cursor = page["after_cursor"]
        if page["end_of_stream"]:
            return tickets, cursor


def test_zendesk_fake_export_pages_to_end_of_stream(served: ServedApp) -> None:
    first = _get(served, start_time=0, per_page=7).json()
    rest, _ = _drain(served, first["after_cursor"])

    ids = [t["id"] for t in first["tickets"] + rest]
    assert first["end_of_stream"] is False
    assert len(first["tickets"]) == 7
    assert len(ids) == len(set(ids)) == 50
    assert first["before_cursor"] is None
    assert "cursor=" in first["after_url"]


def test_zendesk_fake_export_hides_the_last_minute(
    served: ServedApp, fake: ZendeskFake, clock: Clock
) -> None:
    _, cursor = _drain(served, _get(served, start_time=0).json()["after_cursor"])
    fake.account.mutate()

    clock.now += 30
    hidden = _get(served, cursor=cursor).json()
    clock.now += 31
    shown = _get(served, cursor=cursor).json()

    assert hidden["tickets"] == []
    assert hidden["end_of_stream"] is True
    assert hidden["after_cursor"] == cursor
    assert len(shown["tickets"]) == 1
    assert shown["end_of_stream"] is True


def test_zendesk_fake_after_cursor_is_reusable(
    served: ServedApp, fake: ZendeskFake, clock: Clock
) -> None:
    _, cursor = _drain(served, _get(served, start_time=0).json()["after_cursor"])
    ticket = next(iter(fake.account.tickets.values()))
    with fake.account.lock:
        fake.account._update(ticket["id"])
    clock.now += 61

    once = _get(served, cursor=cursor).json()
    again = _get(served, cursor=cursor).json()

    assert [t["id"] for t in once["tickets"]] == [ticket["id"]]
    assert once == again


def test_zendesk_fake_system_change_keeps_updated_at(
    served: ServedApp, fake: ZendeskFake, clock: Clock
) -> None:
    _, cursor = _drain(served, _get(served, start_time=0).json()["after_cursor"])
    ticket = next(iter(fake.account.tickets.values()))
    before = ticket["updated_at"]
    with fake.account.lock:
        fake.account._system(ticket["id"])
    clock.now += 61

    [seen] = _get(served, cursor=cursor).json()["tickets"]

    assert seen["updated_at"] == before
    assert seen["generated_timestamp"] == int(NOW)


def test_zendesk_fake_deleted_tickets_unless_excluded(
    served: ServedApp, fake: ZendeskFake, clock: Clock
) -> None:
    _, cursor = _drain(served, _get(served, start_time=0).json()["after_cursor"])
    ticket = next(iter(fake.account.tickets.values()))
    with fake.account.lock:
        fake.account._delete(ticket["id"])
    clock.now += 61

    shown = _get(served, cursor=cursor).json()["tickets"]
    excluded = _get(served, cursor=cursor, exclude_deleted="true").json()["tickets"]
    comments = _get(served, f"/api/v2/tickets/{ticket['id']}/comments.json")

    assert [(t["id"], t["status"]) for t in shown] == [(ticket["id"], "deleted")]
    assert excluded == []
    assert comments.status_code == 404


def test_zendesk_fake_export_limit_answers_429_with_retry_after(
    served: ServedApp, fake: ZendeskFake
) -> None:
    fake.config.export_limit = 10

    statuses = [_get(served, start_time=0).status_code for _ in range(11)]
    refused = _get(served, start_time=0)

    assert statuses == [200] * 10 + [429]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"


def test_zendesk_fake_rate_limit_headers_on_every_reply(served: ServedApp) -> None:
    first = _get(served, start_time=0)
    second = _get(served, start_time=0)
    refused = _get(served, start_time=0, cursor="x")

    assert first.headers["x-rate-limit"] == "1000"
    assert first.headers["x-rate-limit-remaining"] == "999"
    assert second.headers["x-rate-limit-remaining"] == "998"
    assert "x-rate-limit-remaining" in refused.headers


def test_zendesk_fake_refuses_bad_export_parameters(served: ServedApp) -> None:
    both = _get(served, start_time=0, cursor="MTIzLjB8fDR8")
    recent = _get(served, start_time=int(NOW) - 30)
    neither = _get(served)
    audits = _get(served, start_time=0, include="last_audits")

    assert both.status_code == recent.status_code == neither.status_code == 400
    assert audits.status_code == 400
    assert "Too recent start_time" in recent.json()["description"]


def test_zendesk_fake_refuses_wrong_credentials(served: ServedApp) -> None:
    wrong = base64.b64encode(b"admin@acme.example/token:nope").decode()
    response = httpx.get(
        f"{served.url}{EXPORT_PATH}?start_time=0",
        headers={"Authorization": f"Basic {wrong}"},
    )

    assert response.status_code == 401


def test_zendesk_fake_sideloads_metrics_users_groups(
    served: ServedApp, fake: ZendeskFake
) -> None:
    page = _get(served, start_time=0, include="metric_sets,users,groups").json()

    ticket_ids = [t["id"] for t in page["tickets"]]
    assert [m["ticket_id"] for m in page["metric_sets"]] == ticket_ids
    user_ids = {u["id"] for u in page["users"]}
    assert {t["requester_id"] for t in page["tickets"]} <= user_ids
    group_ids = {g["id"] for g in page["groups"]}
    assert {t["group_id"] for t in page["tickets"]} - {None} == group_ids


def test_zendesk_fake_comments_page_with_cursor(
    served: ServedApp, fake: ZendeskFake
) -> None:
    ticket_id = max(fake.account.comments, key=lambda t: len(fake.account.comments[t]))
    path = f"/api/v2/tickets/{ticket_id}/comments.json"

    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"page[size]": 1, "include": "users"}
    while True:
        page = _get(served, path, **params).json()
        seen += page["comments"]
        assert {u["id"] for u in page["users"]} == {
            c["author_id"] for c in page["comments"]
        }
        if not page["meta"]["has_more"]:
            break
        params["page[after]"] = page["meta"]["after_cursor"]

    assert seen == fake.account.comments[ticket_id]


def test_zendesk_fake_page_cap_and_duplicates(
    served: ServedApp, fake: ZendeskFake
) -> None:
    fake.config.max_per_page = 5
    fake.config.duplicate = 1.0
    first = _get(served, start_time=0, per_page=100).json()
    second = _get(served, cursor=first["after_cursor"], per_page=100).json()

    assert len(first["tickets"]) == 5
    assert second["tickets"][0]["id"] == first["tickets"][-1]["id"]


def test_zendesk_fake_webhook_signature_matches_the_vector() -> None:
    body = b'{"type":"zen:event-type:ticket.created","id":"evt-1"}'

    signature = webhook_signature(
        "my-zendesk-signing-secret", "2024-05-01T12:00:00Z", body
    )

    assert signature == "asfYE67S3V6llCXswdfh2kOxIeVkJBQm+nb8VNDepVU="
