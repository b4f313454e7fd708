"""The Streamlit page, run by AppTest against a real service over the twcs sample."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from supportpulse.dashboard import views
from supportpulse.dashboard.client import API_URL_ENV, ApiClient, KPIFilter
from supportpulse.dashboard.launch import APP

from .conftest import Service

pytestmark = [pytest.mark.shared_data, pytest.mark.timeout(180)]

RUN_TIMEOUT_S = 60


@pytest.fixture
def client(twcs_service: Service) -> Iterator[ApiClient]:
    api = ApiClient(twcs_service.url)
    yield api
    api.close()


def _page(monkeypatch: pytest.MonkeyPatch, url: str, window: str = "all") -> AppTest:
    monkeypatch.setenv(API_URL_ENV, url)
    for name in ("SUPPORTPULSE_ADMIN_TOKEN", "SUPPORTPULSE_VIEWER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    page = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT_S)
    page.query_params["window"] = window
    return page.run()


def _tiles(page: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in page.metric}


def _expected_tiles(document: dict[str, object]) -> dict[str, str]:
    return {tile.label: tile.value for tile in views.tiles(document, None)}


def test_dashboard_tiles_show_the_figures_the_api_returns(
    monkeypatch: pytest.MonkeyPatch, twcs_service: Service, client: ApiClient
) -> None:
    page = _page(monkeypatch, twcs_service.url)

    assert not page.exception
    shown = _tiles(page)
    assert shown == _expected_tiles(client.kpis())
    assert shown["Volume"] != "0"
    assert shown["First response p50"] != "—"


def test_dashboard_team_filter_narrows_the_tiles_to_that_team(
    monkeypatch: pytest.MonkeyPatch, twcs_service: Service, client: ApiClient
) -> None:
    page = _page(monkeypatch, twcs_service.url)
    teams = views.filter_values(client.kpis(by=("team",)), "team")

    page.sidebar.selectbox(key="filter-team").select(teams[0]).run()

    assert not page.exception
    expected = _expected_tiles(client.kpis(where=KPIFilter(team=teams[0])))
    assert _tiles(page) == expected
    assert expected["Volume"] != _expected_tiles(client.kpis())["Volume"]


def test_dashboard_breakdown_lists_every_team_of_the_api(
    monkeypatch: pytest.MonkeyPatch, twcs_service: Service, client: ApiClient
) -> None:
    page = _page(monkeypatch, twcs_service.url)

    tables = [table.value for table in page.dataframe if "team" in table.value.columns]

    assert len(tables) == 1
    expected = views.breakdown_rows(client.kpis(by=("team",)), "team")
    assert list(tables[0]["team"]) == [row["team"] for row in expected]
    assert list(tables[0]["tickets"]) == [row["tickets"] for row in expected]


def test_dashboard_trend_covers_the_series_of_the_api(
    monkeypatch: pytest.MonkeyPatch, twcs_service: Service, client: ApiClient
) -> None:
    page = _page(monkeypatch, twcs_service.url)

    assert not page.exception
    subheaders = [header.value for header in page.subheader]
    assert "Volume and backlog" in subheaders
    assert client.series("day")["points"]


def test_dashboard_shows_one_clear_error_when_the_api_is_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A port that was free a moment ago: nothing listens there.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    page = _page(monkeypatch, f"http://127.0.0.1:{port}")

    assert not page.exception
    assert len(page.error) == 1
    assert "cannot reach the API" in page.error[0].value
    assert not page.metric


def test_dashboard_source_form_names_the_field_it_rejects(
    monkeypatch: pytest.MonkeyPatch, twcs_service: Service
) -> None:
    page = _page(monkeypatch, twcs_service.url)

    page.text_input(key="add-name").input("bad name!")
    page.button(key="FormSubmitter:add-source-Add source").click().run()

    assert not page.exception
    assert any(error.value.startswith("name:") for error in page.error)


def test_dashboard_alerts_panel_shows_a_firing_rule_and_acknowledges_it(
    monkeypatch: pytest.MonkeyPatch, twcs_service: Service, client: ApiClient
) -> None:
    _wait_for_firing(client, "backlog-high")
    page = _page(monkeypatch, twcs_service.url)

    assert any("backlog-high" in error.value for error in page.error)
    page.button(key="ack-backlog-high (all)").click().run()

    assert not page.exception
    (alert,) = [a for a in client.alerts() if a["rule"] == "backlog-high"]
    assert alert["acknowledged_at"] is not None
    assert not any("Firing" in error.value for error in page.error)


def _wait_for_firing(client: ApiClient, rule: str) -> None:
    # Rules run every second in this service; the first run fires this one.
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(a["rule"] == rule and a["state"] == "firing" for a in client.alerts()):
            return
        time.sleep(0.2)
    pytest.fail(f"rule {rule} never fired")


def test_dashboard_adds_pauses_and_removes_a_source(
    monkeypatch: pytest.MonkeyPatch, twcs_service: Service, client: ApiClient
) -> None:
    page = _page(monkeypatch, twcs_service.url)

    page.text_input(key="add-name").input("sim-desk")
    page.selectbox(key="add-type").select("simulated")
    page.text_area(key="add-options").input("speed: 0\nhistory: 1h\nseed: 3")
    page.button(key="FormSubmitter:add-source-Add source").click().run()

    assert not page.exception
    assert [s.value for s in page.success] == ["Added sim-desk"]
    assert "sim-desk" in [source["name"] for source in client.sources()]

    page.run()
    page.selectbox(key="manage-source").select("sim-desk").run()
    page.button(key="source-pause").click().run()
    (paused,) = [s for s in client.sources() if s["name"] == "sim-desk"]
    assert paused["state"] == "paused"

    page.checkbox(key="source-remove-confirm").check().run()
    page.button(key="source-remove").click().run()

    assert not page.exception
    assert "sim-desk" not in [source["name"] for source in client.sources()]


def test_dashboard_shows_the_api_reason_when_a_source_is_refused(
    monkeypatch: pytest.MonkeyPatch, twcs_service: Service
) -> None:
    page = _page(monkeypatch, twcs_service.url)

    page.text_input(key="add-name").input("bad-options")
    page.selectbox(key="add-type").select("simulated")
    page.text_area(key="add-options").input("speed: -5")
    page.button(key="FormSubmitter:add-source-Add source").click().run()

    assert not page.exception
    messages = [error.value for error in page.error]
    assert any("speed" in message for message in messages), messages


def test_dashboard_upload_shows_the_quarantine_report(
    monkeypatch: pytest.MonkeyPatch, twcs_service: Service
) -> None:
    page = _page(monkeypatch, twcs_service.url)
    content = (
        b"ticket_id,created_at,priority\n"
        b"u-1,2024-01-02T10:00:00Z,high\n"
        b"u-2,not a date,low\n"
        b",2024-01-02T11:00:00Z,low\n"
    )

    page.file_uploader(key="upload-file").upload("upload.csv", content, "text/csv")
    page.run()
    page.button(key="upload-go").click().run()

    assert not page.exception
    assert [s.value for s in page.success][-1].startswith(
        "upload.csv: 3 rows -> 1 ticket,"
    )
    assert [w.value for w in page.warning] == ["2 rows quarantined"]
    (report,) = [t.value for t in page.dataframe if "reason" in t.value.columns]
    assert list(report["line"]) == [3, 4]


def test_dashboard_never_shows_a_secret_option_it_was_given(
    monkeypatch: pytest.MonkeyPatch, twcs_service: Service, client: ApiClient
) -> None:
    canary = "Bearer canary-5f0e2a"
    page = _page(monkeypatch, twcs_service.url)
    page.text_input(key="add-name").input("canary-rest")
    page.selectbox(key="add-type").select("rest")
    page.text_area(key="add-options").input("url: http://127.0.0.1:9/tickets")
    page.text_input(key="add-secret-name").input("headers.Authorization")
    page.text_input(key="add-secret-value").input(canary)
    page.button(key="FormSubmitter:add-source-Add source").click().run()
    assert [s.value for s in page.success] == ["Added canary-rest"]

    page.run()
    page.selectbox(key="manage-source").select("canary-rest").run()

    assert not page.exception
    shown = [str(element.value) for element in page.json]
    shown += [table.value.to_csv() for table in page.dataframe]
    shown += [str(message.value) for message in [*page.error, *page.success]]
    assert any("canary-rest" in text for text in shown)
    assert not any("canary-5f0e2a" in text for text in shown)
    client.remove_source("canary-rest")
