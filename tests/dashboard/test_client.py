"""The dashboard's API client against a real service with tokens: one clear
error per failure, with the API's own message, and never the token."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from supportpulse.dashboard.client import ApiClient, ApiError

from .conftest import BACKLOG_RULE, Service, start_service, stop_service

pytestmark = [pytest.mark.shared_data, pytest.mark.timeout(120)]

ADMIN = "admin-canary-7c1e"
VIEWER = "viewer-canary-93ab"


@pytest.fixture(scope="module")
def guarded(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """A service over the twcs sample that needs a token for everything."""
    service = start_service(
        tmp_path_factory.mktemp("guarded"),
        [BACKLOG_RULE],
        shared_data / "twcs" / "twcs_head_1000.csv",
        service={"admin_token": ADMIN, "viewer_token": VIEWER},
    )
    yield service
    stop_service(service)


def _failure(client: ApiClient, call: str, *args: object) -> ApiError:
    with pytest.raises(ApiError) as caught:
        getattr(client, call)(*args)
    client.close()
    return caught.value


def test_client_reads_kpis_sources_and_alerts_with_the_viewer_token(
    guarded: Service,
) -> None:
    client = ApiClient(guarded.url, VIEWER)

    assert client.kpis()["groups"][0]["tickets"] > 0
    assert client.sources() == []
    assert isinstance(client.alerts(), list)
    assert client.series("day")["points"]
    client.close()


def test_client_without_a_token_gets_one_unauthorized_error(guarded: Service) -> None:
    error = _failure(ApiClient(guarded.url), "kpis")

    assert (error.code, error.status) == ("unauthorized", 401)
    assert "\n" not in str(error)


def test_client_with_the_viewer_token_may_not_acknowledge(guarded: Service) -> None:
    error = _failure(ApiClient(guarded.url, VIEWER), "acknowledge", "backlog-high")

    assert (error.code, error.status) == ("forbidden", 403)
    assert VIEWER not in str(error)
    assert ADMIN not in str(error)


def test_client_passes_on_the_api_message_for_an_unknown_source(
    guarded: Service,
) -> None:
    error = _failure(ApiClient(guarded.url, ADMIN), "pause_source", "no-such-source")

    assert (error.code, error.status) == ("not_found", 404)
    assert "no-such-source" in str(error)


def test_client_names_the_address_it_cannot_reach() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    error = _failure(ApiClient(f"http://127.0.0.1:{port}", ADMIN), "alerts")

    assert error.code == "unavailable"
    assert str(error).startswith(f"cannot reach the API at http://127.0.0.1:{port}")
    assert ADMIN not in str(error)
