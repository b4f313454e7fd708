"""The sidebar's filter choices come from the API once per minute, not per rerun."""

from __future__ import annotations

from typing import Any

import pytest

from supportpulse.dashboard import views
from supportpulse.dashboard.choices import filter_choices
from supportpulse.dashboard.client import ApiClient

from .conftest import Service

pytestmark = [pytest.mark.shared_data, pytest.mark.timeout(120)]


class CountingClient(ApiClient):
    """The real client, counting the KPI documents it asks the service for."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.kpi_calls = 0

    def kpis(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.kpi_calls += 1
        return super().kpis(*args, **kwargs)


def test_filter_choices_ask_the_api_once_for_many_reruns(twcs_service: Service) -> None:
    filter_choices.clear()
    client = CountingClient(twcs_service.url)

    first = [filter_choices(client.base_url, "all", "team", client) for _ in range(3)]
    channels = filter_choices(client.base_url, "all", "channel", client)

    assert first[0] == first[1] == first[2]
    assert first[0] == views.filter_values(client.kpis(by=("team",)), "team")
    assert first[0]
    assert channels == views.filter_values(client.kpis(by=("channel",)), "channel")
    # Three reruns for teams and one for channels: two lists, two queries,
    # plus the two the test itself made to check them.
    assert client.kpi_calls == 4
    client.close()
