"""/sources: list, add, try out, pause, resume, remove; kept across restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import Service, Wait, running_service, settings_for


def _replay(name: str, shared_data: Path, **extra: Any) -> dict[str, Any]:
    path = shared_data / "tickets_min.csv"
    options = {"path": str(path), "speed": 0}
    return {"name": name, "type": "replay", "options": options, **extra}


def test_sources_add_starts_the_source_and_lists_it(
    service: Service, shared_data: Path, wait_until: Wait
) -> None:
    with service.client() as client:
        created = client.post("/api/v1/sources", json=_replay("min-a", shared_data))
        try:
            assert created.status_code == 201, created.text
            assert created.json()["origin"] == "api"
            wait_until(
                lambda: _state(client, "min-a")["records"] == 20, "20 replayed records"
            )
        finally:
            client.delete("/api/v1/sources/min-a")


def _state(client: Any, name: str) -> dict[str, Any]:
    listed = client.get("/api/v1/sources").json()["sources"]
    return next(source for source in listed if source["name"] == name)


def test_sources_add_twice_is_a_conflict(service: Service, shared_data: Path) -> None:
    source = _replay("min-b", shared_data, enabled=False)
    with service.client() as client:
        assert client.post("/api/v1/sources", json=source).status_code == 201
        again = client.post("/api/v1/sources", json=source)
        client.delete("/api/v1/sources/min-b")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_sources_add_names_the_bad_option_key(service: Service) -> None:
    bad_option = {"name": "bad-opt", "type": "replay", "options": {"speed": -1}}
    bad_type = {"name": "bad-type", "type": "carrier-pigeon"}
    with service.client() as client:
        option = client.post("/api/v1/sources", json=bad_option)
        kind = client.post("/api/v1/sources", json=bad_type)

    assert option.status_code == kind.status_code == 422
    assert "key 'options." in option.json()["error"]["message"]
    assert "key 'type'" in kind.json()["error"]["message"]
    assert "carrier-pigeon" in kind.json()["error"]["message"]


def test_sources_test_reports_mapping_sample_and_problems(
    service: Service, shared_data: Path
) -> None:
    with service.client() as client:
        client.post(
            "/api/v1/sources", json=_replay("min-c", shared_data, enabled=False)
        )
        report = client.post("/api/v1/sources/min-c/test")
        missing = client.post("/api/v1/sources/nope/test")
        client.delete("/api/v1/sources/min-c")

    assert report.status_code == 200
    body = report.json()
    assert body["ok"] is True
    assert body["tickets"] == 20
    assert [t["external_id"] for t in body["sample"]] == ["T001", "T002", "T003"]
    assert missing.status_code == 404


def test_sources_pause_and_resume_change_the_state(
    service: Service, shared_data: Path
) -> None:
    source = _replay("min-d", shared_data, options={
        "path": str(shared_data / "tickets_min.csv"), "speed": 0.0001})  # fmt: skip
    with service.client() as client:
        client.post("/api/v1/sources", json=source)
        paused = client.post("/api/v1/sources/min-d/pause")
        resumed = client.post("/api/v1/sources/min-d/resume")
        client.delete("/api/v1/sources/min-d")

    assert paused.json()["state"] == "paused"
    assert resumed.json()["state"] == "live"


def test_sources_of_the_config_file_cannot_be_deleted(
    tmp_path: Path, shared_data: Path
) -> None:
    settings = settings_for(tmp_path, sources=[_replay("from-file", shared_data)])
    url = f"duckdb://{tmp_path}/s.duckdb"
    with running_service(url, settings) as running, running.client() as client:
        answer = client.delete("/api/v1/sources/from-file")
        unknown = client.delete("/api/v1/sources/never-was")

    assert answer.status_code == 409
    assert "config file" in answer.json()["error"]["message"]
    assert unknown.status_code == 404


def test_sources_added_through_the_api_survive_a_restart(
    tmp_path: Path, shared_data: Path
) -> None:
    settings = settings_for(tmp_path)
    url = f"duckdb://{tmp_path}/s.duckdb"
    source = _replay("kept", shared_data, enabled=False)
    with running_service(url, settings) as first, first.client() as client:
        assert client.post("/api/v1/sources", json=source).status_code == 201

    with running_service(url, settings) as second, second.client() as client:
        listed = client.get("/api/v1/sources").json()["sources"]
        assert [s["name"] for s in listed] == ["kept"]
        assert client.delete("/api/v1/sources/kept").status_code == 204

    with running_service(url, settings) as third, third.client() as client:
        assert client.get("/api/v1/sources").json()["sources"] == []
    assert (tmp_path / "api-sources.json").stat().st_mode & 0o777 == 0o600
