"""`supportpulse alerts`: list states, show history, acknowledge and silence.

These commands open the store themselves, as every command does while the
engine has no API to ask.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from supportpulse.alerts.repository import AlertRepository
from supportpulse.alerts.transition import Transition, group_key
from supportpulse.alerts.views import iso, silenced_until, state_view, transition_view
from supportpulse.analytics.window import parse_moment
from supportpulse.cli.context import (
    ConfigOption,
    StoreOption,
    settings_from,
    store_from,
)
from supportpulse.cli.render import duration
from supportpulse.config import Settings
from supportpulse.errors import UserError
from supportpulse.notify.message import describe_group

alerts_app = typer.Typer(
    name="alerts",
    help="Alert states and history; acknowledge and silence alerts.",
    no_args_is_help=True,
)

_FOR = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_FOR_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

RuleOption = Annotated[
    str | None,
    typer.Option("--rule", help="Only this rule.", show_default=False),
]
GroupOption = Annotated[
    str | None,
    typer.Option(
        "--group",
        help='The group as JSON, like \'{"team": "billing"}\'. Default: every group.',
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@alerts_app.command("list")
def list_states(
    rule: RuleOption = None,
    as_json: JsonOption = False,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Show the current state of every rule and group the engine evaluated."""
    settings = settings_from(config)
    now = _now()
    with store_from(store, settings, create=False) as opened:
        repository = AlertRepository(opened)
        states = repository.states(rule)
        silences = repository.silences(now)

    if as_json:
        rows = [state_view(row, silences, now) for row in states]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not states:
        typer.echo(
            "No alert states yet; the engine records them as it evaluates rules."
        )
        return

    table = Table(title=f"Alerts at {iso(now)}", title_justify="left")
    for name in (
        "rule",
        "group",
        "state",
        "since",
        "value",
        "acknowledged",
        "silenced",
    ):
        table.add_column(name)
    for row in states:
        silenced = silenced_until(silences, row.rule, row.group_key, now)
        table.add_row(
            row.rule,
            describe_group(row.group).removeprefix(" for ") or "(all)",
            row.state.state.value,
            iso(row.state.since),
            _value(settings, row.rule, row.state.value),
            iso(row.state.acknowledged_at) if row.state.acknowledged_at else "",
            iso(silenced) if silenced else "",
        )
    Console(width=160).print(table)


@alerts_app.command()
def history(
    rule: RuleOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 50,
    as_json: JsonOption = False,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Show state changes, newest last, with the values that caused them."""
    settings = settings_from(config)
    with store_from(store, settings, create=False) as opened:
        transitions = AlertRepository(opened).history(rule, limit)

    if as_json:
        typer.echo(json.dumps([transition_view(t) for t in transitions], indent=2))
        return
    if not transitions:
        typer.echo("No alert history yet.")
        return
    for transition in reversed(transitions):
        typer.echo(_history_line(transition))


@alerts_app.command()
def ack(
    rule: Annotated[str, typer.Argument(help="The rule's name.", show_default=False)],
    group: GroupOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Acknowledge a pending or firing alert: quiet until it resolves."""
    settings = settings_from(config)
    key = _group(group, rule, settings)
    with store_from(store, settings, create=False) as opened:
        acknowledged = AlertRepository(opened).acknowledge(rule, key, _now())

    if not acknowledged:
        where = describe_group(json.loads(key)) if key is not None else ""
        raise UserError(
            f"rule '{rule}'{where} has no pending or firing alert to acknowledge; "
            "see `supportpulse alerts list`"
        )
    for acked in acknowledged:
        where = describe_group(json.loads(acked))
        typer.echo(f"Acknowledged {rule}{where}; quiet until it resolves.")


@alerts_app.command()
def silence(
    rule: Annotated[str, typer.Argument(help="The rule's name.", show_default=False)],
    until: Annotated[
        str,
        typer.Option(
            "--until",
            help="End of the silence: ISO 8601 (naive means the configured zone) "
            "or a span from now like 30m, 4h, 2d.",
            show_default=False,
        ),
    ],
    group: GroupOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Hold back a rule's notifications until a time; states still change."""
    settings = settings_from(config)
    if settings.alerts.rule(rule) is None:
        raise UserError(f"no alert rule named '{rule}'; {_configured(settings)}")
    key = _group(group, rule, settings)
    now = _now()
    ends_at = _until(until, settings, now)
    with store_from(store, settings, create=False) as opened:
        AlertRepository(opened).silence(rule, key, ends_at, now)

    where = describe_group(json.loads(key)) if key is not None else " for every group"
    typer.echo(f"Silenced {rule}{where} until {iso(ends_at)}.")


def _group(text: str | None, rule: str, settings: Settings) -> str | None:
    """The --group option as a canonical key, checked against the rule's --by."""
    if text is None:
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        raise typer.BadParameter(
            'not JSON; write it like \'{"team": "billing"}\'', param_hint="--group"
        ) from None
    if not isinstance(parsed, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--group")

    configured = settings.alerts.rule(rule)
    if configured is not None and set(parsed) != set(configured.by):
        dims = ", ".join(configured.by) or "nothing (use {})"
        raise typer.BadParameter(
            f"rule '{rule}' groups by {dims}; the group must name exactly those",
            param_hint="--group",
        )
    return group_key(parsed)


def _until(text: str, settings: Settings, now: datetime) -> datetime:
    if match := _FOR.match(text):
        return now + timedelta(**{_FOR_UNIT[match[2]]: int(match[1])})
    moment = parse_moment(text, "--until", settings)
    if moment is None or moment <= now:
        raise UserError(f"--until '{text}' is not in the future")
    return moment


def _configured(settings: Settings) -> str:
    names = [rule.name for rule in settings.alerts.rules]
    return f"configured: {', '.join(names)}" if names else "no rules are configured"


def _value(settings: Settings, rule: str, value: float | None) -> str:
    if value is None:
        return "-"
    configured = settings.alerts.rule(rule)
    kpi = configured.kpi if configured is not None else ""
    return _kpi_value(kpi, value)


def _kpi_value(kpi: str, value: float | None) -> str:
    if value is None:
        return "-"
    if kpi.endswith("_s"):
        return duration(value)
    if kpi.endswith((".rate", "_share")):
        return f"{value:.1%}"
    return f"{value:.6g}"


def _history_line(transition: Transition) -> str:
    where = describe_group(transition.group)
    value = _kpi_value(transition.kpi, transition.value)
    threshold = _kpi_value(transition.kpi, transition.threshold)
    line = (
        f"{iso(transition.at)} {transition.rule}{where}: "
        f"{transition.previous.value} -> {transition.state.value} "
        f"({transition.kpi} {value}, fires {transition.op} {threshold})"
    )
    if transition.suppressed:
        line += f" [not notified: {transition.suppressed}]"
    if transition.error:
        line += f" error: {transition.error}"
    return line
