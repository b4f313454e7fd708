"""The shapes of the API's JSON documents, declared for the OpenAPI document.

Each mirrors a document the rest of supportpulse already produces (the KPI
groups of `compute_kpis`, `Engine.status()`, the alert views), so the API
and the command line never disagree.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Document(BaseModel):
    model_config = ConfigDict(extra="allow")


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class SourceStatusView(_Document):
    """One source's state as `Engine.status()` reports it."""

    name: str
    type: str
    state: str
    last_success: str | None
    last_error: str | None
    newest_record: str | None
    lag_s: float | None
    records: int
    rate_per_s: float


class Readiness(BaseModel):
    """Whether the service can answer: store reachable, required sources working."""

    ready: bool
    store: str
    sources: list[SourceStatusView]


class DurationStat(BaseModel):
    """A duration KPI: how many samples, median, 90th percentile and mean."""

    count: int
    p50_s: float | None
    p90_s: float | None
    mean_s: float | None


class SLAFigures(BaseModel):
    """Tickets whose first-response target fell due, and how many breached it."""

    due: int
    breached: int
    rate: float | None


class SentimentFigures(BaseModel):
    """Mean VADER compound of customer messages and the negative share."""

    mean: float | None
    negative_share: float | None


class CSATFigures(BaseModel):
    """Ratings given and their mean."""

    count: int
    mean: float | None


class KPIFigures(BaseModel):
    """Every KPI of one group (docs/metrics.md)."""

    tickets: int
    messages: int
    backlog: int
    first_response: DurationStat
    reply_time: DurationStat
    resolution: DurationStat
    sla: SLAFigures
    sentiment: SentimentFigures
    csat: CSATFigures


class KPIGroup(KPIFigures):
    """The KPIs of one group, named by its dimension values (and bucket)."""

    key: dict[str, str | None]


class KPIWindow(BaseModel):
    """The window computed: `since` (None for all data) to `until`, exclusive."""

    since: str | None
    until: str | None


class KPIDocument(BaseModel):
    """The document `supportpulse kpis --json` prints."""

    window: KPIWindow
    groups: list[KPIGroup]


class KPIPoint(BaseModel):
    """The KPIs of one time bucket."""

    start: str
    kpis: KPIFigures


class KPISeries(BaseModel):
    """KPIs per time bucket, oldest first; buckets without data are left out."""

    bucket: Literal["minute", "hour", "day"]
    window: KPIWindow
    points: list[KPIPoint]


class TicketView(BaseModel):
    """One ticket's fields; message text and raw records are never listed."""

    source: str
    external_id: str
    created_at: str
    updated_at: str
    status: str | None
    priority: str | None
    channel: str | None
    team: str | None
    agent: str | None
    category: str | None
    tags: list[str]
    first_response_at: str | None
    resolved_at: str | None
    csat: float | None


class TicketPage(BaseModel):
    """Tickets newest first; pass `next_cursor` back as `cursor` for more."""

    tickets: list[TicketView]
    next_cursor: str | None


class SourceView(SourceStatusView):
    """A source's status with its settings; secret options are masked."""

    origin: Literal["config", "api"]
    enabled: bool
    required: bool
    interval_s: float
    options: dict[str, Any]


class SourceList(BaseModel):
    """Every source the engine knows."""

    sources: list[SourceView]


class SampleTicket(BaseModel):
    """A ticket as a source's mapping produced it."""

    external_id: str
    created_at: str
    team: str | None
    priority: str | None
    status: str | None
    channel: str | None
    agent: str | None


class SourceTest(BaseModel):
    """What `supportpulse sources test NAME` prints, as JSON."""

    source: str
    type: str
    ok: bool
    error: str | None = None
    mapping: dict[str, Any] = Field(default_factory=dict)
    tickets: int = 0
    messages: int = 0
    unusable: int = 0
    sample: list[SampleTicket] = Field(default_factory=list)
    unusable_reasons: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)


class AlertStateView(BaseModel):
    """One (rule, group)'s current state."""

    rule: str
    group: dict[str, Any]
    state: str
    since: str | None
    value: float | None
    pending_since: str | None
    fired_at: str | None
    acknowledged_at: str | None
    silenced_until: str | None
    error: str | None
    evaluated_at: str | None


class AlertList(BaseModel):
    """Every evaluated rule and group."""

    alerts: list[AlertStateView]


class AlertEvent(BaseModel):
    """One recorded state change."""

    id: int | None
    rule: str
    group: dict[str, Any]
    at: str | None
    previous: str
    state: str
    kpi: str
    value: float | None
    op: str
    threshold: float
    clear_threshold: float
    window_s: float
    severity: str
    notify: bool
    suppressed: str | None
    error: str | None


class AlertHistory(BaseModel):
    """State changes, newest first."""

    events: list[AlertEvent]


class GroupChoice(BaseModel):
    """Which group of a rule: its dimension values; none means every group."""

    model_config = ConfigDict(extra="forbid")

    group: dict[str, str | None] | None = None


class SilenceRequest(GroupChoice):
    """How long to hold back a rule's notifications, like "30m", "4h", "2d"."""

    for_: str = Field(alias="for", pattern=r"^\s*\d+\s*[smhdw]\s*$")


class Acknowledged(BaseModel):
    """The groups whose open alert was acknowledged."""

    rule: str
    groups: list[dict[str, Any]]


class Silenced(BaseModel):
    """A silence now in force."""

    rule: str
    group: dict[str, Any] | None
    until: str


class QuarantinedLine(BaseModel):
    """One row set aside: its line in the file and why."""

    line: int | None
    reason: str


class IngestReport(BaseModel):
    """What an uploaded file gave, as `supportpulse ingest` reports it."""

    file: str
    layout: str
    source: str
    rows: int
    tickets: int
    messages: int
    quarantined: int
    seconds: float
    reasons: dict[str, int]
    quarantine: list[QuarantinedLine]
