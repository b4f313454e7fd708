"""/kpis is `supportpulse kpis --json`; /kpis/series splits it by time bucket."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.config import SLASettings

from .conftest import Service, running_service, settings_for, upload

UNTIL = "2030-01-01T00:00:00Z"


def _direct(service: Service, query: KPIQuery) -> dict[str, Any]:
    engine = service.runtime.engine

    async def compute() -> dict[str, Any]:
        result: dict[str, Any] = await engine.query(
            compute_kpis, engine.store, query, SLASettings()
        )
        return result

    return dict(service.call(compute()))


def test_kpis_equals_compute_kpis_grouped_by_team(service: Service) -> None:
    with service.client() as client:
        answer = client.get("/api/v1/kpis", params={"by": "team", "until": UNTIL})

    assert answer.status_code == 200
    expected = _direct(service, KPIQuery(until=datetime(2030, 1, 1), by=("team",)))
    assert answer.json() == expected
    assert next(iter(answer.json()["groups"][0])) == "key"


def test_kpis_filters_narrow_the_window_to_one_team(service: Service) -> None:
    params = {"team": "AppleSupport", "until": UNTIL}
    with service.client() as client:
        answer = client.get("/api/v1/kpis", params=params)

    query = KPIQuery(until=datetime(2030, 1, 1), filters=(("team", "AppleSupport"),))
    assert answer.json() == _direct(service, query)
    everyone = _direct(service, KPIQuery(until=datetime(2030, 1, 1)))
    assert 0 < answer.json()["groups"][0]["tickets"] < everyone["groups"][0]["tickets"]


def test_kpis_rejects_since_after_until(service: Service) -> None:
    params = {"since": "2020-01-02", "until": "2020-01-01"}
    with service.client() as client:
        answer = client.get("/api/v1/kpis", params=params)

    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == "since must be earlier than until"


def test_kpis_series_has_one_point_per_bucket_oldest_first(service: Service) -> None:
    params = {"bucket": "day", "until": UNTIL}
    with service.client() as client:
        series = client.get("/api/v1/kpis/series", params=params).json()
        whole = client.get("/api/v1/kpis", params={"until": UNTIL}).json()

    starts = [point["start"] for point in series["points"]]
    assert series["bucket"] == "day"
    assert starts == sorted(starts)
    assert len(starts) == len(set(starts)) > 1
    total = sum(point["kpis"]["tickets"] for point in series["points"])
    assert total == whole["groups"][0]["tickets"]


def test_kpis_series_refuses_too_many_buckets(service: Service) -> None:
    params = {"bucket": "minute", "since": "2000-01-01", "until": UNTIL}
    with service.client() as client:
        answer = client.get("/api/v1/kpis/series", params=params)

    assert answer.status_code == 422
    assert "coarser bucket" in answer.json()["error"]["message"]


@pytest.mark.postgres
def test_kpis_and_tickets_on_postgresql(
    pg_database: Any, tmp_path: Path, shared_data: Path
) -> None:
    url = pg_database()
    with running_service(url, settings_for(tmp_path)) as running:
        with running.client() as client:
            assert upload(client, shared_data / "tickets_min.csv").status_code == 200
            kpis = client.get("/api/v1/kpis", params={"by": "priority", "until": UNTIL})
            page = client.get("/api/v1/tickets", params={"limit": 7}).json()
            rest = client.get(
                "/api/v1/tickets", params={"limit": 50, "cursor": page["next_cursor"]}
            ).json()

        query = KPIQuery(until=datetime(2030, 1, 1), by=("priority",))
        assert kpis.json() == _direct(running, query)
    listed = [t["external_id"] for t in page["tickets"] + rest["tickets"]]
    assert sorted(listed) == [f"T{n:03d}" for n in range(1, 21)]
    assert rest["next_cursor"] is None


def test_kpis_series_refuses_too_many_buckets_up_to_now(service: Service) -> None:
    with service.client() as client:
        answer = client.get(
            "/api/v1/kpis/series", params={"since": "2000-01-01", "bucket": "minute"}
        )

    assert answer.status_code == 422
    assert "minute buckets, more than 10000" in answer.json()["error"]["message"]
