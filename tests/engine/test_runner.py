"""The engine: checkpoints with data, backoff as told, isolation, management."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from supportpulse.config import EngineSettings, Settings, SourceSettings
from supportpulse.engine.runner import Engine
from supportpulse.errors import FatalSourceError, RetriableSourceError
from supportpulse.model import Batch, Ticket
from supportpulse.sources.base import Cursor, Page, PullSource, PushSource
from supportpulse.store import Store, open_store, parse_store_url

# A hang fails this test quickly instead of the whole suite's timeout.
pytestmark = pytest.mark.timeout(120)

FAST = EngineSettings(
    batch_wait=timedelta(milliseconds=5),
    backoff_base=timedelta(milliseconds=5),
    backoff_cap=timedelta(milliseconds=20),
    failures_before_open=100,
)


def _ticket(source: str, number: int) -> Ticket:
    moment = datetime(2024, 1, 1) + timedelta(minutes=number)
    return Ticket(source, str(number), moment, moment)


class Counting(PullSource):
    """Pages of `size` tickets numbered from the cursor, `total` in all; fails
    as scripted first: each entry of `script` is raised by one poll."""

    def __init__(
        self,
        name: str,
        total: int = 30,
        size: int = 10,
        script: list[Exception] | None = None,
    ) -> None:
        super().__init__(name, Counting.options_model(), Settings())
        self.total, self.size = total, size
        self.script = list(script or [])
        self.polls = 0

    async def pull(self, cursor: Cursor | None) -> Page:
        self.polls += 1
        if self.script:
            raise self.script.pop(0)
        start = int((cursor or {}).get("next", 0))
        end = min(self.total, start + self.size)
        numbers = list(range(start, end))
        return Page([{"n": n} for n in numbers], {"next": end}, more=end < self.total)

    def normalize(self, page: Page) -> Batch:
        return Batch(
            tickets=[_ticket(self.name, record["n"]) for record in page.records]
        )


class Stream(PushSource):
    """Pushes `total` tickets one page each, then ends."""

    def __init__(self, name: str, total: int = 5) -> None:
        super().__init__(name, Stream.options_model(), Settings())
        self.total = total

    async def stream(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        for n in range(int((cursor or {}).get("next", 0)), self.total):
            await asyncio.sleep(0)
            yield Page([{"n": n}], {"next": n + 1})

    def normalize(self, page: Page) -> Batch:
        return Batch(
            tickets=[_ticket(self.name, record["n"]) for record in page.records]
        )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(parse_store_url(str(tmp_path / "engine.duckdb")))


def _config(name: str, kind: str = "test") -> SourceSettings:
    return SourceSettings(
        name=name,
        type=kind,
        interval=timedelta(milliseconds=5),
        timeout=timedelta(seconds=5),
    )


def _engine(store: Store) -> Engine:
    return Engine(store, Settings(engine=FAST))


def _tickets(store: Store, source: str) -> list[str]:
    _, rows = store.fetch(
        "SELECT external_id FROM tickets WHERE source = :s ORDER BY external_id",
        {"s": source},
    )
    return [row[0] for row in rows]


def _records(engine: Engine) -> dict[str, int]:
    # Read from the engine, not the store: its connection is the writer's.
    return {status["name"]: status["records"] for status in engine.status()}


async def _until(condition, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_engine_commits_cursor_with_records_and_resumes_from_it(store: Store) -> None:
    async def scenario() -> None:
        engine = _engine(store)
        await engine.start()
        await engine.add(_config("push"), Stream("push", total=5))
        await engine.idle()
        await engine.stop()

        again = _engine(store)
        await again.start()
        resumed = Stream("push", total=8)
        await again.add(_config("push"), resumed)
        await again.idle()
        await again.stop()

    asyncio.run(scenario())
    assert json.loads(store.read_cursor("push") or "{}") == {"next": 8}
    assert len(_tickets(store, "push")) == 8


class Deleting(PushSource):
    """Pushes ticket 1, then its deletion, then ticket 2, quicker than the
    writer's batch wait, so all three pages land in one batch."""

    async def stream(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        for step in ("upsert", "delete", "other"):
            yield Page([{"step": step}], {"step": step})

    def normalize(self, page: Page) -> Batch:
        step = page.records[0]["step"]
        if step == "delete":
            return Batch(deleted_tickets=[(self.name, "1")])
        return Batch(tickets=[_ticket(self.name, 1 if step == "upsert" else 2)])


def test_engine_deletion_in_a_later_page_of_one_batch_wins(store: Store) -> None:
    settings = Settings(
        engine=FAST.model_copy(update={"batch_wait": timedelta(seconds=1)})
    )

    async def scenario() -> None:
        engine = Engine(store, settings)
        await engine.start()
        await engine.add(
            _config("del"), Deleting("del", Deleting.options_model(), settings)
        )
        await engine.idle()
        await engine.stop()

    asyncio.run(scenario())
    assert sorted(_tickets(store, "del")) == ["2"]


def test_engine_backs_off_as_told_and_loses_nothing(store: Store) -> None:
    failing = Counting("flaky", script=[
        RetriableSourceError("429 from the tickets endpoint", retry_after=0.05),
        TimeoutError(),
        RetriableSourceError("503"),
    ])  # fmt: skip
    steady = Counting("steady", total=50)

    async def scenario() -> None:
        engine = _engine(store)
        await engine.start()
        await engine.add(_config("flaky"), failing)
        await engine.add(_config("steady"), steady)
        await _until(lambda: _records(engine) == {"flaky": 30, "steady": 50})
        statuses = {s["name"]: s for s in engine.status()}
        await engine.stop()
        assert statuses["flaky"]["last_error"].startswith("RetriableSourceError: 503")
        assert statuses["flaky"]["records"] == 30

    asyncio.run(scenario())
    assert failing.script == []
    assert _tickets(store, "flaky") == sorted(str(n) for n in range(30))


def test_engine_stops_a_source_on_a_fatal_error_and_keeps_the_others(
    store: Store,
) -> None:
    broken = Counting("broken", script=[FatalSourceError("401; check ZENDESK_TOKEN")])

    async def scenario() -> None:
        engine = _engine(store)
        await engine.start()
        await engine.add(_config("broken"), broken)
        await engine.add(_config("steady"), Counting("steady"))
        await _until(lambda: _records(engine)["steady"] == 30)
        await _until(lambda: engine.status()[0]["state"] == "failed")
        await engine.stop()

    asyncio.run(scenario())
    assert broken.polls == 1
    assert _tickets(store, "broken") == []


def test_engine_pauses_resumes_and_removes_sources(store: Store) -> None:
    async def scenario() -> None:
        engine = _engine(store)
        await engine.start()
        source = Counting("paced", total=10_000, size=1)
        await engine.add(_config("paced"), source)
        await _until(lambda: source.polls > 3)
        engine.pause("paced")
        await asyncio.sleep(0.05)
        polls = source.polls
        await asyncio.sleep(0.1)
        assert source.polls <= polls + 1
        assert engine.status()[0]["state"] == "paused"

        engine.resume("paced")
        await _until(lambda: source.polls > polls + 3)
        await engine.remove("paced")
        assert engine.status() == []
        await engine.stop()

    asyncio.run(scenario())


def test_engine_opens_the_circuit_after_repeated_failures(store: Store) -> None:
    dead = Counting("dead", script=[RetriableSourceError("502")] * 3)
    limits = FAST.model_copy(
        update={
            "failures_before_open": 3,
            "open_circuit_for": timedelta(milliseconds=50),
        }
    )

    async def scenario() -> None:
        engine = Engine(store, Settings(engine=limits))
        await engine.start()
        await engine.add(_config("dead"), dead)
        await _until(lambda: engine.status()[0]["state"] == "failed")
        await _until(lambda: _records(engine) == {"dead": 30})
        await engine.stop()

    asyncio.run(scenario())
    assert dead.script == []
    assert _tickets(store, "dead") == sorted(str(n) for n in range(30))
