"""The Zendesk source against the fake Zendesk API over a real socket."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from supportpulse.config import EngineSettings, Settings, SourceSettings
from supportpulse.engine.runner import Engine
from supportpulse.errors import FatalSourceError, RetriableSourceError
from supportpulse.fakes import Faults, ServedApp, serving
from supportpulse.fakes.zendesk import ZendeskFake, ZendeskFakeConfig
from supportpulse.fakes.zendesk_account import ZendeskAccount
from supportpulse.logs import configure_logging
from supportpulse.sources.zendesk import ZendeskOptions, ZendeskSource
from supportpulse.store import Store, open_store, parse_store_url

from .zendesk_expected import differences, expected, snapshot

pytestmark = pytest.mark.timeout(300)

FAST = EngineSettings(
    batch_wait=timedelta(milliseconds=20),
    backoff_base=timedelta(milliseconds=50),
    backoff_cap=timedelta(seconds=1),
    failures_before_open=1000,
)


def options(url: str, **extra: Any) -> dict[str, Any]:
    """Source options for the fake, paced only by what the fake says."""
    return {
        "base_url": url,
        "email": "admin@acme.example",
        "api_token": "fake-zendesk-token",
        "account_rate_per_min": 1_000_000,
        "export_rate_per_min": 1_000_000,
        **extra,
    }


def source_config(url: str, name: str = "zd", **extra: Any) -> SourceSettings:
    return SourceSettings(
        name=name,
        type="zendesk",
        interval=timedelta(milliseconds=200),
        timeout=timedelta(seconds=60),
        options=options(url, **extra),
    )


class Mutator:
    """Changes the fake account from a thread, as agents and customers do."""

    def __init__(self, account: ZendeskAccount, changes: int, pause_s: float) -> None:
        self.account, self.changes, self.pause_s = account, changes, pause_s
        self.done: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _ in range(self.changes):
            self.done.append(self.account.mutate())
            time.sleep(self.pause_s)

    def __enter__(self) -> Mutator:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join()


async def converge(
    engine: Engine, store: Store, account: ZendeskAccount, source: str, within_s: float
) -> list[str]:
    """Wait until the store holds exactly the account's state; the last
    differences when it does not within `within_s`."""
    deadline = time.monotonic() + within_s
    while True:
        want_tickets, want_messages = expected(account)
        have_tickets, have_messages = await engine.query(snapshot, store, source)
        problems = differences(want_tickets, have_tickets, "tickets") + differences(
            want_messages, have_messages, "messages"
        )
        if not problems or time.monotonic() > deadline:
            return problems
        await asyncio.sleep(0.5)


@pytest.fixture
def zendesk() -> Iterator[tuple[ZendeskFake, ServedApp]]:
    account = ZendeskAccount(seed=11)
    account.populate(3000)
    faults = Faults(seed=11, storm_length=2, slow_s=0.05, paths=("/api/",))
    config = ZendeskFakeConfig(
        hide_recent_s=1,
        window_s=1.0,
        account_limit=100_000,
        export_limit=1000,
        max_per_page=60,
        duplicate=0.2,
        shuffle=True,
        seed=11,
    )
    fake = ZendeskFake(account, config, faults)
    with serving(fake.app) as served:
        yield fake, served


def test_zendesk_source_ends_with_the_exact_account_under_every_fault(
    zendesk: tuple[ZendeskFake, ServedApp], tmp_path: Path
) -> None:
    fake, served = zendesk
    fake.faults.enable(throttle=0.004, server_error=0.03, slow=0.03, drop=0.02)
    settings = Settings(engine=FAST)

    async def scenario() -> list[str]:
        with open_store(parse_store_url(f"duckdb://{tmp_path}/zd.duckdb")) as store:
            engine = Engine(store, settings)
            await engine.start()
            # The export's own limit refuses the first request; then it is
            # lifted, so the test does not hang on its timing.
            fake.config.export_limit = 0
            await engine.add(source_config(served.url, per_page=100))
            with Mutator(fake.account, changes=600, pause_s=0.02) as mutator:
                while mutator.thread.is_alive():
                    if fake.requests["throttled"]:
                        fake.config.export_limit = 1000
                    await asyncio.sleep(0.2)
            fake.faults.disable()
            problems = await converge(engine, store, fake.account, "zd", within_s=120)
            await engine.stop()
            return problems

    problems = asyncio.run(scenario())

    assert problems == []
    injected = fake.faults.injected
    assert min(injected[k] for k in ("throttle", "server_error", "slow", "drop")) > 0
    assert fake.requests["throttled"] > 0


@pytest.fixture
def small() -> Iterator[tuple[ZendeskFake, ServedApp]]:
    account = ZendeskAccount(seed=2)
    account.populate(30)
    config = ZendeskFakeConfig(hide_recent_s=1, oauth_token="oauth-canary-4f2a")
    fake = ZendeskFake(account, config, Faults(seed=2, paths=("/api/",)))
    with serving(fake.app) as served:
        yield fake, served


def _source(url: str, name: str = "zd", **extra: Any) -> ZendeskSource:
    opts = ZendeskOptions.model_validate(options(url, **extra))
    return ZendeskSource(name, opts, Settings())


async def _pull_all(source: ZendeskSource) -> list[Any]:
    cursor, pages = None, []
    while True:
        page = await source.pull(cursor)
        pages.append(page)
        cursor = page.cursor
        if not page.more:
            await source.close()
            return pages


def test_zendesk_source_wrong_token_stops_with_what_to_check(
    small: tuple[ZendeskFake, ServedApp],
) -> None:
    _, served = small
    source = _source(served.url, api_token="wrong-token-canary")

    with pytest.raises(FatalSourceError) as caught:
        asyncio.run(source.pull(None))

    assert str(caught.value) == (
        "source 'zd': 401 from Zendesk incremental export; "
        "check email and api_token (or oauth_token)"
    )
    assert "wrong-token-canary" not in str(caught.value)


def test_zendesk_source_oauth_token_reads_the_export(
    small: tuple[ZendeskFake, ServedApp],
) -> None:
    _, served = small
    source = _source(
        served.url, email=None, api_token=None, oauth_token="oauth-canary-4f2a",
        comments=False, per_page=7,
    )  # fmt: skip

    pages = asyncio.run(_pull_all(source))

    assert sum(len(page.records) for page in pages) == 30
    assert pages[-1].cursor is not None
    assert pages[-1].cursor["after_cursor"]


def test_zendesk_source_throttle_pauses_the_whole_account_as_told(
    small: tuple[ZendeskFake, ServedApp],
) -> None:
    fake, served = small
    fake.faults.storm_length = 1
    fake.faults.retry_after_s = 30
    fake.faults.enable(throttle=1.0)
    source = _source(served.url, name="a", attempts=1)
    sibling = _source(served.url, name="b")

    with pytest.raises(RetriableSourceError) as caught:
        asyncio.run(source.pull(None))

    assert caught.value.retry_after == 30
    # The other source on the same account and credential waits as well.
    assert sibling.account_bucket is source.account_bucket
    assert 25 < sibling.account_bucket.wait_s() <= 30


def test_zendesk_source_logs_no_secret(
    small: tuple[ZendeskFake, ServedApp], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, served = small
    fake.faults.enable(server_error=0.3, drop=0.2)
    configure_logging("debug")
    # Without comments the requests go one by one: the seeded faults repeat.
    source = _source(served.url, per_page=5, comments=False)
    try:
        pages = asyncio.run(_pull_all(source))
        fake.faults.disable()
        bad = _source(served.url, name="bad", api_token="token-canary-91c3")
        with pytest.raises(FatalSourceError):
            asyncio.run(bad.pull(None))
    finally:
        configure_logging("warning")

    logged = capsys.readouterr().err
    assert sum(len(page.records) for page in pages) == 30
    assert "page_fetched" in logged
    retries = [line for line in logged.splitlines() if "retry_scheduled" in line]
    assert retries
    assert all("source=zd" in line for line in retries)
    for secret in (
        "fake-zendesk-token",
        "token-canary-91c3",
        "YWRtaW5AYWNtZS5leGFtcGxl",
    ):
        assert secret not in logged
