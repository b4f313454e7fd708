"""zenpy's cursor-based incremental ticket export against the fake Zendesk.

Runs in its own virtual environment (bench/.venv-zenpy, zenpy only), never
imports supportpulse. zenpy builds https://{subdomain}.zendesk.com URLs; a
requests transport adapter mounted on the session rewrites exactly that host
to the loopback fake and refuses any other, so no name is ever resolved.

    bench/.venv-zenpy/bin/python bench/zenpy_export.py http://127.0.0.1:PORT
"""

from __future__ import annotations

import json
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from zenpy import Zenpy

HOST = "acme.zendesk.com"


class LoopbackAdapter(HTTPAdapter):
    """Sends requests for HOST to the fake on loopback; refuses all others."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = urlsplit(target)
        if self.target.hostname not in ("127.0.0.1", "::1"):
            raise SystemExit("the fake must listen on loopback")

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        parts = urlsplit(request.url)
        if parts.hostname != HOST:
            raise requests.ConnectionError(f"refusing to reach {parts.hostname}")
        rewritten = request.copy()
        rewritten.url = urlunsplit(
            (self.target.scheme, self.target.netloc, parts.path, parts.query, "")
        )
        response = super().send(rewritten, **kwargs)
        # zenpy picks its response handler by the URL it asked for.
        response.request, response.url = request, request.url
        return response


def main() -> None:
    session = requests.Session()
    session.mount("https://", LoopbackAdapter(sys.argv[1]))
    session.mount("http://", LoopbackAdapter(sys.argv[1]))
    client = Zenpy(
        subdomain="acme",
        email="admin@acme.example",
        token="fake-zendesk-token",
        session=session,
    )

    started = time.perf_counter()
    tickets = 0
    export = client.tickets.incremental(
        start_time=1,
        paginate_by_time=False,
        include=["metric_sets", "users", "groups"],
        per_page=1000,
    )
    for _ticket in export:
        tickets += 1
    seconds = time.perf_counter() - started
    print(json.dumps({"tickets": tickets, "seconds": seconds}))


if __name__ == "__main__":
    main()
