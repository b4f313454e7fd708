"""/metrics: the closed set of metric names, read live from the engine."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from .conftest import VIEWER, Service


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_expose_engine_kpi_and_alert_series(service: Service) -> None:
    with service.client(VIEWER) as client:
        answer = client.get("/metrics")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = _samples(answer.text)
    names = {name for name, _ in samples}
    assert {
        "supportpulse_queue_depth",
        "supportpulse_kpi",
        "supportpulse_alert_state",
    } <= names
    volume = samples[("supportpulse_kpi", (("kpi", "volume"), ("stat", "tickets")))]
    assert volume > 0
    assert (
        "supportpulse_kpi",
        (("kpi", "first_response"), ("stat", "p90_s")),
    ) in samples
    firing = samples[
        ("supportpulse_alert_state", (("rule", "any-tickets"), ("state", "firing")))
    ]
    assert firing == 1.0


def test_metrics_count_records_and_state_per_source(
    service: Service, shared_data: object
) -> None:
    source = {
        "name": "metered",
        "type": "replay",
        "options": {"path": f"{shared_data}/tickets_min.csv", "speed": 0},
    }
    with service.client() as client:
        client.post("/api/v1/sources", json=source)
        try:
            service.call(service.runtime.engine.idle())
            samples = _samples(client.get("/metrics").text)
        finally:
            client.delete("/api/v1/sources/metered")

    label = (("source", "metered"),)
    assert samples[("supportpulse_records_ingested_total", label)] == 20
    assert samples[("supportpulse_source_errors_total", label)] == 0
    state = (("source", "metered"), ("state", "stopped"))
    assert samples[("supportpulse_source_state", state)] == 1.0
