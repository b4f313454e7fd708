"""/alerts: states, history, acknowledge and silence, as `supportpulse alerts`."""

from __future__ import annotations

from .conftest import Service, Wait


def test_alerts_lists_the_firing_rule(service: Service, wait_until: Wait) -> None:
    with service.client() as client:
        wait_until(
            lambda: any(
                a["state"] == "firing"
                for a in client.get("/api/v1/alerts").json()["alerts"]
            ),
            "any-tickets to fire",
        )
        alerts = client.get("/api/v1/alerts").json()["alerts"]

    assert [(a["rule"], a["state"]) for a in alerts] == [("any-tickets", "firing")]


def test_alerts_history_is_newest_first_and_limited(
    service: Service, wait_until: Wait
) -> None:
    with service.client() as client:
        wait_until(
            lambda: client.get("/api/v1/alerts/history").json()["events"] != [],
            "a history entry",
        )
        events = client.get("/api/v1/alerts/history", params={"limit": 1}).json()

    assert len(events["events"]) == 1
    assert events["events"][0]["rule"] == "any-tickets"
    assert events["events"][0]["state"] == "firing"


def test_alerts_acknowledge_marks_the_open_alert(
    service: Service, wait_until: Wait
) -> None:
    with service.client() as client:
        wait_until(
            lambda: client.get("/api/v1/alerts").json()["alerts"] != [], "alert state"
        )
        acked = client.post("/api/v1/alerts/any-tickets/acknowledge")
        state = client.get("/api/v1/alerts").json()["alerts"][0]
        unknown = client.post("/api/v1/alerts/no-such-rule/acknowledge")

    assert acked.status_code == 200
    assert acked.json() == {"rule": "any-tickets", "groups": [{}]}
    assert state["acknowledged_at"] is not None
    assert unknown.status_code == 404


def test_alerts_silence_holds_notifications_until_then(service: Service) -> None:
    with service.client() as client:
        silenced = client.post("/api/v1/alerts/any-tickets/silence", json={"for": "2h"})
        state = client.get("/api/v1/alerts").json()["alerts"][0]
        bad = client.post("/api/v1/alerts/any-tickets/silence", json={"for": "soon"})

    assert silenced.status_code == 200
    assert state["silenced_until"] is not None
    assert bad.status_code == 422
    assert "'for'" in bad.json()["error"]["message"]
