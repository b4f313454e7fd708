"""Rebuilding conversations spills to disk instead of running out of memory."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from supportpulse.ingest.twcs import ConversationBuilder


@pytest.mark.shared_data
def test_conversation_builder_with_little_memory_still_finishes(
    replicated_twcs: Callable[[Path, int], Path], tmp_path: Path
) -> None:
    tweets = replicated_twcs(tmp_path / "tweets.csv", 250)
    # 48 MB for the scratch database, far below what the reply graph of
    # 250k tweets and their texts take in memory at once.
    builder = ConversationBuilder("twcs", batch_size=20_000, memory_mb=48, workers=0)
    try:
        with tweets.open(encoding="utf-8", newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                builder.add(line, row)
        tickets = messages = 0
        for ticket_part, message_part in builder.build():
            tickets += ticket_part.num_rows if ticket_part is not None else 0
            messages += message_part.num_rows if message_part is not None else 0
    finally:
        builder.close()

    assert (tickets, messages) == (63_750, 250_000)
