"""The engine: one task per source, a bounded queue, one batching writer.

Sources put pages on a bounded queue, so a slow store slows the sources down
instead of growing memory. The writer normalizes pages and commits records
together with the cursors that cover them in one transaction; a source
restarts from the last committed cursor, so a crash at any moment neither
loses nor doubles records.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from supportpulse.config import Settings, SourceSettings
from supportpulse.engine.backoff import CircuitBreaker, full_jitter
from supportpulse.engine.status import SourceState, SourceStatus
from supportpulse.errors import FatalSourceError, RetriableSourceError
from supportpulse.logs import redact
from supportpulse.model import Batch
from supportpulse.sources import Page, PullSource, PushSource, Source, source_class
from supportpulse.store import Store

log = structlog.get_logger("supportpulse.engine")

Clock = Callable[[], datetime]
AfterWrite = Callable[[], Awaitable[None]]


def utc_now() -> datetime:
    """The current time as naive UTC, the store's convention."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class _Running:
    source: Source
    config: SourceSettings
    status: SourceStatus
    cursor: dict[str, Any] | None
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set to end a pull source's rest between polls early (a webhook).
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    removed: bool = False


async def _cancel(task: asyncio.Task[Any]) -> None:
    """Cancel a task and wait until it has really ended.

    On Python 3.11 `asyncio.wait_for` can swallow a cancellation that arrives
    as its inner call completes, so one cancel() is not always enough.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)


def build_source(config: SourceSettings, settings: Settings) -> Source:
    """Instantiate a configured source with its validated options."""
    cls = source_class(config.type)
    options = cls.options_model.model_validate(config.options)
    return cls(config.name, options, settings)


def _forget(batch: Batch, gone: set[tuple[str, str]]) -> None:
    """Drop records of tickets a later page deleted: the store applies a
    batch's deletions before its upserts, which would bring them back."""
    batch.tickets = [t for t in batch.tickets if (t.source, t.external_id) not in gone]
    batch.messages = [
        m for m in batch.messages if (m.source, m.ticket_external_id) not in gone
    ]


