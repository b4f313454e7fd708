"""Airbyte's source-zendesk-support reading the tickets stream from the fake.

Runs in its own virtual environment (bench/.venv-airbyte), never imports
supportpulse. The connector builds https://{subdomain}.zendesk.com URLs; the
requests transport adapter is wrapped in this process so that exactly that
host goes to the loopback fake and any other is refused: no name is ever
resolved. Airbyte messages go to stdout as the connector writes them; the
time spent in the read (imports excluded) goes to stderr as JSON.

    bench/.venv-airbyte/bin/python bench/airbyte_export.py http://127.0.0.1:PORT
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

HOST = "acme.zendesk.com"
_send = HTTPAdapter.send


def _loopback_send(self, request, **kwargs):  # type: ignore[no-untyped-def]
    target = urlsplit(sys.argv[1])
    parts = urlsplit(request.url)
    if parts.hostname != HOST or target.hostname not in ("127.0.0.1", "::1"):
        raise requests.ConnectionError(f"refusing to reach {parts.hostname}")
    rewritten = request.copy()
    rewritten.url = urlunsplit(
        (target.scheme, target.netloc, parts.path, parts.query, "")
    )
    response = _send(self, rewritten, **kwargs)
    response.request, response.url = request, request.url
    return response


def main() -> None:
    HTTPAdapter.send = _loopback_send  # type: ignore[method-assign]
    from airbyte_cdk.entrypoint import launch
    from source_zendesk_support import SourceZendeskSupport

    config = {
        "subdomain": "acme",
        "start_date": "1970-01-02T00:00:00Z",
        "credentials": {
            "credentials": "api_token",
            "email": "admin@acme.example",
            "api_token": "fake-zendesk-token",
        },
    }
    catalog = {
        "streams": [{
            "stream": {"name": "tickets", "json_schema": {},
                       "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "incremental",
            "destination_sync_mode": "append",
        }]
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        config_path, catalog_path = (
            Path(folder, "config.json"),
            Path(folder, "catalog.json"),
        )
        config_path.write_text(json.dumps(config))
        catalog_path.write_text(json.dumps(catalog))
        args = ["read", "--config", str(config_path), "--catalog", str(catalog_path)]
        source = SourceZendeskSupport(
            SourceZendeskSupport.read_catalog(str(catalog_path)),
            SourceZendeskSupport.read_config(str(config_path)),
            None,
        )
        started = time.perf_counter()
        launch(source, args)
        seconds = time.perf_counter() - started
    # stdout carries the connector's messages; the timing goes to stderr.
    print(json.dumps({"seconds": seconds}), file=sys.stderr)


if __name__ == "__main__":
    main()
