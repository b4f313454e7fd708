"""`supportpulse sources`: list the configured sources and try one out."""

from __future__ import annotations

import asyncio
from typing import Annotated

import psycopg
import typer

from supportpulse.cli.context import ConfigOption, settings_from
from supportpulse.engine.runner import build_source
from supportpulse.errors import SourceError, UserError
from supportpulse.sources.database_notify import NotifyingDatabaseSource
from supportpulse.sources.probe import probe_source

sources_app = typer.Typer(help="List configured sources and check that one works.")


@sources_app.command("list")
def list_sources(config: ConfigOption = None) -> None:
    """Print each configured source with its type and schedule."""
    settings = settings_from(config)
    if not settings.sources:
        typer.echo("No sources configured; add `sources:` to the config file.")
    for source in settings.sources:
        state = "" if source.enabled else " (disabled)"
        typer.echo(f"{source.name}: {source.type}, every {source.interval}{state}")


@sources_app.command("test")
def check_source(
    name: Annotated[str, typer.Argument(help="The source's name in the config file.")],
    config: ConfigOption = None,
    rows: Annotated[int, typer.Option(min=1, max=50, help="Sample rows to show.")] = 3,
) -> None:
    """Connect to one source, show its field mapping and a few mapped rows.

    Nothing is written to the store and no cursor moves.
    """
    settings = settings_from(config)
    chosen = next((source for source in settings.sources if source.name == name), None)
    if chosen is None:
        known = ", ".join(source.name for source in settings.sources) or "none"
        raise UserError(f"no source named '{name}' in the config; sources: {known}")

    source = build_source(chosen, settings)
    try:
        probe = asyncio.run(probe_source(source, settings))
    except SourceError as exc:
        raise UserError(f"source '{name}' does not work: {exc}") from None
    batch, described = probe.batch, probe.mapping

    typer.echo(f"source '{name}' ({chosen.type}): connected")
    if described:
        typer.echo("mapping (ticket field <- column):")
        for field, column in sorted(described.items()):
            typer.echo(f"  {field} <- {column}")
    typer.echo(
        f"first page: {len(batch.tickets)} tickets, {len(batch.messages)} messages, "
        f"{len(batch.quarantined)} unusable"
    )
    for ticket in batch.tickets[:rows]:
        typer.echo(
            f"  ticket {ticket.external_id}: created {ticket.created_at:%Y-%m-%d %H:%M}, "
            f"team {ticket.team}, priority {ticket.priority}, status {ticket.status}"
        )
    for record in batch.quarantined[:rows]:
        typer.echo(f"  unusable: {record.reason}")
    for warning in probe.problems:
        typer.echo(f"  check: {warning}")


@sources_app.command("trigger")
def trigger(
    name: Annotated[
        str, typer.Argument(help="A database-notify source in the config.")
    ],
    config: ConfigOption = None,
    install: Annotated[
        bool,
        typer.Option(help="Create it now (needs a role allowed to change the table)."),
    ] = False,
) -> None:
    """Print (or install) the PostgreSQL trigger a database-notify source listens to."""
    settings = settings_from(config)
    chosen = next((source for source in settings.sources if source.name == name), None)
    if chosen is None or chosen.type != "database-notify":
        raise UserError(f"no database-notify source named '{name}' in the config")
    source = build_source(chosen, settings)
    assert isinstance(source, NotifyingDatabaseSource)
    try:
        if install:
            source.install_trigger()
            typer.echo(f"trigger installed on table '{source.notify.table}'")
        else:
            typer.echo(source.trigger_sql())
    except (SourceError, psycopg.Error) as exc:
        raise UserError(
            f"source '{name}': {str(exc).strip().splitlines()[0]}"
        ) from None
