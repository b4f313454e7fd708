"""Scale the twcs excerpt to any number of tweets, for the ingest benchmark.

The 1,000-tweet excerpt is copied again and again; copy k adds k * id stride
to every tweet id (so reply links stay inside the copy and keep their shape,
references to absent tweets included), gives each customer a new numeric
author id, and shifts every time by k * --shift-minutes. Brands keep their
names and every text is kept as it is. Rows are written as they are made, so
memory stays flat however many tweets are asked for.

    .venv/bin/python bench/generate_twcs.py 1000000 -o bench/.data/twcs_1000000.csv
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO.parent / "shared" / "data" / "twcs" / "twcs_head_1000.csv"
HEADER = [
    "tweet_id", "author_id", "inbound", "created_at", "text",
    "response_tweet_id", "in_response_to_tweet_id",
]  # fmt: skip
# The corpus's own layout; %a and %b are English in the C locale Python starts in.
TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"


@dataclass(frozen=True)
class Tweet:
    """One template tweet, parsed once so each copy only adds offsets."""

    tweet_id: int
    author: str
    inbound: str
    created: datetime
    text: str
    responses: tuple[int, ...]
    parent: int | None


def load_template(path: Path = TEMPLATE) -> list[Tweet]:
    """The excerpt's tweets in file order."""
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        if next(reader) != HEADER:
            raise SystemExit(f"{path}: not the twcs header {HEADER}")
        return [_parse(row) for row in reader]


def _parse(row: list[str]) -> Tweet:
    tweet_id, author, inbound, created, text, responses, parent = row
    return Tweet(
        tweet_id=int(tweet_id),
        author=author,
        inbound=inbound,
        created=datetime.strptime(created, TIME_FORMAT),
        text=text,
        responses=tuple(int(part) for part in responses.split(",") if part),
        # The corpus writes parents as floats ("123.0"); they are whole ids.
        parent=int(float(parent)) if parent else None,
    )


def _stride(largest: int) -> int:
    # A power of ten above every id keeps copies apart and readable:
    # tweet 17 of copy 3 is 30017 when the stride is 10,000.
    return 10 ** len(str(largest))


def generate(
    count: int, shift: timedelta, template: list[Tweet]
) -> Iterator[list[str]]:
    """`count` tweets as CSV rows: whole copies of the template, then a part."""
    referenced = [t.tweet_id for t in template] + [
        ref for t in template for ref in (*t.responses, t.parent or 0)
    ]
    id_stride = _stride(max(referenced))
    author_stride = _stride(max(int(t.author) for t in template if t.author.isdigit()))

    for index in range(count):
        copy, tweet = divmod(index, len(template))
        yield _copy(
            template[tweet], copy, copy * id_stride, copy * author_stride, shift
        )


def _copy(
    tweet: Tweet, copy: int, ids: int, authors: int, shift: timedelta
) -> list[str]:
    author = tweet.author
    if tweet.inbound == "True" and author.isdigit():
        author = str(int(author) + authors)
    parent = "" if tweet.parent is None else f"{tweet.parent + ids}.0"
    return [
        str(tweet.tweet_id + ids),
        author,
        tweet.inbound,
        (tweet.created + copy * shift).strftime(TIME_FORMAT),
        tweet.text,
        ",".join(str(response + ids) for response in tweet.responses),
        parent,
    ]


def write_csv(path: Path, count: int, shift: timedelta) -> None:
    """Write `count` generated tweets to `path` with the corpus header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    template = load_template()
    with path.open("w", encoding="utf-8", newline="") as stream:
        # csv's default "\r\n" line ends are the corpus's own.
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        writer.writerows(generate(count, shift, template))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=1_000_000)
    parser.add_argument(
        "-o", "--output", type=Path, help="default bench/.data/twcs_<count>.csv"
    )
    parser.add_argument(
        "--shift-minutes", type=float, default=60.0, help="time shift per copy"
    )
    args = parser.parse_args()

    output = args.output or REPO / "bench" / ".data" / f"twcs_{args.count}.csv"
    write_csv(output, args.count, timedelta(minutes=args.shift_minutes))
    print(output)


if __name__ == "__main__":
    main()
