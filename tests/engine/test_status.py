"""Source status: state after delivering, lag, rate, redacted errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from supportpulse.engine.status import DEGRADED_FOR_S, SourceState, SourceStatus

NOW = datetime(2024, 1, 1, 12)


def test_status_delivering_after_a_recent_failure_is_degraded_then_live() -> None:
    status = SourceStatus("zendesk-eu", "rest")
    assert status.working(NOW) is SourceState.live

    status.failed(TimeoutError("read timed out"), NOW)

    assert status.working(NOW + timedelta(seconds=1)) is SourceState.degraded
    later = NOW + timedelta(seconds=DEGRADED_FOR_S + 1)
    assert status.working(later) is SourceState.live


def test_status_reports_lag_rate_and_masks_passwords_in_errors() -> None:
    status = SourceStatus("db", "sql")
    status.delivered(120, NOW - timedelta(seconds=30), NOW)
    status.failed(ConnectionError("postgresql://sp:CANARY@db/x refused"), NOW)

    view = status.as_dict(NOW)

    assert view["lag_s"] == 30.0
    assert view["records"] == 120
    assert view["rate_per_s"] == 2.0
    assert "CANARY" not in view["last_error"]


def test_status_lag_of_a_newest_record_with_a_time_zone() -> None:
    status = SourceStatus("helpdesk", "database")
    now = datetime(2024, 5, 1, 12, 0)

    status.delivered(
        3, datetime(2024, 5, 1, 13, 59, tzinfo=timezone(timedelta(hours=2))), now
    )

    assert status.as_dict(now)["lag_s"] == 60.0


def test_status_lag_of_a_caught_up_source_counts_from_its_last_complete_poll() -> None:
    status = SourceStatus("zendesk", "zendesk")
    status.delivered(10, datetime(2024, 5, 1, 1, 0), datetime(2024, 5, 1, 11, 0))

    status.polled(datetime(2024, 5, 1, 11, 59), caught_up=True)

    view = status.as_dict(datetime(2024, 5, 1, 12, 0))
    assert view["lag_s"] == 60.0
    assert view["last_success"] == "2024-05-01T11:59:00Z"


def test_status_lag_of_a_source_still_reading_counts_from_its_newest_record() -> None:
    status = SourceStatus("zendesk", "zendesk")
    status.delivered(10, datetime(2024, 5, 1, 1, 0), datetime(2024, 5, 1, 11, 0))

    status.polled(datetime(2024, 5, 1, 11, 59), caught_up=False)

    assert status.as_dict(datetime(2024, 5, 1, 12, 0))["lag_s"] == 11 * 3600.0
