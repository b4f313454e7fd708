"""Run one fake vendor server by hand: python -m supportpulse.fakes VENDOR."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer
import uvicorn

from supportpulse.fakes.faults import Faults
from supportpulse.fakes.serve import require_loopback

app = typer.Typer(add_completion=False)


@app.command()
def main(
    vendor: Annotated[str, typer.Argument(help="zendesk, freshdesk or intercom")],
    port: Annotated[int, typer.Option(help="port on the loopback interface")] = 8750,
    host: Annotated[str, typer.Option(help="127.0.0.1 or ::1")] = "127.0.0.1",
    tickets: Annotated[int, typer.Option(help="tickets to generate")] = 1000,
    seed: Annotated[int, typer.Option(help="seed of data and faults")] = 0,
    throttle: Annotated[
        float, typer.Option(help="share of requests that start a 429 storm")
    ] = 0.0,
    server_error: Annotated[
        float, typer.Option(help="share answered with a 5xx")
    ] = 0.0,
    slow: Annotated[float, typer.Option(help="share answered slowly")] = 0.0,
    drop: Annotated[
        float, typer.Option(help="share whose connection is dropped")
    ] = 0.0,
) -> None:
    """Serve a fake VENDOR API with generated tickets until interrupted."""
    try:
        require_loopback(host)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--host") from None
    try:
        module = importlib.import_module(f"supportpulse.fakes.{vendor}")
        build = module.cli_app
    except (ImportError, AttributeError):
        raise typer.BadParameter(f"no fake for vendor '{vendor}'") from None

    faults = Faults(seed=seed)
    faults.enable(throttle=throttle, server_error=server_error, slow=slow, drop=drop)
    typer.echo(f"fake {vendor} API on http://{host}:{port}", err=True)
    typer.echo(f"credentials: {module.CREDENTIALS}", err=True)
    uvicorn.run(build(tickets=tickets, seed=seed, faults=faults), host=host, port=port)


if __name__ == "__main__":
    app()
