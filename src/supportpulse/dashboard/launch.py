"""Starting the dashboard: the Streamlit command line for a given API.

Kept apart from the app so `supportpulse dashboard` and `supportpulse demo`
start it the same way without importing Streamlit themselves.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from supportpulse.dashboard.client import API_URL_ENV
from supportpulse.errors import UserError
from supportpulse.service.auth import is_loopback

#: The Streamlit script; importing it would draw the page, so it is only named.
APP = Path(__file__).with_name("app.py")


def streamlit_command(host: str, port: int) -> list[str]:
    """The command that serves the app on host:port with nothing phoning home."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "viewer",
        "--client.showErrorDetails", "none",
        "--theme.base", "light",
    ]  # fmt: skip


def streamlit_env(api_url: str) -> dict[str, str]:
    """The environment of the dashboard process: ours plus the API address."""
    return {**os.environ, API_URL_ENV: api_url}


def check_dashboard_bind(host: str, public: bool) -> None:
    """Refuse to show the dashboard beyond this machine unless asked to.

    The dashboard has no login of its own and acts with the token it was
    given, so serving it on the network is a decision, not a default.
    """
    if not public and not is_loopback(host):
        raise UserError(
            f"--host '{host}' is not a loopback address; the dashboard has no login "
            "of its own, so pass --public to serve it there anyway"
        )


def url(host: str, port: int) -> str:
    """The address a browser opens."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"
