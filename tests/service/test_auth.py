"""Bearer tokens, roles, and where an open API may listen."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from supportpulse.config import ServiceSettings
from supportpulse.errors import ConfigError
from supportpulse.service.auth import check_bind

from .conftest import ADMIN, VIEWER, Service, running_service, settings_for


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["missing", "wrong"])
def test_auth_refuses_a_missing_or_wrong_token(
    service: Service, token: str | None
) -> None:
    with service.client(token) as client:
        answer = client.get("/api/v1/kpis")

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert answer.headers["www-authenticate"] == "Bearer"


def test_auth_lets_a_viewer_read(service: Service) -> None:
    with service.client(VIEWER) as client:
        for path in ("/api/v1/kpis", "/api/v1/sources", "/api/v1/alerts", "/metrics"):
            assert client.get(path).status_code == 200, path


def test_auth_forbids_a_viewer_to_change_anything(service: Service) -> None:
    with service.client(VIEWER) as client:
        answers = [
            client.post("/api/v1/sources", json={"name": "x", "type": "replay"}),
            client.post("/api/v1/alerts/any-tickets/silence", json={"for": "1h"}),
            client.delete("/api/v1/sources/x"),
            client.post("/api/v1/ingest", files={"file": ("a.csv", b"a\n")}),
        ]

    assert [a.status_code for a in answers] == [403] * 4
    assert {a.json()["error"]["code"] for a in answers} == {"forbidden"}


def test_auth_lets_the_admin_do_everything(service: Service) -> None:
    with service.client(ADMIN) as client:
        assert client.get("/api/v1/kpis").status_code == 200
        answer = client.post("/api/v1/alerts/any-tickets/silence", json={"for": "1m"})

    assert answer.status_code == 200


def test_auth_is_open_without_tokens_on_loopback(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, service={"admin_token": "", "viewer_token": ""})
    assert settings.service.admin_token is None

    url = f"duckdb://{tmp_path}/s.duckdb"
    with running_service(url, settings) as running, running.client(None) as client:
        assert client.get("/api/v1/sources").status_code == 200
        silenced = client.post("/api/v1/alerts/any-tickets/silence", json={"for": "1h"})
        assert silenced.status_code == 200


def test_check_bind_refuses_an_open_api_off_loopback() -> None:
    with pytest.raises(ConfigError, match="not a loopback address"):
        check_bind(ServiceSettings(host="0.0.0.0", admin_token=None, viewer_token=None))

    check_bind(ServiceSettings(host="::1", admin_token=None, viewer_token=None))
    check_bind(ServiceSettings(host="0.0.0.0", admin_token=ADMIN))


def test_check_bind_refuses_a_short_token_without_echoing_it() -> None:
    for key in ("admin_token", "viewer_token"):
        with pytest.raises(
            ConfigError, match=f"service.{key}.*shorter than 16"
        ) as refused:
            check_bind(ServiceSettings(**{key: "guessable-1"}))
        assert "guessable-1" not in str(refused.value)

    check_bind(ServiceSettings(admin_token="x" * 16, viewer_token="y" * 16))


def test_check_bind_refuses_one_token_for_both_roles() -> None:
    with pytest.raises(ConfigError, match="are the same") as refused:
        check_bind(ServiceSettings(admin_token=ADMIN, viewer_token=ADMIN))
    assert ADMIN not in str(refused.value)


def test_run_exits_1_with_one_line_when_open_and_not_on_loopback(
    tmp_path: Path, shared_data: Path
) -> None:
    script = shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    assert script is not None
    done = subprocess.run(
        [script, "run", "--host", "0.0.0.0", "--replay",
         str(shared_data / "tickets_min.csv")],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip

    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: service.host '0.0.0.0' is not a loopback")
