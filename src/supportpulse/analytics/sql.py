"""The KPI query: every figure of docs/metrics.md as one SQL statement.

`tk` and `ms` are NOT MATERIALIZED on PostgreSQL, which then plans through
them with the tables' statistics instead of guessing the size of a
materialized result. DuckDB materializes `tk` instead: four parts read it,
and joining the tickets to their answers once is a third of the query.

First responses and reply times come from the reply facts (`ticket_answers`,
`reply_waits`, see reply_facts.py), which must be refreshed first.

The same text runs on DuckDB and PostgreSQL; it uses only what both engines
share (ordered-set percentiles, window functions, IS NOT DISTINCT FROM).
"""

from __future__ import annotations

from supportpulse.config import SLASettings

DIMENSIONS = ("team", "agent", "channel", "priority", "category", "source")
BUCKETS = ("minute", "hour", "day")
#: The status of a ticket its help desk has deleted.
DELETED = "deleted"
NEGATIVE_AT_OR_BELOW = -0.05

_STATS = ("first_response", "reply_time", "resolution")


def _seconds(later: str, earlier: str) -> str:
    return f"CAST(extract(epoch FROM ({later} - {earlier})) AS DOUBLE PRECISION)"


def _target_case(sla: SLASettings) -> str:
    # Targets come from validated settings (names are matched as parameters
    # would be: quoted literals with quotes doubled), never from input rows.
    arms = " ".join(
        f"WHEN '{name.replace(chr(39), chr(39) * 2)}' THEN {seconds!r}"
        for name, seconds in sorted(
            (name, target.total_seconds())
            for name, target in sla.first_response.items()
        )
    )
    normal = sla.target_seconds("normal")
    return f"CASE lower(coalesce(t.priority, 'normal')) {arms} ELSE {normal!r} END"


def _stat_columns(name: str, value: str) -> str:
    return (
        f"count({value}) AS {name}_count, "
        f"CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY {value}) AS DOUBLE PRECISION)"
        f" AS {name}_p50, "
        f"CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY {value}) AS DOUBLE PRECISION)"
        f" AS {name}_p90, "
        f"CAST(avg({value}) AS DOUBLE PRECISION) AS {name}_mean"
    )


def filter_param(dimension: str) -> str:
    """The name of the bound parameter holding a filter's value."""
    return f"filter_{dimension}"


