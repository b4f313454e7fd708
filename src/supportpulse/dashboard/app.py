"""The Streamlit page: draws what `views` works out from the API's documents.

Run by `supportpulse dashboard`, which passes the API address in
SUPPORTPULSE_API_URL. Only the live panels (tiles, trends, sources, alerts)
re-run on the auto-refresh timer; filters and forms stay as the user left
them. An API problem shows one message in place of the panel, never a
traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import entry_points
from typing import Any

import pandas as pd
import streamlit as st

from supportpulse.dashboard import views
from supportpulse.dashboard.choices import filter_choices
from supportpulse.dashboard.client import (
    API_URL_ENV,
    ApiClient,
    ApiError,
    KPIFilter,
    token_from_env,
)

DEFAULT_API_URL = "http://127.0.0.1:8000"
ALL = "All"

# Tiles grow with the screen, so a wall display reads from across a room
# and a laptop still fits eight of them.
STYLE = """
<style>
[data-testid="stMetricValue"] { font-size: clamp(2.2rem, 2.6vw, 4.5rem); }
[data-testid="stMetricLabel"] p { font-size: clamp(1rem, 1vw, 1.6rem); }
</style>
"""


@st.cache_resource
def _client(base_url: str, token: str | None) -> ApiClient:
    return ApiClient(base_url, token)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _guarded(panel: Callable[..., None], *args: Any) -> None:
    """Draw a panel, or one clear error in its place."""
    try:
        panel(*args)
    except ApiError as exc:
        st.error(str(exc))


# -- sidebar --------------------------------------------------------------


def _sidebar(client: ApiClient) -> tuple[views.Window, KPIFilter, int | None]:
    st.sidebar.header("supportpulse")
    labels = [window.label for window in views.WINDOWS]
    chosen = views.window_of(st.query_params.get("window"))
    label = st.sidebar.selectbox(
        "Window", labels, index=labels.index(chosen.label), key="window"
    )
    window = next(w for w in views.WINDOWS if w.label == label)
    st.query_params["window"] = window.key

    filters: dict[str, str | None] = {}
    for dimension in ("team", "channel", "priority"):
        options = filter_choices(client.base_url, window.key, dimension, client)
        picked = st.sidebar.selectbox(
            dimension.capitalize(), [ALL, *options], key=f"filter-{dimension}"
        )
        filters[dimension] = None if picked == ALL else picked

    refresh = st.sidebar.selectbox(
        "Auto-refresh", list(views.REFRESH), index=1, key="refresh"
    )
    st.sidebar.caption(f"API: {client.base_url}")
    return window, KPIFilter(**filters), views.REFRESH[refresh]


# -- live panels ----------------------------------------------------------


def _tiles(client: ApiClient, window: views.Window, where: KPIFilter) -> None:
    b = views.bounds(window, _now())
    current = client.kpis(b.since, b.until, where=where)
    previous = None
    if b.previous_until is not None:
        previous = client.kpis(b.previous_since, b.previous_until, where=where)
    shown = views.tiles(current, previous)
    for row in (shown[:4], shown[4:]):
        for column, tile in zip(st.columns(len(row)), row, strict=True):
            column.metric(
                tile.label, tile.value, tile.delta, delta_color=tile.delta_color
            )
    caption = f"{window.label} until {b.until}"
    if previous is not None:
        caption += "; change against the previous window of equal length"
    st.caption(caption)


def _trends(client: ApiClient, window: views.Window, where: KPIFilter) -> None:
    b = views.bounds(window, _now())
    rows = views.trend_rows(client.series(window.bucket, b.since, b.until, where))
    if not rows:
        st.info("No tickets in this window yet.")
        return
    left, right = st.columns(2)
    left.subheader("Volume and backlog")
    left.line_chart(rows, x="time", y=["tickets", "messages", "backlog"])
    right.subheader("First response (minutes)")
    right.line_chart(
        rows, x="time", y=["first response p50 (min)", "first response p90 (min)"]
    )


def _alerts(client: ApiClient) -> None:
    st.subheader("Alerts")
    alerts = client.alerts()
    firing = views.unacknowledged_firing(alerts)
    if not alerts:
        st.caption("No alert rules have been evaluated yet.")
        return
    names = [f"{rule} ({views.group_text(group)})" for rule, group in firing]
    if names:
        st.error(f"Firing: {', '.join(names)}")
    for (rule, group), name in zip(firing, names, strict=True):
        st.button(
            f"Acknowledge {name}",
            key=f"ack-{name}",
            on_click=_acknowledge,
            args=(client, rule, group, name),
        )
    outcome = st.session_state.pop("ack-outcome", None)
    if outcome:
        failed, message = outcome
        if failed:
            st.warning(message)
        else:
            st.success(message)
    rows = views.alert_rows(alerts)
    _status_table(
        [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]
    )


def _acknowledge(
    client: ApiClient, rule: str, group: dict[str, Any], name: str
) -> None:
    # Runs before the panel is drawn again, so the table already shows the ack.
    try:
        client.acknowledge(rule, group)
    except ApiError as exc:
        st.session_state["ack-outcome"] = (True, str(exc))
        return
    st.session_state["ack-outcome"] = (False, f"Acknowledged {name}")


def _source_status(client: ApiClient) -> None:
    st.subheader("Sources")
    sources = client.sources()
    if not sources:
        st.caption("No sources are running; add one below.")
        return
    _status_table(views.source_rows(sources))


def _status_table(rows: list[dict[str, Any]]) -> None:
    """A table whose `state` column is coloured by state."""
    styled = pd.DataFrame(rows).style.map(views.badge_style, subset=["state"])
    st.dataframe(styled, hide_index=True, width="stretch")


# -- the rest of the page -------------------------------------------------


def _breakdown(client: ApiClient, window: views.Window, where: KPIFilter) -> None:
    st.subheader("Breakdown")
    dimension = st.radio(
        "By",
        views.BREAKDOWNS,
        horizontal=True,
        key="breakdown",
        label_visibility="collapsed",
    )
    b = views.bounds(window, _now())
    document = client.kpis(b.since, b.until, by=(dimension,), where=where)
    st.dataframe(
        views.breakdown_rows(document, dimension), hide_index=True, width="stretch"
    )


def _manage_sources(client: ApiClient) -> None:
    sources = client.sources()
    names = [str(source["name"]) for source in sources]
    if names:
        st.subheader("Manage a source")
        name = st.selectbox("Source", names, key="manage-source")
        chosen = next(source for source in sources if source["name"] == name)
        st.caption("Options (secrets masked)")
        st.json(chosen.get("options", {}), expanded=False)
        test, pause, resume, remove = st.columns(4)
        if test.button("Test", key="source-test"):
            _act(lambda: st.json(client.test_source(name)))
        if pause.button("Pause", key="source-pause"):
            _act(lambda: client.pause_source(name), f"Paused {name}")
        if resume.button("Resume", key="source-resume"):
            _act(lambda: client.resume_source(name), f"Resumed {name}")
        confirmed = remove.checkbox("Really remove", key="source-remove-confirm")
        if remove.button("Remove", key="source-remove", disabled=not confirmed):
            _act(lambda: client.remove_source(name), f"Removed {name}")


def _add_source(client: ApiClient) -> None:
    st.subheader("Add a source")
    with st.form("add-source", clear_on_submit=False):
        name = st.text_input("Name", placeholder="helpdesk-db", key="add-name")
        type_name = st.selectbox("Type", _source_types(), key="add-type")
        interval = st.text_input("Poll interval", value="60s", key="add-interval")
        options = st.text_area(
            "Options (YAML)",
            placeholder="url: http://127.0.0.1:9000/api/tickets",
            key="add-options",
        )
        secret_name = st.text_input(
            "Secret option name", placeholder="password", key="add-secret-name"
        )
        secret_value = st.text_input(
            "Secret option value", type="password", key="add-secret-value"
        )
        if st.form_submit_button("Add source"):
            try:
                document = views.source_document(
                    name, type_name or "", interval, options, secret_name, secret_value
                )
            except views.FormError as exc:
                st.error(str(exc))
            else:
                _act(lambda: client.add_source(document), f"Added {name.strip()}")


def _act(action: Callable[[], object], done: str | None = None) -> None:
    try:
        action()
    except ApiError as exc:
        st.error(str(exc))
        return
    if done:
        st.success(done)


def _source_types() -> list[str]:
    # The types installed beside the dashboard; the API validates the choice.
    return sorted(point.name for point in entry_points(group="supportpulse.sources"))


def _upload(client: ApiClient) -> None:
    st.subheader("Upload a file")
    st.caption("CSV or JSON Lines, ingested by the service; bad rows are quarantined.")
    uploaded = st.file_uploader("File", type=["csv", "jsonl"], key="upload-file")
    source = st.text_input("Source name (optional)", key="upload-source")
    if uploaded is None or not st.button("Ingest", key="upload-go"):
        return
    try:
        report = client.ingest(uploaded.name, uploaded.getvalue(), source or None)
    except ApiError as exc:
        st.error(str(exc))
        return
    st.success(views.ingest_text(report))
    quarantine = report.get("quarantine", [])
    if quarantine:
        # The API lists the first rows; the summary counts them all.
        count = int(report.get("quarantined", len(quarantine)))
        st.warning(f"{views.plural(count, 'row')} quarantined")
        st.dataframe(
            views.quarantine_rows(quarantine), hide_index=True, width="stretch"
        )
        if count > len(quarantine):
            st.caption("`supportpulse quarantine` lists every row.")


# -- page -----------------------------------------------------------------


def main() -> None:
    """Draw the whole page."""
    st.set_page_config(page_title="supportpulse", page_icon="📈", layout="wide")
    st.markdown(STYLE, unsafe_allow_html=True)
    client = _client(os.environ.get(API_URL_ENV, DEFAULT_API_URL), token_from_env())
    try:
        window, where, every = _sidebar(client)
    except ApiError as exc:
        st.error(str(exc))
        st.stop()

    @st.fragment(run_every=every)
    def overview_live() -> None:
        _guarded(_tiles, client, window, where)
        _guarded(_trends, client, window, where)

    @st.fragment(run_every=every)
    def alerts_live() -> None:
        _guarded(_alerts, client)

    @st.fragment(run_every=every)
    def sources_live() -> None:
        _guarded(_source_status, client)

    st.title("Support operations")
    overview, sources, upload = st.tabs(["Overview", "Sources", "Upload"])
    with overview:
        overview_live()
        alerts_live()
        _guarded(_breakdown, client, window, where)
    with sources:
        sources_live()
        _guarded(_manage_sources, client)
        _add_source(client)
    with upload:
        _upload(client)


main()
