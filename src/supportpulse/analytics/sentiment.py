"""Customer sentiment: the VADER compound score, offline.

vaderSentiment ships its lexicon inside the wheel, so scoring never downloads
anything.
"""

from __future__ import annotations

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