def kpi_sql(
    by: tuple[str, ...],
    bucket: str | None,
    sla: SLASettings,
    filters: tuple[str, ...] = (),
    dialect: str = "postgresql",
) -> str:
    """The statement computing every KPI per group for `:since` <= t < `:until`.

    Each dimension in `filters` keeps only tickets (and their messages) whose
    value equals the bound parameter `filter_param(dimension)`.
    """
    for dimension in (*by, *filters):
        if dimension not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dimension}")
    if bucket is not None and bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket}")

    dims = [f"d_{name}" for name in by]
    keys = [*dims, "b"] if bucket else dims

    def picked_from(alias: str) -> str:
        return "".join(f"{alias}.{name} AS d_{name}, " for name in by)

    picked = picked_from("t")

    def trunc(column: str) -> str:
        return (
            f"date_trunc('{bucket}', {column})" if bucket else "CAST(NULL AS TIMESTAMP)"
        )

    def grouped(select: str, source: str, moment: str, where: str = "") -> str:
        key_list = ", ".join([*dims, f"{trunc(moment)} AS b"])
        group_list = ", ".join([*dims, trunc(moment)])
        clause = f" WHERE {where}" if where else ""
        return (
            f"SELECT {key_list}, {select} FROM {source}{clause} GROUP BY {group_list}"
        )

    in_window = "{col} >= :since AND {col} < :until"

    def only_in(alias: str) -> str:
        # Dimension names are checked above; values only ever arrive as
        # parameters.
        kept = "".join(
            f" AND {alias}.{name} = :{filter_param(name)}" for name in filters
        )
        # A ticket deleted in its help desk is kept as a tombstone, so a
        # delete and an older update arriving in either order end the same;
        # it counts nowhere.
        return kept + f" AND {alias}.status IS DISTINCT FROM '{DELETED}'"

    only = only_in("t")
    join_on = (
        " AND ".join(f"k.{key} IS NOT DISTINCT FROM p.{key}" for key in keys) or "TRUE"
    )

    def part(alias: str) -> str:
        on = join_on.replace("p.", f"{alias}.")
        return f"LEFT JOIN {alias} ON {on}"

    key_cols = ", ".join(keys)
    key_out = ", ".join(f"k.{key}" for key in keys)
    key_out = f"{key_out}, " if key_out else ""

    return f"""
WITH
tk AS {"MATERIALIZED" if dialect == "duckdb" else "NOT MATERIALIZED"} (
    SELECT {picked}t.source AS t_source, t.external_id, t.created_at, t.csat,
        CASE WHEN t.resolved_at < :until THEN t.resolved_at END AS resolved_at,
        coalesce(CASE WHEN t.first_response_at < :until THEN t.first_response_at END,
                 CASE WHEN x.first_agent_at < :until THEN x.first_agent_at END)
            AS first_response_at,
        {_target_case(sla)} AS target_s
    FROM tickets t
    LEFT JOIN ticket_answers x
        ON x.source = t.source AND x.ticket_external_id = t.external_id
    WHERE t.created_at < :until{only}
),
tk_due AS (
    SELECT tk.*, tk.created_at + tk.target_s * INTERVAL '1 second' AS due_at FROM tk
),
ms AS NOT MATERIALIZED (
    SELECT {picked}m.created_at, m.author_role, m.sentiment
    FROM messages m
    JOIN tickets t ON t.source = m.source AND t.external_id = m.ticket_external_id
    WHERE m.created_at < :until{only}
),
reply AS (
    -- The waits carry their ticket's dimensions and status as of the last
    -- refresh, which every write to the ticket triggers.
    SELECT {picked_from("w")}w.asked_at AS created_at,
        {_seconds("w.replied_at", "w.asked_at")} AS reply_s
    FROM reply_waits w
    WHERE {in_window.format(col="w.asked_at")} AND w.replied_at < :until{only_in("w")}
        -- Until its first link by id, a ticket's replies pair up in order.
        AND (w.linked OR w.threaded_at IS NULL OR w.threaded_at >= :until)
),
p_tickets AS (
    {
        grouped(
            "count(*) AS tickets, "
            + _stat_columns(
                "first_response", _seconds("first_response_at", "created_at")
            )
            + ", "
            + _stat_columns("resolution", _seconds("resolved_at", "created_at"))
            + ", count(csat) AS csat_count, CAST(avg(csat) AS DOUBLE PRECISION) AS csat_mean",
            "tk",
            "created_at",
            in_window.format(col="created_at"),
        )
    }
),
p_messages AS (
    {
        grouped(
            "count(*) AS messages, "
            "CAST(avg(CASE WHEN author_role = 'customer' THEN sentiment END)"
            " AS DOUBLE PRECISION) AS sentiment_mean, "
            "CAST(avg(CASE WHEN author_role = 'customer' AND sentiment IS NOT NULL THEN"
            f" CASE WHEN sentiment <= {NEGATIVE_AT_OR_BELOW} THEN 1.0 ELSE 0.0 END END)"
            " AS DOUBLE PRECISION) AS sentiment_negative_share",
            "ms",
            "created_at",
            in_window.format(col="created_at"),
        )
    }
),
p_reply AS (
    {grouped(_stat_columns("reply_time", "reply_s"), "reply", "created_at")}
),
p_sla AS (
    {
        grouped(
            "count(*) AS sla_due, "
            "count(CASE WHEN first_response_at IS NULL OR first_response_at > due_at"
            " THEN 1 END) AS sla_breached",
            "tk_due",
            "due_at",
            in_window.format(col="due_at"),
        )
    }
),
listed AS (
    SELECT {key_cols or "1 AS one"} FROM p_tickets
    UNION SELECT {key_cols or "1"} FROM p_messages
    UNION SELECT {key_cols or "1"} FROM p_sla
),
backlog_event AS (
    SELECT {", ".join([*dims, "created_at AS moment", "1 AS delta"])} FROM tk
    UNION ALL
    SELECT {", ".join([*dims, "resolved_at", "-1"])} FROM tk
    WHERE resolved_at < :until
),
backlog_step AS (
    SELECT {", ".join([*dims, f"{trunc('moment')} AS b", "sum(delta) AS delta"])}
    FROM backlog_event GROUP BY {", ".join([*dims, trunc("moment")])}
    UNION ALL
    SELECT {", ".join([*dims, "b" if bucket else "CAST(NULL AS TIMESTAMP)", "0"])}
    FROM listed
),
p_backlog AS (
    SELECT {key_cols + ", " if key_cols else ""}backlog FROM (
        SELECT {", ".join([*dims, "b"])},
            sum(sum(delta)) OVER (
                {"PARTITION BY " + ", ".join(dims) if dims else ""}
                ORDER BY b ROWS UNBOUNDED PRECEDING) AS backlog
        FROM backlog_step GROUP BY {", ".join([*dims, "b"])}
    ) AS running
),
keyset AS (
    SELECT {key_cols or "1 AS one"} FROM listed
    UNION SELECT {key_cols or "1"} FROM p_backlog WHERE backlog > 0
        {"AND FALSE" if bucket else ""}
)
SELECT {key_out}
    coalesce(p_tickets.tickets, 0) AS tickets,
    coalesce(p_messages.messages, 0) AS messages,
    coalesce(p_backlog.backlog, 0) AS backlog,
    {
        ", ".join(
            f"coalesce({s}_count, 0) AS {s}_count, {s}_p50, {s}_p90, {s}_mean"
            for s in _STATS
        )
    },
    coalesce(p_sla.sla_due, 0) AS sla_due,
    coalesce(p_sla.sla_breached, 0) AS sla_breached,
    sentiment_mean, sentiment_negative_share,
    coalesce(csat_count, 0) AS csat_count, csat_mean
FROM keyset k
{part("p_tickets")}
{part("p_messages")}
{part("p_reply")}
{part("p_sla")}
{part("p_backlog")}
"""
