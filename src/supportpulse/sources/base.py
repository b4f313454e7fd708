"""The source interface: pull sources are polled, push sources stream.

Either kind hands the engine `Page`s: raw records plus the cursor that covers
them. The engine commits a page's records and its cursor in one transaction,
so a source never persists its own position; after a crash it is started
again from the last committed cursor and may repeat records, which the
store's idempotent upserts absorb.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from supportpulse.config import Settings
from supportpulse.model import Batch
from supportpulse.store import Store

Cursor = dict[str, Any]


@dataclass
class Page:
    """Raw records in delivery order and the cursor reached after them."""

    records: list[dict[str, Any]]
    cursor: Cursor | None
    newest: datetime | None = None
    #: More pages are ready now: a pull source is polled again at once.
    more: bool = False
    lines: list[int] = field(default_factory=list)


class SourceOptions(BaseModel):
    """Options of one source type, validated from the config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def files_read(self) -> list[Path]:
        """Local files the source reads; most read none."""
        return []


class Source(ABC):
    """One configured source: its name, options, and a normalizer."""

    kind: ClassVar[Literal["pull", "push"]]
    options_model: ClassVar[type[SourceOptions]] = SourceOptions

    def __init__(self, name: str, options: SourceOptions, settings: Settings) -> None:
        self.name = name
        self.options = options
        self.settings = settings

    @abstractmethod
    def normalize(self, page: Page) -> Batch:
        """The page's records as tickets, messages and quarantined records."""

    def prime(self, store: Store) -> None:  # noqa: B027 - most sources keep no state
        """Prepare to resume, e.g. rebuild state from the store; runs in a thread."""

    async def close(self) -> None:  # noqa: B027 - most sources hold nothing open
        """Release connections; called once when the source stops."""


class PullSource(Source):
    """A source polled on an interval: each call returns the next page."""

    kind = "pull"

    @abstractmethod
    async def pull(self, cursor: Cursor | None) -> Page:
        """The records after `cursor`, at most one page of them."""


class PushSource(Source):
    """A source that delivers records as they happen."""

    kind = "push"

    @abstractmethod
    def stream(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        """Pages from `cursor` on, as they arrive; ends when the stream does."""
