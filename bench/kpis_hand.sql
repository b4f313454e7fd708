-- Every figure of docs/metrics.md for the window [:since, :until), written by
-- hand as one statement: the yardstick bench_kpis.py holds the product to.
-- {group} is the grouping column (t.team) or CAST(NULL AS TEXT) for one group.
-- SLA targets are the defaults: urgent 15 min, high 1 h, low 24 h, else 4 h.
--
-- Plain SQL that DuckDB and PostgreSQL both run; only {ms_hint} differs.
-- PostgreSQL plans joins on a materialized CTE without statistics, expects a
-- few hundred rows and nests loops over millions (100 s instead of 0.3 s at
-- 10,000 tickets), so tk and, there, ms are NOT MATERIALIZED. DuckDB is
-- faster with ms MATERIALIZED: it is read five times.
WITH
tk AS NOT MATERIALIZED (
    SELECT t.source, t.external_id, {group} AS g, t.created_at, t.csat,
        -- What the source states counts once it has happened by :until.
        CASE WHEN t.first_response_at < :until THEN t.first_response_at END
            AS first_response_at,
        CASE WHEN t.resolved_at < :until THEN t.resolved_at END AS resolved_at,
        t.created_at + CASE lower(coalesce(t.priority, 'normal'))
            WHEN 'urgent' THEN INTERVAL '15 minutes'
            WHEN 'high' THEN INTERVAL '1 hour'
            WHEN 'low' THEN INTERVAL '24 hours'
            ELSE INTERVAL '4 hours' END AS due_at
    FROM tickets t
),
ms AS {ms_hint} (
    SELECT m.source, m.external_id, m.ticket_external_id, m.created_at,
        m.author_role, m.reply_to, m.sentiment, tk.g, tk.created_at AS opened_at
    FROM messages m
    JOIN tk ON tk.source = m.source AND tk.external_id = m.ticket_external_id
    WHERE m.created_at < :until
),
answered AS (
    SELECT source, ticket_external_id, min(created_at) AS answered_at
    FROM ms
    WHERE author_role = 'agent' AND created_at >= opened_at
    GROUP BY source, ticket_external_id
),
threaded AS (
    SELECT DISTINCT source, ticket_external_id FROM ms WHERE reply_to IS NOT NULL
),
ticket AS (
    SELECT tk.g, tk.csat, tk.due_at,
        coalesce(tk.first_response_at, p.answered_at) AS responded_at,
        tk.created_at >= :since AND tk.created_at < :until AS opened,
        tk.created_at < :until AND tk.resolved_at IS NULL AS open_at_until,
        CAST(extract(epoch FROM coalesce(tk.first_response_at, p.answered_at)
            - tk.created_at) AS DOUBLE PRECISION) AS first_response_s,
        CAST(extract(epoch FROM tk.resolved_at - tk.created_at)
            AS DOUBLE PRECISION) AS resolution_s
    FROM tk
    LEFT JOIN answered p
        ON p.source = tk.source AND p.ticket_external_id = tk.external_id
),
-- Reply time, explicit links: the earliest agent reply to a customer message.
linked AS (
    SELECT c.g, c.created_at,
        CAST(extract(epoch FROM min(a.created_at) - c.created_at)
            AS DOUBLE PRECISION) AS reply_s
    FROM ms c
    JOIN messages a ON a.source = c.source AND a.reply_to = c.external_id
        AND a.author_role = 'agent' AND a.created_at >= c.created_at
        AND a.created_at < :until
    WHERE c.author_role = 'customer'
    GROUP BY c.source, c.external_id, c.g, c.created_at
),
-- Reply time, no links in the ticket: a run of customer messages to the
-- next agent message.
sequence AS (
    SELECT ms.g, ms.created_at, ms.author_role,
        lag(ms.author_role) OVER w AS previous_role,
        min(CASE WHEN ms.author_role = 'agent' THEN ms.created_at END)
            OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_agent_at
    FROM ms
    WHERE NOT EXISTS (SELECT 1 FROM threaded h WHERE h.source = ms.source
                      AND h.ticket_external_id = ms.ticket_external_id)
    WINDOW w AS (PARTITION BY ms.source, ms.ticket_external_id
                 ORDER BY ms.created_at, ms.external_id)
),
reply AS (
    SELECT g, reply_s FROM linked
    WHERE created_at >= :since
    UNION ALL
    SELECT g, CAST(extract(epoch FROM next_agent_at - created_at)
        AS DOUBLE PRECISION)
    FROM sequence
    WHERE author_role = 'customer' AND next_agent_at IS NOT NULL
        AND previous_role IS DISTINCT FROM 'customer' AND created_at >= :since
),
ticket_figures AS (
    SELECT g,
        count(*) FILTER (WHERE opened) AS tickets,
        count(*) FILTER (WHERE open_at_until) AS backlog,
        count(first_response_s) FILTER (WHERE opened) AS first_response_count,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_s)
            FILTER (WHERE opened) AS first_response_p50,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY first_response_s)
            FILTER (WHERE opened) AS first_response_p90,
        avg(first_response_s) FILTER (WHERE opened) AS first_response_mean,
        count(resolution_s) FILTER (WHERE opened) AS resolution_count,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_s)
            FILTER (WHERE opened) AS resolution_p50,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY resolution_s)
            FILTER (WHERE opened) AS resolution_p90,
        avg(resolution_s) FILTER (WHERE opened) AS resolution_mean,
        count(*) FILTER (WHERE due_at >= :since AND due_at < :until) AS sla_due,
        count(*) FILTER (WHERE due_at >= :since AND due_at < :until
            AND (responded_at IS NULL OR responded_at > due_at)) AS sla_breached,
        count(csat) FILTER (WHERE opened) AS csat_count,
        CAST(avg(csat) FILTER (WHERE opened) AS DOUBLE PRECISION) AS csat_mean
    FROM ticket
    GROUP BY g
),
message_figures AS (
    SELECT g,
        count(*) AS messages,
        CAST(avg(sentiment) FILTER (WHERE author_role = 'customer')
            AS DOUBLE PRECISION) AS sentiment_mean,
        CAST(avg(CASE WHEN sentiment <= -0.05 THEN 1.0 ELSE 0.0 END)
            FILTER (WHERE author_role = 'customer' AND sentiment IS NOT NULL)
            AS DOUBLE PRECISION) AS sentiment_negative_share
    FROM ms
    WHERE created_at >= :since
    GROUP BY g
),
reply_figures AS (
    SELECT g,
        count(reply_s) AS reply_time_count,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY reply_s) AS reply_time_p50,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY reply_s) AS reply_time_p90,
        avg(reply_s) AS reply_time_mean
    FROM reply
    GROUP BY g
)
-- Every message and reply belongs to a ticket, so ticket groups hold them all.
SELECT t.g, t.tickets, coalesce(m.messages, 0) AS messages, t.backlog,
    t.first_response_count, t.first_response_p50, t.first_response_p90,
    t.first_response_mean,
    coalesce(r.reply_time_count, 0) AS reply_time_count, r.reply_time_p50,
    r.reply_time_p90, r.reply_time_mean,
    t.resolution_count, t.resolution_p50, t.resolution_p90, t.resolution_mean,
    t.sla_due, t.sla_breached, m.sentiment_mean, m.sentiment_negative_share,
    t.csat_count, t.csat_mean
FROM ticket_figures t
LEFT JOIN message_figures m ON m.g IS NOT DISTINCT FROM t.g
LEFT JOIN reply_figures r ON r.g IS NOT DISTINCT FROM t.g
WHERE t.tickets > 0 OR m.messages > 0 OR t.sla_due > 0 OR t.backlog > 0
ORDER BY t.g