class Engine:
    """Runs sources into the store until stopped."""

    def __init__(
        self, store: Store, settings: Settings, clock: Clock = utc_now
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.limits = settings.engine
        self._queue: asyncio.Queue[tuple[_Running, Page]] = asyncio.Queue(
            self.limits.queue_pages
        )
        #: Records waiting in the queue; pages vary in size, so the page bound
        #: alone would let a fast backfill queue millions of rows.
        self._queued_records = 0
        self._room = asyncio.Condition()
        self._polls = asyncio.Semaphore(self.limits.max_concurrent_polls)
        self._store_lock = asyncio.Lock()
        self._running: dict[str, _Running] = {}
        self._writer: asyncio.Task[None] | None = None
        self._after_write: list[AfterWrite] = []

    # -- management -------------------------------------------------------

    async def add(self, config: SourceSettings, source: Source | None = None) -> None:
        """Start a source; it resumes from its committed cursor."""
        if config.name in self._running:
            raise ValueError(f"source '{config.name}' is already running")
        source = source or build_source(config, self.settings)
        saved = await self._in_store(self.store.read_cursor, config.name)
        await self._in_store(source.prime, self.store)
        running = _Running(
            source=source,
            config=config,
            status=SourceStatus(config.name, config.type),
            cursor=json.loads(saved) if saved else None,
        )
        running.resumed.set()
        self._running[config.name] = running
        running.task = asyncio.create_task(
            self._drive(running), name=f"source:{config.name}"
        )
        log.info(
            "source_started",
            source=config.name,
            type=config.type,
            resumed=saved is not None,
        )

    async def remove(self, name: str) -> None:
        """Stop a source; pages it queued but the writer has not taken are dropped."""
        running = self._running.pop(name)
        running.removed = True
        await self._stop(running)
        log.info("source_removed", source=name)

    def pause(self, name: str) -> None:
        """Stop polling a source until resumed; its cursor is kept."""
        running = self._running[name]
        running.resumed.clear()
        running.status.state = SourceState.paused
        log.info("source_paused", source=name)

    def resume(self, name: str) -> None:
        """Continue a paused source from where it was."""
        running = self._running[name]
        running.resumed.set()
        running.status.state = SourceState.live
        log.info("source_resumed", source=name)

    def on_write(self, hook: AfterWrite) -> None:
        """Call `hook` after every committed batch (alert evaluation)."""
        self._after_write.append(hook)

    def status(self) -> list[dict[str, Any]]:
        """Every source's status, worked out now."""
        now = self.clock()
        return [running.status.as_dict(now) for running in self._running.values()]

    @property
    def queued_records(self) -> int:
        """Records read by sources and not yet written."""
        return self._queued_records

    def config(self, name: str) -> SourceSettings | None:
        """The settings a source was added with, if it is in the engine."""
        running = self._running.get(name)
        return None if running is None else running.config

    @property
    def queue_depth(self) -> int:
        """Pages waiting for the writer."""
        return self._queue.qsize()

    async def written(self) -> None:
        """Run the after-write hooks for data written outside the writer, such
        as a file ingested through the API, so KPIs and alerts see it too."""
        await self._run_write_hooks()

    # -- lifecycle --------------------------------------------------------

    async def start(self) -> None:
        """Start the writer and every enabled configured source."""
        await self._in_store(
            self.store.limit_memory, self.settings.engine.store_memory_mb
        )
        self._writer = asyncio.create_task(self._write_loop(), name="writer")
        for config in self.settings.sources:
            if config.enabled:
                await self.add(config)

    async def stop(self) -> None:
        """Stop sources, write everything queued, and close."""
        for running in list(self._running.values()):
            await self._stop(running)
        try:
            await asyncio.wait_for(
                self._queue.join(), self.limits.drain_timeout.total_seconds()
            )
        except TimeoutError:
            # Safe to give up: what was not committed is read again from the
            # committed cursors on the next start.
            log.warning("engine_drain_incomplete", pages=self._queue.qsize())
        if self._writer is not None:
            await _cancel(self._writer)
        log.info("engine_stopped")

    async def idle(self) -> None:
        """Wait until every source has ended and everything queued is written."""
        tasks = [r.task for r in self._running.values() if r.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._queue.join()

    async def _stop(self, running: _Running) -> None:
        if running.task is not None:
            await _cancel(running.task)
        running.status.state = SourceState.stopped
        await running.source.close()

    # -- sources ----------------------------------------------------------

    async def _drive(self, running: _Running) -> None:
        breaker = CircuitBreaker(
            self.limits.failures_before_open, self.limits.open_circuit_for
        )
        attempt = 0
        while not running.removed:
            await running.resumed.wait()
            wait = breaker.wait_s(self.clock())
            if wait:
                await asyncio.sleep(wait)
            try:
                finished = await self._deliver(running)
            except asyncio.CancelledError:
                raise
            except FatalSourceError as exc:
                running.status.failed(exc, self.clock())
                running.status.state = SourceState.failed
                log.error(
                    "source_failed",
                    source=running.config.name,
                    error=running.status.last_error,
                )
                return
            except Exception as exc:
                running.status.failed(exc, self.clock())
                opened = breaker.failed(self.clock())
                delay = self._retry_delay(exc, attempt)
                attempt += 1
                running.status.retries += 1
                running.status.state = (
                    SourceState.failed if opened else SourceState.backing_off
                )
                log.warning(
                    "source_retry_scheduled",
                    source=running.config.name,
                    attempt=attempt,
                    delay_s=round(delay, 3),
                    circuit_open=opened,
                    error=running.status.last_error,
                )
                await asyncio.sleep(delay)
                continue

            breaker.succeeded()
            attempt = 0
            if finished:
                running.status.state = SourceState.stopped
                log.info("source_finished", source=running.config.name)
                return

    def _retry_delay(self, exc: Exception, attempt: int) -> float:
        if isinstance(exc, RetriableSourceError) and exc.retry_after is not None:
            return max(0.0, exc.retry_after)
        return full_jitter(
            attempt,
            self.limits.backoff_base.total_seconds(),
            self.limits.backoff_cap.total_seconds(),
        )

    async def _deliver(self, running: _Running) -> bool:
        """Run the source until it needs a rest; True when it has ended."""
        source, timeout = running.source, running.config.timeout.total_seconds()
        if isinstance(source, PullSource):
            async with self._polls:
                page = await asyncio.wait_for(source.pull(running.cursor), timeout)
            await self._enqueue(running, page)
            if not page.more:
                await self._rest(running)
            return False

        assert isinstance(source, PushSource)
        async for page in source.stream(running.cursor):
            await self._enqueue(running, page)
        return True

    async def _rest(self, running: _Running) -> None:
        """Wait out the poll interval, or less when asked to poll now."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                running.wake.wait(), self._poll_interval(running.config)
            )
        running.wake.clear()

    def poll_now(self, name: str) -> bool:
        """Ask a pull source to poll at once instead of waiting out its
        interval; a poll under way is followed by another. False when no
        pull source of that name runs."""
        running = self._running.get(name)
        if running is None or not isinstance(running.source, PullSource):
            return False
        running.wake.set()
        log.debug("source_poll_requested", source=name)
        return True

    def _poll_interval(self, config: SourceSettings) -> float:
        interval = config.interval.total_seconds()
        return max(0.0, interval * (1 + random.uniform(-config.jitter, config.jitter)))

    async def _enqueue(self, running: _Running, page: Page) -> None:
        if page.records or page.cursor not in (None, running.cursor):
            size = len(page.records)
            async with self._room:
                # An empty queue takes any page, however large, so none waits forever.
                await self._room.wait_for(
                    lambda: (
                        self._queued_records == 0
                        or self._queued_records + size <= self.limits.queue_records
                    )
                )
                self._queued_records += size
            await self._queue.put((running, page))
        if page.cursor is not None:
            running.cursor = page.cursor
        running.status.polled(self.clock(), caught_up=not page.more)
        if running.status.state is not SourceState.paused:
            running.status.state = running.status.working(self.clock())

    # -- writer -----------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            taken = await self._take_batch()
            try:
                await self._commit(taken)
            finally:
                async with self._room:
                    self._queued_records -= sum(len(page.records) for _, page in taken)
                    self._room.notify_all()
                for _ in taken:
                    self._queue.task_done()

    async def _take_batch(self) -> list[tuple[_Running, Page]]:
        """The next page, and more up to the batch size or the batch wait."""
        loop = asyncio.get_running_loop()
        taken = [await self._queue.get()]
        deadline = loop.time() + self.limits.batch_wait.total_seconds()
        records = len(taken[0][1].records)
        while records < self.limits.batch_records:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                item = await asyncio.wait_for(self._queue.get(), remaining)
            except TimeoutError:
                break
            taken.append(item)
            records += len(item[1].records)
        return taken

    async def _commit(self, taken: list[tuple[_Running, Page]]) -> None:
        live = [(running, page) for running, page in taken if not running.removed]
        batch = Batch()
        cursors: dict[str, str] = {}
        for running, page in list(live):
            try:
                part = await asyncio.to_thread(running.source.normalize, page)
            except Exception as exc:
                # The page is dropped uncommitted: once the source is fixed and
                # restarted it is fetched again from the committed cursor.
                live.remove((running, page))
                await self._fail(running, exc)
                continue
            if part.deleted_tickets:
                _forget(batch, set(part.deleted_tickets))
            batch.tickets.extend(part.tickets)
            batch.messages.extend(part.messages)
            batch.quarantined.extend(part.quarantined)
            batch.deleted_tickets.extend(part.deleted_tickets)
            if page.cursor is not None:
                cursors[running.config.name] = json.dumps(page.cursor, sort_keys=True)

        await self._write_until_stored(batch, cursors, pages=len(live))
        now = self.clock()
        for running, page in live:
            running.status.delivered(len(page.records), page.newest, now)
        log.debug(
            "batch_written",
            tickets=len(batch.tickets),
            messages=len(batch.messages),
            sources=sorted(cursors),
        )
        await self._run_write_hooks()

    async def _run_write_hooks(self) -> None:
        for hook in self._after_write:
            try:
                await hook()
            except Exception:
                log.exception("after_write_hook_failed")

    async def _write_until_stored(
        self, batch: Batch, cursors: dict[str, str], pages: int
    ) -> None:
        """Write one batch, retrying while the store refuses it.

        Sources block on the full queue meanwhile, so a store outage slows
        everything down and loses nothing.
        """
        attempt = 0
        while True:
            try:
                await self._in_store(self.store.write, batch, cursors)
                return
            except Exception as exc:
                delay = full_jitter(
                    attempt,
                    self.limits.backoff_base.total_seconds(),
                    self.limits.backoff_cap.total_seconds(),
                )
                attempt += 1
                log.warning(
                    "batch_write_retry_scheduled",
                    pages=pages,
                    attempt=attempt,
                    delay_s=round(delay, 3),
                    error=redact(f"{type(exc).__name__}: {exc}")[:300],
                )
                await asyncio.sleep(delay)

    async def _fail(self, running: _Running, exc: Exception) -> None:
        running.status.failed(exc, self.clock())
        log.error(
            "source_failed", source=running.config.name, error=running.status.last_error
        )
        running.removed = True
        if running.task is not None:
            running.task.cancel()
        running.status.state = SourceState.failed

    async def _in_store(self, call: Callable[..., Any], *args: Any) -> Any:
        # One connection, used by one thread at a time. A cancelled caller
        # still waits for its thread, or the next call would find the
        # connection busy.
        async with self._store_lock:
            work = asyncio.ensure_future(asyncio.to_thread(call, *args))
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:
                await asyncio.wait({work})
                raise

    async def query(self, call: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking store call (KPIs, alert state) between writes."""
        return await self._in_store(call, *args)
