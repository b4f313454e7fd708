"""Reply facts: the part of the KPIs that reads whole message threads.

First responses and reply times pair each ticket's messages in order or by
id, which over millions of messages costs seconds per KPI query. A store
write records the tickets it touched in `kpi_stale`; before each KPI query
`refresh_reply_facts` derives `ticket_answers` and `reply_waits` again for
those tickets alone, so the query reads one row per ticket and per waiting
customer message. The facts keep every moment unclipped: the KPI query
compares them with its own window, so one set of facts serves any window.
"""

from __future__ import annotations

import re
import time

import structlog

from supportpulse.store import Store

log = structlog.get_logger("supportpulse.analytics")

_KEY = "{a}.source = {b}.source AND {a}.ticket_external_id = {b}.ticket_external_id"

_STEPS = (
    "CREATE TEMP TABLE stale_key AS"
    " SELECT DISTINCT source, ticket_external_id FROM kpi_stale",
    "CREATE TEMP TABLE thread AS"
    " SELECT m.source, m.ticket_external_id, m.external_id, m.created_at,"
    " m.author_role, m.reply_to FROM messages m"
    f" JOIN stale_key k ON {_KEY.format(a='k', b='m')}",
    # A message moved to another ticket, or a reply by id, changes the facts
    # of a ticket nobody wrote to: the one it left, or the one it answers.
    """
    CREATE TEMP TABLE unwritten AS
    SELECT source, ticket_external_id FROM (
        SELECT asked.source, asked.ticket_external_id FROM thread s
            JOIN messages asked ON asked.source = s.source
                AND asked.external_id = s.reply_to
        UNION SELECT w.source, w.ticket_external_id FROM reply_waits w
            JOIN thread s ON w.source = s.source AND w.message_external_id = s.external_id
        UNION SELECT w.source, w.ticket_external_id FROM reply_waits w
            JOIN thread s ON w.source = s.source AND w.replied_by = s.external_id
        UNION SELECT a.source, a.ticket_external_id FROM ticket_answers a
            JOIN thread s ON a.source = s.source AND a.first_agent_message = s.external_id
        UNION SELECT a.source, a.ticket_external_id FROM ticket_answers a
            JOIN thread s ON a.source = s.source AND a.threaded_message = s.external_id
    ) AS referred
    EXCEPT SELECT source, ticket_external_id FROM stale_key
    """,
    "INSERT INTO thread"
    " SELECT m.source, m.ticket_external_id, m.external_id, m.created_at,"
    " m.author_role, m.reply_to FROM messages m"
    f" JOIN unwritten u ON {_KEY.format(a='u', b='m')}",
    "CREATE TEMP TABLE stale_ticket AS"
    " SELECT source, ticket_external_id FROM stale_key"
    " UNION ALL SELECT source, ticket_external_id FROM unwritten",
    "DELETE FROM reply_waits USING stale_ticket s"
    f" WHERE {_KEY.format(a='reply_waits', b='s')}",
    "DELETE FROM ticket_answers USING stale_ticket s"
    f" WHERE {_KEY.format(a='ticket_answers', b='s')}",
    # Every message, from any ticket, that names a message of these threads
    # as the one it replies to.
    """
    CREATE TEMP TABLE answer AS
    SELECT c.source, c.ticket_external_id, c.external_id AS asked, c.author_role AS asker,
        c.created_at AS asked_at, a.external_id, a.author_role, a.created_at
    FROM thread c
    JOIN messages a ON a.source = c.source AND a.reply_to = c.external_id
    """,
    # The first agent message at or after the ticket's creation, and the
    # first link by id in or into the ticket: from then on its replies pair
    # by id. A customer message answered by id from another ticket thus
    # counts once, not once by id and once in order.
    """
    INSERT INTO ticket_answers (source, ticket_external_id, first_agent_at,
        first_agent_message, threaded_at, threaded_message)
    SELECT s.source, s.ticket_external_id, agent.created_at, agent.external_id,
        linked.created_at, linked.external_id
    FROM stale_ticket s
    LEFT JOIN (
        SELECT th.source, th.ticket_external_id, th.created_at, th.external_id,
            row_number() OVER (PARTITION BY th.source, th.ticket_external_id
                               ORDER BY th.created_at, th.external_id) AS n
        FROM thread th
        JOIN tickets t ON t.source = th.source AND t.external_id = th.ticket_external_id
        WHERE th.author_role = 'agent' AND th.created_at >= t.created_at
    ) agent ON agent.source = s.source AND agent.ticket_external_id = s.ticket_external_id
        AND agent.n = 1
    LEFT JOIN (
        SELECT source, ticket_external_id, created_at, external_id,
            row_number() OVER (PARTITION BY source, ticket_external_id
                               ORDER BY created_at, external_id) AS n
        FROM (
            SELECT source, ticket_external_id, created_at, external_id
            FROM thread WHERE reply_to IS NOT NULL
            UNION ALL
            SELECT source, ticket_external_id, created_at, external_id FROM answer
        ) AS links
    ) linked ON linked.source = s.source
        AND linked.ticket_external_id = s.ticket_external_id AND linked.n = 1
    WHERE agent.created_at IS NOT NULL OR linked.created_at IS NOT NULL
    """,
    # Answered by id: the earliest agent message naming the customer message
    # as the one it replies to, from whichever ticket it is in.
    """
    CREATE TEMP TABLE waits AS
    SELECT source, ticket_external_id, asked AS external_id, asked_at, created_at AS replied_at,
        external_id AS replied_by, TRUE AS linked
    FROM (
        SELECT answer.*,
            row_number() OVER (PARTITION BY source, asked
                               ORDER BY created_at, external_id) AS n
        FROM answer
        WHERE asker = 'customer' AND author_role = 'agent' AND created_at >= asked_at
    ) AS answered
    WHERE n = 1
    """,
    # Answered in order: a customer message after an agent one (or first in
    # its ticket) waits for the next agent message. Counting the agent
    # messages so far names that next one without a search per row.
    """
    INSERT INTO waits (source, ticket_external_id, external_id, asked_at, replied_at,
        replied_by, linked)
    SELECT c.source, c.ticket_external_id, c.external_id, c.created_at,
        a.created_at, a.external_id, FALSE
    FROM (
        SELECT source, ticket_external_id, external_id, created_at, author_role,
            lag(author_role) OVER (PARTITION BY source, ticket_external_id
                                   ORDER BY created_at, external_id) AS previous_role,
            count(CASE WHEN author_role = 'agent' THEN 1 END) OVER (
                PARTITION BY source, ticket_external_id ORDER BY created_at, external_id
                ROWS UNBOUNDED PRECEDING) AS agents_before
        FROM thread
    ) c
    JOIN (
        SELECT source, ticket_external_id, external_id, created_at,
            row_number() OVER (PARTITION BY source, ticket_external_id
                               ORDER BY created_at, external_id) AS agent_number
        FROM thread WHERE author_role = 'agent'
    ) a ON a.source = c.source AND a.ticket_external_id = c.ticket_external_id
        AND a.agent_number = c.agents_before + 1
    WHERE c.author_role = 'customer' AND c.previous_role IS DISTINCT FROM 'customer'
    """,
    # Only waits in a stored ticket count; a thread whose ticket has not
    # arrived yet is derived again when it does.
    """
    INSERT INTO reply_waits (source, ticket_external_id, message_external_id,
        asked_at, replied_at, replied_by, linked, threaded_at,
        status, priority, channel, team, agent, category)
    SELECT w.source, w.ticket_external_id, w.external_id, w.asked_at, w.replied_at,
        w.replied_by, w.linked, x.threaded_at,
        t.status, t.priority, t.channel, t.team, t.agent, t.category
    FROM waits w
    JOIN tickets t ON t.source = w.source AND t.external_id = w.ticket_external_id
    LEFT JOIN ticket_answers x
        ON x.source = w.source AND x.ticket_external_id = w.ticket_external_id
    """,
    "DELETE FROM kpi_stale",
)

