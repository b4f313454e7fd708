"""The Zendesk source against the fake Zendesk API, beside zenpy and Airbyte.

A fake account of N tickets is served on loopback from this process. Each
client runs in its own process, one after the other, reading the whole
cursor-based export (1000 tickets a page, metric sets, users and groups
sideloaded, comments off, as zenpy's export reads no comments):

- supportpulse: the Zendesk source's pull and normalize, to mapped tickets;
- supportpulse + store: the same through the engine into a DuckDB store;
- zenpy 2.0.57 (its own venv, bench/.venv-zenpy), iterating its cursor
  export generator, which builds a Ticket object per record;
- Airbyte's source-zendesk-support 4.9.1 (its own venv, bench/.venv-airbyte)
  reading its `tickets` stream, which writes an Airbyte message per record.

Reported: tickets/s, requests the fake answered, and ratios to zenpy.

    python3 -m venv bench/.venv-zenpy
    bench/.venv-zenpy/bin/pip install zenpy==2.0.57
    python3 -m venv bench/.venv-airbyte
    bench/.venv-airbyte/bin/pip install airbyte-source-zendesk-support==4.9.1
    .venv/bin/python bench/bench_zendesk.py [--tickets 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from supportpulse.config import EngineSettings, Settings, SourceSettings
from supportpulse.engine.runner import Engine
from supportpulse.fakes import serving
from supportpulse.fakes.zendesk import ZendeskFake, ZendeskFakeConfig
from supportpulse.fakes.zendesk_account import ZendeskAccount
from supportpulse.sources.zendesk import ZendeskOptions, ZendeskSource
from supportpulse.store import open_store, parse_store_url

HERE = Path(__file__).resolve().parent
ZENPY = HERE / ".venv-zenpy" / "bin" / "python"
AIRBYTE = HERE / ".venv-airbyte" / "bin" / "python"
OPTIONS = {
    "subdomain": "acme",
    "email": "admin@acme.example",
    "api_token": "fake-zendesk-token",
    "comments": False,
    "per_page": 1000,
    "account_rate_per_min": 10_000_000,
    "export_rate_per_min": 10_000_000,
}


async def _pull(url: str) -> int:
    options = ZendeskOptions.model_validate({**OPTIONS, "base_url": url})
    source = ZendeskSource("zd", options, Settings())
    cursor, tickets = None, 0
    while True:
        page = await source.pull(cursor)
        tickets += len(source.normalize(page).tickets)
        cursor = page.cursor
        if not page.more:
            await source.close()
            return tickets


async def _engine(url: str, folder: str, expected: int) -> int:
    settings = Settings(engine=EngineSettings(batch_records=5000))
    config = SourceSettings(
        name="zd", type="zendesk", interval=timedelta(hours=1),
        options={**OPTIONS, "base_url": url},
    )  # fmt: skip
    with open_store(parse_store_url(f"duckdb://{folder}/zd.duckdb")) as store:
        engine = Engine(store, settings)
        await engine.start()
        await engine.add(config)
        while await engine.query(store.count, "tickets") < expected:
            await asyncio.sleep(0.05)
        await engine.stop()
        return int(await engine.query(store.count, "tickets"))


def client(mode: str, url: str, expected: int) -> None:
    """One measured run in this (child) process; prints its JSON result."""
    started = time.perf_counter()
    if mode == "pull":
        tickets = asyncio.run(_pull(url))
    else:
        with tempfile.TemporaryDirectory() as folder:
            tickets = asyncio.run(_engine(url, folder, expected))
    print(json.dumps({"tickets": tickets, "seconds": time.perf_counter() - started}))


def _measure(fake: ZendeskFake, command: list[str]) -> dict[str, float]:
    before = fake.requests["export"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    if command[0] == str(AIRBYTE):
        # Airbyte writes one message per record on stdout, its timing on stderr.
        result = json.loads(done.stderr.strip().splitlines()[-1])
        records = done.stdout.splitlines()
        result["tickets"] = sum('"type":"RECORD"' in line for line in records)
    else:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    result["requests"] = fake.requests["export"] - before
    result["per_s"] = result["tickets"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument(
        "--client", nargs=2, metavar=("MODE", "URL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.client:
        client(args.client[0], args.client[1], args.tickets)
        return

    account = ZendeskAccount(seed=1)
    account.populate(args.tickets)
    config = ZendeskFakeConfig(export_limit=10_000_000, account_limit=10_000_000)
    fake = ZendeskFake(account, config)
    runs: dict[str, dict[str, float]] = {}
    with serving(fake.app) as served:
        own = [sys.executable, __file__, "--tickets", str(args.tickets), "--client"]
        runs["supportpulse source"] = _measure(fake, [*own, "pull", served.url])
        runs["supportpulse engine to DuckDB"] = _measure(
            fake, [*own, "engine", served.url]
        )
        if ZENPY.exists():
            runs["zenpy 2.0.57"] = _measure(
                fake, [str(ZENPY), str(HERE / "zenpy_export.py"), served.url]
            )
        else:
            print(
                f"zenpy skipped: no {ZENPY}; see this file's docstring", file=sys.stderr
            )
        if AIRBYTE.exists():
            airbyte = [str(AIRBYTE), str(HERE / "airbyte_export.py"), served.url]
            runs["Airbyte zendesk-support 4.9.1"] = _measure(fake, airbyte)
        else:
            print(f"Airbyte skipped: no {AIRBYTE}; see the docstring", file=sys.stderr)

    baseline = runs.get("zenpy 2.0.57")
    print(f"{args.tickets} tickets in the fake account")
    header = ("client", "tickets", "seconds", "tickets/s", "requests", "vs zenpy")
    print("{:32} {:>8} {:>8} {:>10} {:>8} {:>9}".format(*header))
    for name, run in runs.items():
        ratio = f"{run['per_s'] / baseline['per_s']:.2f}x" if baseline else "-"
        row = (name, run["tickets"], run["seconds"], run["per_s"], run["requests"])
        print("{:32} {:>8.0f} {:>8.2f} {:>10.0f} {:>8.0f}".format(*row), f"{ratio:>9}")


if __name__ == "__main__":
    main()
