"""`supportpulse run` and `supportpulse status`: the live engine in the foreground."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer

from supportpulse.cli.context import (
    ConfigOption,
    StoreOption,
    settings_from,
    store_from,
)
from supportpulse.config import Settings, SourceSettings
from supportpulse.engine.alerting import EngineAlerts
from supportpulse.engine.runner import Engine, utc_now
from supportpulse.errors import UserError
from supportpulse.notify.notifier import Notifier
from supportpulse.processes import process_running
from supportpulse.service.runtime import ServiceRuntime
from supportpulse.service.server import address, bind, make_server

log = structlog.get_logger("supportpulse.cli.run")

HostOption = Annotated[
    str | None,
    typer.Option(
        help="Serve on this address. Default: service.host.", show_default=False
    ),
]
PortOption = Annotated[
    int | None,
    typer.Option(
        min=0, max=65535, help="Serve on this port. Default: service.port.",
        show_default=False,
    ),
]  # fmt: skip

#: How often the status file and the terminal status line are refreshed.
STATUS_EVERY_S = 1.0


def run(
    config: ConfigOption = None,
    store: StoreOption = None,
    replay: Annotated[
        list[Path] | None,
        typer.Option(
            help="Also replay this file as a live source; repeatable.",
            show_default=False,
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            min=0,
            help="Replay speed factor: 600 plays ten minutes per second; 0 is "
            "as fast as possible.",
        ),
    ] = 1.0,
    exit_when_done: Annotated[
        bool,
        typer.Option(
            help="Stop once every source has ended (replays finish; live sources "
            "never do)."
        ),
    ] = False,
    serve: Annotated[
        bool,
        typer.Option(help="Serve the HTTP API (see docs/api.md) while running."),
    ] = True,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Run every configured source into the store until interrupted, serving
    the HTTP API on service.host:service.port unless --no-serve.

    SIGINT or SIGTERM drains the queue, commits the cursors and exits.
    """
    settings = _with_address(settings_from(config), host, port)
    extra = [
        SourceSettings(
            name=f"replay-{path.stem}",
            type="replay",
            options={"path": str(path), "speed": speed},
        )
        for path in replay or []
    ]
    settings = settings.model_copy(update={"sources": [*settings.sources, *extra]})
    if not settings.sources and not serve:
        raise UserError(
            "no sources to run; add `sources:` to the config file or pass --replay FILE"
        )
    listener = bind(settings.service) if serve else None
    try:
        with store_from(store, settings, shared=True) as opened:
            engine = Engine(opened, settings)
            asyncio.run(_run(engine, settings, exit_when_done, listener))
    finally:
        if listener is not None:
            listener.close()


def serve(
    config: ConfigOption = None,
    store: StoreOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Serve the HTTP API over a store without running the config's sources.

    Sources added through the API still run. SIGINT or SIGTERM stops it.
    """
    settings = _with_address(settings_from(config), host, port)
    settings = settings.model_copy(update={"sources": []})
    listener = bind(settings.service)
    try:
        with store_from(store, settings, shared=True) as opened:
            asyncio.run(_run(Engine(opened, settings), settings, False, listener))
    finally:
        listener.close()


def _with_address(settings: Settings, host: str | None, port: int | None) -> Settings:
    changes = {
        name: value
        for name, value in (("host", host), ("port", port))
        if value is not None
    }
    if not changes:
        return settings
    service = settings.service.model_copy(update=changes)
    return settings.model_copy(update={"service": service})


async def _run(
    engine: Engine,
    settings: Settings,
    exit_when_done: bool,
    listener: socket.socket | None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    notifier = Notifier.from_settings(settings.alerts)
    await notifier.start()
    alerts = EngineAlerts(
        engine, notifier,
        every_s=settings.engine.alert_every.total_seconds(),
        min_gap_s=settings.engine.alert_min_gap.total_seconds(),
    )  # fmt: skip
    await engine.start()
    alerts.attach()
    status_file = Path(settings.engine.status_file)
    log.info("engine_started", sources=len(settings.sources))
    waiters: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
    if exit_when_done:
        waiters.append(asyncio.create_task(engine.idle()))
    runtime = ServiceRuntime(engine, alerts)
    server = make_server(runtime) if listener is not None else None
    if server is not None and listener is not None:
        await runtime.start()
        waiters.append(asyncio.create_task(server.serve(sockets=[listener])))
        log.info("service_started", url=address(listener))
    try:
        while not any(task.done() for task in waiters):
            _publish(engine, status_file)
            await asyncio.wait(
                waiters, timeout=STATUS_EVERY_S, return_when=asyncio.FIRST_COMPLETED
            )
    finally:
        if server is not None:
            # End event streams, then let open requests finish.
            await runtime.stop()
            server.should_exit = True
            await asyncio.gather(waiters[-1], return_exceptions=True)
        for task in waiters:
            task.cancel()
        await alerts.detach()
        await engine.stop()
        await alerts.evaluate()
        await notifier.aclose()
        _publish(engine, status_file, running=False)
        if sys.stderr.isatty():
            sys.stderr.write("\n")


def _publish(engine: Engine, path: Path, running: bool = True) -> None:
    """Write the status file atomically and draw the terminal status line."""
    sources = engine.status()
    document = {
        "pid": os.getpid(),
        "running": running,
        "written_at": utc_now().isoformat(timespec="seconds") + "Z",
        "sources": sources,
    }
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2), encoding="utf-8")
    temporary.replace(path)
    if sys.stderr.isatty():
        line = "  ".join(
            f"{s['name']}: {s['state']} {s['records']} rec" for s in sources
        )
        sys.stderr.write("\r\x1b[2K" + line[:200])
        sys.stderr.flush()


def status(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show each source of the running engine: state, lag, records, last error."""
    settings = settings_from(config)
    path = Path(settings.engine.status_file)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(
            f"no engine status at {path}; start one with `supportpulse run`"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read engine status {path}: {exc}") from None

    document["running"] = document.get("running", False) and _alive(document.get("pid"))
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    state = "running" if document["running"] else "not running"
    typer.echo(f"engine {state} (status written {document.get('written_at')})")
    for source in document.get("sources", []):
        typer.echo(_status_line(source))


def _status_line(source: dict[str, Any]) -> str:
    lag = source.get("lag_s")
    lag_text = "-" if lag is None else str(timedelta(seconds=round(lag)))
    line = (
        f"  {source['name']} ({source['type']}): {source['state']}, "
        f"{source['records']} records, {source['rate_per_s']}/s, lag {lag_text}"
    )
    if source.get("last_error"):
        line += f"; last error: {source['last_error']}"
    return line


def _alive(pid: object) -> bool:
    return isinstance(pid, int) and process_running(pid)