#: A refresh of at least this many tickets is logged.
_WORTH_LOGGING = 10_000
_FILLS = re.compile(r"\s*(?:CREATE TEMP TABLE|INSERT INTO) (\w+)")
_TEMPORARY = ("waits", "answer", "stale_ticket", "unwritten", "thread", "stale_key")


def refresh_reply_facts(store: Store) -> int:
    """Derive the reply facts of every ticket written since the last refresh;
    return for how many tickets (0 when nothing was written)."""
    _, rows = store.fetch("SELECT count(*) FROM kpi_stale")
    if not rows[0][0]:
        return 0
    started = time.perf_counter()

    with store.exclusive_transaction():
        for name in _TEMPORARY:
            store.execute(f"DROP TABLE IF EXISTS {name}")
        for step in _STEPS:
            store.execute(step)
            filled = _FILLS.match(step)
            if filled and filled[1] in _TEMPORARY:
                # A planner without statistics on a fresh scratch table joins
                # it by nested loops: twice the time at 10,000 tickets.
                store.analyze_table(filled[1])
        _, derived = store.fetch("SELECT count(*) FROM stale_ticket")
        for name in _TEMPORARY:
            store.execute(f"DROP TABLE {name}")
    tickets = int(derived[0][0])
    if tickets >= _WORTH_LOGGING:
        # After an upgrade or a bulk load this takes seconds to a minute, in
        # whichever KPI query came first; say why.
        log.info(
            "reply_facts_derived",
            tickets=tickets,
            seconds=round(time.perf_counter() - started, 3),
        )
    return tickets
