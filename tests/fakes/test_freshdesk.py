"""The fake Freshdesk behaves as vendors.md section 2 and 11 say Freshdesk does."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from supportpulse.fakes import serving
from supportpulse.fakes.freshdesk import FreshdeskApp, FreshdeskLimits
from supportpulse.fakes.freshdesk_desk import DAY, FreshdeskDesk, epoch_of

KEY = "protocol-key"
SINCE = "2000-01-01T00:00:00Z"
LISTING = {"updated_since": SINCE, "order_by": "updated_at", "order_type": "asc"}


@pytest.fixture
def desk() -> FreshdeskDesk:
    desk = FreshdeskDesk(seed=2)
    desk.populate(120, days=90)
    return desk


@pytest.fixture
def client(desk: FreshdeskDesk) -> Iterator[httpx.Client]:
    app = FreshdeskApp(desk, KEY, FreshdeskLimits(credits_per_window=10_000))
    with (
        serving(app.app) as served,
        httpx.Client(base_url=served.url, auth=(KEY, "X")) as client,
    ):
        yield client


def test_freshdesk_fake_lists_a_bare_array_with_link_only_while_more_follow(
    client: httpx.Client,
) -> None:
    first = client.get("/api/v2/tickets", params={**LISTING, "per_page": 50})
    last = client.get("/api/v2/tickets", params={**LISTING, "per_page": 50, "page": 3})

    assert isinstance(first.json(), list)
    assert len(first.json()) == 50
    assert "page=2" in first.links["next"]["url"]
    assert len(last.json()) == 20
    assert "link" not in last.headers


def test_freshdesk_fake_orders_by_updated_at_ascending_from_updated_since(
    client: httpx.Client, desk: FreshdeskDesk
) -> None:
    rows = client.get("/api/v2/tickets", params={**LISTING, "per_page": 100}).json()
    middle = rows[60]["updated_at"]
    later = client.get(
        "/api/v2/tickets", params={**LISTING, "updated_since": middle, "per_page": 100}
    ).json()

    stamps = [row["updated_at"] for row in rows]
    assert stamps == sorted(stamps)
    assert later[0]["updated_at"] == middle
    assert all(row["updated_at"] >= middle for row in later)


def test_freshdesk_fake_refuses_per_page_over_100(client: httpx.Client) -> None:
    response = client.get("/api/v2/tickets", params={**LISTING, "per_page": 101})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "per_page"


def test_freshdesk_fake_refuses_page_301(client: httpx.Client) -> None:
    response = client.get("/api/v2/tickets", params={**LISTING, "page": 301})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "page"
    assert "300" in response.json()["errors"][0]["message"]


def test_freshdesk_fake_lists_only_30_days_of_tickets_without_updated_since(
    client: httpx.Client, desk: FreshdeskDesk
) -> None:
    month_ago = desk.now() - 30 * DAY
    recent = {
        t["id"] for t in desk.tickets.values() if epoch_of(t["created_at"]) >= month_ago
    }
    rows = [
        row
        for page in (1, 2)
        for row in client.get(
            "/api/v2/tickets", params={"per_page": 100, "page": page}
        ).json()
    ]

    assert {row["id"] for row in rows} == recent
    assert 0 < len(recent) < len(desk.tickets)


def test_freshdesk_fake_shows_deleted_tickets_only_under_filter_deleted(
    client: httpx.Client, desk: FreshdeskDesk
) -> None:
    gone = desk.tickets[7]
    desk._touch(gone, desk.now(), deleted=True)

    live = client.get("/api/v2/tickets", params={**LISTING, "per_page": 100, "page": 2})
    binned = client.get("/api/v2/tickets", params={**LISTING, "filter": "deleted"})

    assert 7 not in {row["id"] for row in live.json()}
    assert [row["id"] for row in binned.json()] == [7]
    assert binned.json()[0]["deleted"] is True


def test_freshdesk_fake_charges_two_more_credits_per_include(
    client: httpx.Client,
) -> None:
    plain = client.get("/api/v2/tickets", params=LISTING)
    stats = client.get("/api/v2/tickets", params={**LISTING, "include": "stats"})
    both = client.get(
        "/api/v2/tickets", params={**LISTING, "include": "stats,description"}
    )

    assert plain.headers["x-ratelimit-used-currentrequest"] == "1"
    assert stats.headers["x-ratelimit-used-currentrequest"] == "3"
    assert both.headers["x-ratelimit-used-currentrequest"] == "5"
    assert "stats" in stats.json()[0]
    assert "stats" not in plain.json()[0]


def test_freshdesk_fake_answers_429_with_retry_after_once_credits_are_spent(
    desk: FreshdeskDesk,
) -> None:
    app = FreshdeskApp(desk, KEY, FreshdeskLimits(credits_per_window=4, window_s=30))
    with (
        serving(app.app) as served,
        httpx.Client(base_url=served.url, auth=(KEY, "X")) as client,
    ):
        allowed = client.get("/api/v2/tickets", params={**LISTING, "include": "stats"})
        refused = client.get("/api/v2/tickets", params={**LISTING, "include": "stats"})

    assert allowed.status_code == 200
    assert allowed.headers["x-ratelimit-remaining"] == "1"
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 30


def test_freshdesk_fake_refuses_a_wrong_api_key(client: httpx.Client) -> None:
    response = client.get("/api/v2/tickets", auth=("wrong", "X"))

    assert response.status_code == 401
