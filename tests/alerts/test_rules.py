"""Alert rules and the `alerts:` section as the config file states them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from supportpulse.alerts.evaluator import kpi_value
from supportpulse.alerts.rules import (
    COUNT_KPIS,
    KPI_PATHS,
    AlertRule,
    AlertSettings,
    Dimension,
)
from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.analytics.sql import DIMENSIONS
from supportpulse.config import Settings, load_settings
from supportpulse.errors import ConfigError
from supportpulse.store import Store

from .helpers import T0, write_tickets


def test_defaults_watch_frt_sla_and_sentiment_over_an_hour() -> None:
    rules = Settings().alerts.rules

    assert [(r.kpi, r.op, r.threshold, r.window) for r in rules] == [
        ("first_response.p90_s", ">", 3600.0, timedelta(hours=1)),
        ("sla.rate", ">", 0.10, timedelta(hours=1)),
        ("sentiment.mean", "<", -0.2, timedelta(hours=1)),
    ]
    assert [channel.type for channel in Settings().alerts.notifications] == ["log"]


def test_rule_reads_the_config_spelling() -> None:
    rule = AlertRule.model_validate(
        {
            "name": "slow-billing",
            "kpi": "first_response.p50_s",
            "window": "30m",
            "by": ["team", "priority"],
            "op": ">=",
            "threshold": 900,
            "for": "10m",
            "severity": "critical",
            "clear_threshold": 600,
        }
    )

    assert rule.window == timedelta(minutes=30)
    assert rule.for_ == timedelta(minutes=10)
    assert rule.by == ("team", "priority")
    assert rule.clear_at == 600
    assert rule.upward


def test_clear_threshold_defaults_to_the_threshold() -> None:
    rule = AlertRule(name="r", kpi="sla.rate", op="<", threshold=0.5)

    assert rule.clear_at == 0.5
    assert not rule.upward


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kpi": "first_response.p99_s"}, "unknown KPI"),
        ({"window": "0s"}, "window must be positive"),
        ({"for": -5}, "must not be negative"),
        ({"by": ["team", "team"]}, "repeated"),
        ({"by": ["requester"]}, "Input should be"),
        ({"op": "=="}, "Input should be"),
        ({"clear_threshold": 20}, "must not be above"),
        ({"op": "<", "clear_threshold": 5}, "must not be below"),
        ({"threshold": float("nan")}, "finite"),
        ({"name": "has space"}, "pattern"),
        ({"severity": "page"}, "Input should be"),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_rule_rejects_mistakes(change: dict[str, Any], message: str) -> None:
    fields = {"name": "r", "kpi": "tickets", "op": ">", "threshold": 10, **change}

    with pytest.raises(ValidationError, match=message):
        AlertRule.model_validate(fields)


def test_rule_and_channel_names_are_unique() -> None:
    rule = {"name": "r", "kpi": "tickets", "op": ">", "threshold": 1}
    with pytest.raises(ValidationError, match="rule name 'r' is used twice"):
        AlertSettings.model_validate({"rules": [rule, rule]})
    with pytest.raises(ValidationError, match="channel name 'log' is used twice"):
        AlertSettings.model_validate(
            {"notifications": [{"type": "log"}, {"type": "log"}]}
        )


def test_empty_rules_turn_alerting_off() -> None:
    assert AlertSettings.model_validate({"rules": []}).rules == []


def test_config_file_error_names_the_dotted_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "alerts:\n  rules:\n    - {name: r, kpi: tickets, op: '>', threshold: x}\n"
    )

    with pytest.raises(ConfigError, match=r"key 'alerts\.rules\.0\.threshold'"):
        load_settings(path)


def test_config_file_interpolates_channel_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "s" * 32)
    path = tmp_path / "config.yaml"
    path.write_text(
        "alerts:\n  notifications:\n"
        "    - {type: webhook, url: 'https://127.0.0.1/h', secret: '${HOOK_SECRET}'}\n"
    )

    channel = load_settings(path).alerts.notifications[0]

    assert channel.name == "webhook"
    assert channel.secret.get_secret_value() == "s" * 32  # type: ignore[union-attr]
    assert "s" * 32 not in repr(channel)


def test_dimensions_match_the_kpi_query() -> None:
    assert set(get_args(Dimension)) == set(DIMENSIONS)


def test_kpi_paths_are_every_leaf_of_a_kpi_group(duckdb_store: Store) -> None:
    write_tickets(duckdb_store, 1, T0)
    query = KPIQuery(until=T0 + timedelta(hours=1))
    (group,) = compute_kpis(duckdb_store, query, Settings().sla)["groups"]
    del group["key"]
    leaves = _leaves(group)

    assert set(KPI_PATHS) == leaves
    assert leaves >= COUNT_KPIS
    assert all(isinstance(kpi_value(group, path), float) for path in COUNT_KPIS)


def test_kpi_value_reads_a_dotted_path() -> None:
    group = {"tickets": 0, "first_response": {"p90_s": 12}, "sla": {"rate": None}}

    assert kpi_value(group, "first_response.p90_s") == 12.0
    assert kpi_value(group, "sla.rate") is None
    assert kpi_value(group, "tickets") == 0.0


def _leaves(node: dict[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for name, value in node.items():
        path = f"{prefix}{name}"
        found |= _leaves(value, f"{path}.") if isinstance(value, dict) else {path}
    return found
