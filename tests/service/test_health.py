"""Liveness and readiness over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from tests.conftest import PG_SERVER

from .conftest import ADMIN, Service, Wait, running_service, settings_for


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


@pytest.mark.postgres
def test_readyz_is_not_ready_while_the_store_is_unreachable(
    pg_database: Callable[[], str], tmp_path: Path
) -> None:
    url = pg_database()
    with (
        running_service(url, settings_for(tmp_path)) as running,
        running.client(token=None) as client,
    ):
        assert client.get("/readyz").status_code == 200
        # Dropping the service's own database ends its connection for real.
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            drop = sql.SQL("DROP DATABASE {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))
        answer = client.get("/readyz")
        admin_token = {"Authorization": f"Bearer {ADMIN}"}
        kpis = client.get("/api/v1/kpis", headers=admin_token)

    assert answer.status_code == 503
    assert answer.json()["ready"] is False
    assert answer.json()["store"] != "ok"
    assert kpis.status_code == 503
    assert kpis.json()["error"]["code"] == "unavailable"
