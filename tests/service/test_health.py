"""Liveness and readiness over HTTP."""

from __future__ import annotations

from .conftest import Service, Wait


def test_healthz_answers_ok_without_a_token(service: Service) -> None:
    with service.client(token=None) as client:
        answer = client.get("/healthz")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_is_ready_with_a_reachable_store(service: Service) -> None:
    with service.client(token=None) as client:
        answer = client.get("/readyz")

    assert answer.status_code == 200
    assert answer.json()["ready"] is True
    assert answer.json()["store"] == "ok"


def test_readyz_is_not_ready_while_a_required_source_has_failed(
    service: Service, wait_until: Wait
) -> None:
    broken = {
        "name": "required-broken",
        "type": "database",
        "required": True,
        "interval": "1s",
        # Port 1 on loopback refuses at once: the source fails for real.
        "options": {"url": "postgresql://probe@127.0.0.1:1/none", "table": "t"},
    }
    with service.client() as client:
        assert client.post("/api/v1/sources", json=broken).status_code == 201
        try:
            wait_until(
                lambda: client.get("/readyz").status_code == 503,
                "readyz to turn 503",
            )
            body = client.get("/readyz").json()
            assert body["ready"] is False
            states = {s["name"]: s["state"] for s in body["sources"]}
            assert states["required-broken"] == "failed"
        finally:
            client.delete("/api/v1/sources/required-broken")

        assert client.get("/readyz").status_code == 200
