"""/tickets pages through every ticket once, newest first, with filters."""

from __future__ import annotations

from .conftest import Service


def _all_pages(service: Service, **params: object) -> list[dict[str, object]]:
    tickets: list[dict[str, object]] = []
    cursor = None
    with service.client() as client:
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            page = client.get("/api/v1/tickets", params=query).json()
            tickets.extend(page["tickets"])
            cursor = page["next_cursor"]
            if cursor is None:
                return tickets


def test_tickets_pages_cover_every_ticket_once_in_stable_order(
    service: Service,
) -> None:
    small = _all_pages(service, limit=7)
    large = _all_pages(service, limit=500)

    keys = [(t["created_at"], t["source"], t["external_id"]) for t in small]
    assert keys == [(t["created_at"], t["source"], t["external_id"]) for t in large]
    assert len(set(keys)) == len(keys)
    assert keys == sorted(keys, reverse=True)
    with service.client() as client:
        total = client.get("/api/v1/kpis", params={"until": "2030-01-01"}).json()
    assert len(keys) == total["groups"][0]["tickets"]


def test_tickets_filters_by_team_and_time(service: Service) -> None:
    chosen = _all_pages(
        service, team="AppleSupport", since="2017-10-01", until="2017-12-01"
    )

    assert chosen
    assert {t["team"] for t in chosen} == {"AppleSupport"}
    assert all("2017-10-01" <= str(t["created_at"]) < "2017-12-01" for t in chosen)


def test_tickets_lists_no_message_text_or_raw_record(service: Service) -> None:
    with service.client() as client:
        ticket = client.get("/api/v1/tickets", params={"limit": 1}).json()["tickets"][0]

    assert "raw" not in ticket
    assert "body" not in ticket


def test_tickets_rejects_a_forged_cursor(service: Service) -> None:
    with service.client() as client:
        answer = client.get("/api/v1/tickets", params={"cursor": "not-a-cursor!"})

    assert answer.status_code == 422
    assert "'cursor'" in answer.json()["error"]["message"]
