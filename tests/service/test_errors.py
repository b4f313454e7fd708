"""Every error is one JSON shape; secrets never appear in any answer."""

from __future__ import annotations

import json

from .conftest import ADMIN, VIEWER, Service


def _error(body: object) -> dict[str, str]:
    assert isinstance(body, dict)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message"}, error
    return error


def test_errors_unknown_path_is_not_found_json(service: Service) -> None:
    with service.client() as client:
        answer = client.get("/api/v1/nothing-here")

    assert answer.status_code == 404
    assert _error(answer.json())["code"] == "not_found"


def test_errors_wrong_method_is_json(service: Service) -> None:
    with service.client() as client:
        answer = client.delete("/api/v1/kpis")

    assert answer.status_code == 405
    assert _error(answer.json())["code"] == "not_found"


def test_errors_validation_names_the_key(service: Service) -> None:
    with service.client() as client:
        limit = client.get("/api/v1/tickets", params={"limit": 501})
        bucket = client.get("/api/v1/kpis/series", params={"bucket": "week"})
        since = client.get("/api/v1/kpis", params={"since": "yesterday-ish"})

    assert limit.status_code == bucket.status_code == since.status_code == 422
    assert "'limit'" in _error(limit.json())["message"]
    assert "'bucket'" in _error(bucket.json())["message"]
    assert "since 'yesterday-ish' is not a time" in _error(since.json())["message"]
    assert _error(since.json())["code"] == "invalid"


def test_errors_body_validation_names_the_dotted_key(service: Service) -> None:
    with service.client() as client:
        answer = client.post(
            "/api/v1/sources", json={"name": "ok-name", "type": "replay", "jitter": 5}
        )

    assert answer.status_code == 422
    assert "'jitter'" in _error(answer.json())["message"]


def test_errors_never_echo_secrets(service: Service) -> None:
    secret = "pw-canary-51e0"
    source = {
        "name": "masked-db",
        "type": "database",
        "enabled": False,
        "options": {
            "url": f"postgresql://reader:{secret}@127.0.0.1:1/db",
            "table": "tickets",
        },
    }
    with service.client() as client:
        created = client.post("/api/v1/sources", json=source)
        try:
            answers = [
                created,
                client.get("/api/v1/sources"),
                client.post("/api/v1/sources/masked-db/test"),
                client.get("/metrics"),
                client.get("/readyz"),
            ]
        finally:
            client.delete("/api/v1/sources/masked-db")

    assert created.status_code == 201, created.text
    assert created.json()["options"]["url"] == "postgresql://reader:***@127.0.0.1:1/db"
    for answer in answers:
        for canary in (secret, ADMIN, VIEWER):
            assert canary not in answer.text, answer.request.url


def test_errors_mask_secret_looking_options(service: Service) -> None:
    source = {
        "name": "masked-rest",
        "type": "rest",
        "enabled": False,
        "options": {"headers": {"Authorization": "Bearer t0k"}, "api_key": "k3y"},
    }
    with service.client() as client:
        answer = client.post("/api/v1/sources", json=source)

    text = json.dumps(answer.json())
    assert "t0k" not in text
    assert "k3y" not in text
