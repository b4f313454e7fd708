"""`supportpulse dashboard`: serve the live dashboard for a running service."""

from __future__ import annotations

import subprocess
from typing import Annotated

import typer

from supportpulse.dashboard.launch import (
    check_dashboard_bind,
    streamlit_command,
    streamlit_env,
    url,
)
from supportpulse.processes import die_with_parent

ApiOption = Annotated[
    str,
    typer.Option(
        envvar="SUPPORTPULSE_API_URL",
        help="Base URL of the supportpulse service the dashboard reads.",
    ),
]


def dashboard(
    api: ApiOption = "http://127.0.0.1:8000",
    host: Annotated[str, typer.Option(help="Serve on this address.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Serve on this port.")
    ] = 8501,
    public: Annotated[
        bool,
        typer.Option(help="Allow a non-loopback --host (the dashboard has no login)."),
    ] = False,
) -> None:
    """Serve the live dashboard, a client of the HTTP API, until interrupted.

    The API token comes from SUPPORTPULSE_ADMIN_TOKEN (to manage sources and
    acknowledge alerts) or SUPPORTPULSE_VIEWER_TOKEN (to look only).
    """
    check_dashboard_bind(host, public)
    typer.echo(f"Dashboard: {url(host, port)}  (API: {api})", err=True)
    child = subprocess.Popen(
        streamlit_command(host, port),
        env=streamlit_env(api),
        preexec_fn=die_with_parent(),
    )
    try:
        code = child.wait()
    except KeyboardInterrupt:
        # The terminal sent SIGINT to the child too; give it time to close.
        code = stop_child(child)
    raise typer.Exit(code)


def stop_child(child: subprocess.Popen[bytes], grace_s: float = 10.0) -> int:
    """End a child politely, then firmly; its exit code."""
    if child.poll() is None:
        child.terminate()
        try:
            return child.wait(grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
    return child.wait()
