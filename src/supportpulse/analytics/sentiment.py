"""Customer sentiment: the VADER compound score, offline.

vaderSentiment ships its lexicon inside the wheel, so scoring never downloads
anything.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

#: A compound score at or below this counts as negative (VADER's own convention).
NEGATIVE_AT_OR_BELOW = -0.05


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentiment(text: str | None) -> float | None:
    """The VADER compound score of `text` in [-1, 1]; None for no text."""
    if not text or not text.strip():
        return None
    return float(_analyzer().polarity_scores(text)["compound"])


def sentiments(texts: list[str | None]) -> list[float | None]:
    """Scores for many texts, in order."""
    return [sentiment(text) for text in texts]


def _exit_with_parent(parent: int) -> None:
    """In a worker: exit as soon as the ingesting process is gone.

    A parent killed with SIGKILL cannot stop its workers, which would
    otherwise idle on for minutes holding their memory.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class BackgroundScorer:
    """Scores batches of texts in worker processes while the caller reads on.

    VADER is pure Python and the slowest step of a large ingest; worker
    processes let it use every core. Workers start on the first batch, so a
    small file never pays their start-up.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, texts: list[str | None]) -> list[Future[list[float | None]]]:
        """Start scoring `texts`; collect the result with `collect`."""
        if self._pool is None:
            # spawn, not fork: the parent holds database connections and threads.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=context,
                initializer=_exit_with_parent, initargs=(os.getpid(),),
            )  # fmt: skip
        size = max(1, -(-len(texts) // self.workers))
        return [
            self._pool.submit(sentiments, texts[start : start + size])
            for start in range(0, len(texts), size)
        ]

    @staticmethod
    def collect(futures: list[Future[list[float | None]]]) -> list[float | None]:
        """The scores of a submitted batch, in order; waits for them."""
        return [score for future in futures for score in future.result()]

    def close(self) -> None:
        """Stop the workers."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
