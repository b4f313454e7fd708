"""Sources added through the API read files only inside service.file_roots."""

from __future__ import annotations

from pathlib import Path

import httpx

from .conftest import ADMIN, running_service, settings_for


def _replay(client: httpx.Client, name: str, path: str) -> httpx.Response:
    return client.post(
        "/api/v1/sources",
        json={"name": name, "type": "replay", "options": {"path": path, "speed": 0}},
    )


def test_api_sources_read_files_only_inside_the_file_roots(tmp_path: Path) -> None:
    inside = tmp_path / "exports"
    inside.mkdir()
    allowed = inside / "tickets.csv"
    allowed.write_text("ticket_id,created_at\nT1,2024-01-01\n", encoding="utf-8")
    outside = tmp_path / "private.csv"
    outside.write_text("secret_header,other\nvalue,1\n", encoding="utf-8")
    (inside / "escape.csv").symlink_to(outside)
    secret = tmp_path / "token.txt"
    secret.write_text("s3cret-token-value", encoding="utf-8")

    settings = settings_for(tmp_path, service={"file_roots": [str(inside)]})
    url = f"duckdb://{tmp_path}/s.duckdb"
    with running_service(url, settings) as running, running.client(ADMIN) as client:
        refused = {
            "absolute": _replay(client, "a", str(outside)),
            "dot-dot": _replay(client, "b", str(inside / ".." / "private.csv")),
            "symlink": _replay(client, "c", str(inside / "escape.csv")),
            "sqlite": client.post(
                "/api/v1/sources",
                json={
                    "name": "d",
                    "type": "database",
                    "options": {"url": f"sqlite:///{outside}", "table": "t"},
                },
            ),
            "secret file": client.post(
                "/api/v1/sources",
                json={
                    "name": "e",
                    "type": "zendesk",
                    "options": {
                        "subdomain": "acme",
                        "email": "a@acme.example",
                        "api_token": f"${{file:{secret}}}",
                    },
                },
            ),
        }
        accepted = _replay(client, "inside", str(allowed))
        listed = [s["name"] for s in client.get("/api/v1/sources").json()["sources"]]

    for case, answer in refused.items():
        assert answer.status_code == 422, (case, answer.text)
        error = answer.json()["error"]
        assert "service.file_roots" in error["message"], case
        assert "secret_header" not in answer.text
        assert "s3cret-token-value" not in answer.text
    assert accepted.status_code == 201, accepted.text
    assert listed == ["inside"]
