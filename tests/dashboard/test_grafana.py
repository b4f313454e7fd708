"""deploy/grafana/supportpulse.json reads only what a running service exports.

Every PromQL selector of the board is matched against the samples of a real
service's /metrics: the metric must exist, and so must every label it filters
on with the exact value it asks for.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import BACKLOG_RULE, Service, start_service, stop_service

pytestmark = pytest.mark.timeout(180)

BOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "supportpulse.json"
_SELECTOR = re.compile(r"\b(supportpulse_[a-z_]+)(\{[^}]*\})?")
_MATCHER = re.compile(r'(\w+)\s*(=~|!=|!~|=)\s*"([^"]*)"')


@pytest.fixture(scope="module")
def exported(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """(name, labels) of every sample a service exports while the simulated
    help desk, which has every KPI, streams into it."""
    service = start_service(tmp_path_factory.mktemp("grafana"), [BACKLOG_RULE])
    desk = {"name": "helpdesk", "type": "simulated", "options": {"speed": 0}}
    added = httpx.post(f"{service.url}/api/v1/sources", json=desk, timeout=30)
    assert added.status_code == 201, added.text
    try:
        yield _samples_once_complete(service)
    finally:
        stop_service(service)


def _samples_once_complete(service: Service) -> list[tuple[str, dict[str, str]]]:
    # A KPI gauge appears once its figure exists; CSAT comes last, after
    # tickets are resolved and rated.
    deadline = time.monotonic() + 60
    while True:
        text = httpx.get(f"{service.url}/metrics", timeout=10).text
        samples = [
            (sample.name, dict(sample.labels))
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]
        rated = ("supportpulse_kpi", {"kpi": "csat", "stat": "mean"}) in samples
        if rated or time.monotonic() > deadline:
            return samples
        time.sleep(0.5)


def _expressions(board: dict[str, Any]) -> list[str]:
    found = [target["expr"] for panel in board["panels"] for target in panel["targets"]]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            found.append(variable["definition"])
    return found


def test_grafana_board_is_valid_json_with_a_prometheus_datasource_variable() -> None:
    board = json.loads(BOARD.read_text(encoding="utf-8"))

    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    assert all(p["datasource"]["uid"] == "${datasource}" for p in board["panels"])
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
    assert all(p["targets"] for p in board["panels"])


def test_grafana_board_selects_only_series_the_service_exports(
    exported: list[tuple[str, dict[str, str]]],
) -> None:
    board = json.loads(BOARD.read_text(encoding="utf-8"))
    problems = []
    for expression in _expressions(board):
        selectors = _SELECTOR.findall(expression)
        if not selectors:
            problems.append(f"{expression}: names no supportpulse metric")
        for name, braces in selectors:
            exact = {
                label: value
                for label, op, value in _MATCHER.findall(braces)
                if op == "=" and "$" not in value
            }
            labels = {label for label, _, _ in _MATCHER.findall(braces)}
            matching = [
                sample
                for sample_name, sample in exported
                if sample_name == name
                and labels <= sample.keys()
                and all(sample[k] == v for k, v in exact.items())
            ]
            if not matching:
                problems.append(
                    f"{expression}: no exported sample matches {name}{braces}"
                )

    assert problems == []
