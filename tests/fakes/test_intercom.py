"""The fake Intercom behaves as vendors.md sections 3 and 11 say Intercom does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from supportpulse.fakes import serving
from supportpulse.fakes.intercom import IntercomApp, IntercomLimits
from supportpulse.fakes.intercom_desk import IntercomDesk

TOKEN = "protocol-token"
ASCENDING = {"field": "updated_at", "order": "ascending"}


@pytest.fixture
def desk() -> IntercomDesk:
    desk = IntercomDesk(seed=3)
    desk.populate(60)
    return desk


@pytest.fixture
def client(desk: IntercomDesk) -> Iterator[httpx.Client]:
    app = IntercomApp(desk, TOKEN, IntercomLimits(calls_per_window=10_000))
    headers = {"Authorization": f"Bearer {TOKEN}", "Intercom-Version": "2.14"}
    with (
        serving(app.app) as served,
        httpx.Client(base_url=served.url, headers=headers) as client,
    ):
        yield client


def _search(client: httpx.Client, since: int, per_page: int = 150, **more: Any) -> Any:
    query = {"field": "updated_at", "operator": ">", "value": since}
    pagination = {"per_page": per_page, **more}
    return client.post(
        "/conversations/search",
        json={"query": query, "pagination": pagination, "sort": ASCENDING},
    )


def test_intercom_fake_search_greater_than_includes_the_boundary(
    client: httpx.Client, desk: IntercomDesk
) -> None:
    boundary = sorted(c["updated_at"] for c in desk.conversations.values())[30]

    found = _search(client, boundary).json()["conversations"]

    assert found[0]["updated_at"] == boundary
    assert [c["updated_at"] for c in found] == sorted(c["updated_at"] for c in found)


def test_intercom_fake_has_pages_next_only_while_more_follow(
    client: httpx.Client,
) -> None:
    first = _search(client, 0, per_page=40).json()
    token = first["pages"]["next"]["starting_after"]
    last = _search(client, 0, per_page=40, starting_after=token).json()

    assert len(first["conversations"]) == 40
    assert len(last["conversations"]) == 20
    assert "next" not in last["pages"]
    assert last["total_count"] == 60


def test_intercom_fake_keyset_paging_never_skips_a_conversation_changed_meanwhile(
    client: httpx.Client, desk: IntercomDesk
) -> None:
    first = _search(client, 0, per_page=20).json()
    token = first["pages"]["next"]["starting_after"]
    desk.mutate()  # moves some conversation to the end
    seen = {c["id"] for c in first["conversations"]}
    while token:
        page = _search(client, 0, per_page=20, starting_after=token).json()
        seen |= {c["id"] for c in page["conversations"]}
        token = page["pages"].get("next", {}).get("starting_after")

    assert seen == set(desk.conversations)


def test_intercom_fake_refuses_per_page_over_150(client: httpx.Client) -> None:
    response = _search(client, 0, per_page=151)

    assert response.status_code == 400
    assert response.json()["type"] == "error.list"


def test_intercom_fake_speaks_unix_seconds_everywhere(client: httpx.Client) -> None:
    conversation = _search(client, 0, per_page=1).json()["conversations"][0]
    whole = client.get(f"/conversations/{conversation['id']}").json()

    assert isinstance(whole["created_at"], int)
    assert isinstance(whole["updated_at"], int)
    for part in whole["conversation_parts"]["conversation_parts"]:
        assert isinstance(part["created_at"], int)


def test_intercom_fake_shows_parts_only_on_the_single_conversation(
    client: httpx.Client, desk: IntercomDesk
) -> None:
    listed = _search(client, 0).json()["conversations"]
    busy = next(c for c in listed if desk.parts[c["id"]])
    whole = client.get(f"/conversations/{busy['id']}").json()

    assert "conversation_parts" not in busy
    assert whole["conversation_parts"]["total_count"] == len(desk.parts[busy["id"]])


def test_intercom_fake_echoes_and_validates_intercom_version(
    client: httpx.Client,
) -> None:
    good = client.get("/admins", headers={"Intercom-Version": "2.11"})
    bad = client.get("/admins", headers={"Intercom-Version": "7.0"})

    assert good.headers["intercom-version"] == "2.11"
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == "intercom_version_invalid"


def test_intercom_fake_meters_calls_with_ratelimit_headers_and_429(
    desk: IntercomDesk,
) -> None:
    app = IntercomApp(desk, TOKEN, IntercomLimits(calls_per_window=2, window_s=10))
    with (
        serving(app.app) as served,
        httpx.Client(
            base_url=served.url, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as client,
    ):
        replies = [client.get("/teams") for _ in range(3)]

    assert [reply.status_code for reply in replies] == [200, 200, 429]
    assert replies[0].headers["x-ratelimit-limit"] == "2"
    assert replies[1].headers["x-ratelimit-remaining"] == "0"
    assert int(replies[2].headers["x-ratelimit-reset"]) > 1_700_000_000
    assert replies[2].json()["errors"][0]["code"] == "rate_limit_exceeded"


def test_intercom_fake_refuses_a_wrong_token(client: httpx.Client) -> None:
    response = client.get("/teams", headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
