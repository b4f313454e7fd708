"""Expected KPIs for a twcs conversation file, rebuilt from its raw rows.

Follows docs/metrics.md, "twcs conversation files": tweets joined by either
link column form a conversation, referenced-but-absent tweets included, and a
conversation with a customer tweet is one ticket.
"""

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from .kpis import GroupBy, Message, Ticket, expected_kpis

CREATED_AT_FORMAT = "%a %b %d %H:%M:%S %z %Y"


@dataclass(frozen=True)
class Tweet:
    """One row of the file, ids normalised to decimal integer strings."""

    tweet_id: str
    author_id: str
    inbound: bool
    created_at: datetime
    text: str
    response_ids: tuple[str, ...]
    in_response_to: str | None


def twcs_kpis(
    path: Path, by: GroupBy = None, until: datetime | None = None
) -> dict[str, Any]:
    """The `kpis --json` document for `path` evaluated at `until` (default now)."""
    tickets = load_tickets(path)
    return expected_kpis(tickets, until or datetime.now(UTC), by)


def load_tickets(path: Path) -> list[Ticket]:
    """One ticket per conversation that has at least one customer tweet."""
    tweets = read_tweets(path)
    analyzer = SentimentIntensityAnalyzer()
    tickets = []
    for conversation in conversations(tweets):
        if any(t.inbound for t in conversation):
            tickets.append(_ticket(conversation, analyzer))
    return tickets


def read_tweets(path: Path) -> list[Tweet]:
    """The file's rows as tweets."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [_tweet(row) for row in csv.DictReader(handle)]


def conversations(tweets: list[Tweet]) -> list[list[Tweet]]:
    """The tweets split into reply-linked groups, by union-find over tweet ids."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for tweet in tweets:
        linked = [*tweet.response_ids]
        if tweet.in_response_to is not None:
            linked.append(tweet.in_response_to)
        for other in linked:
            parent[root(other)] = root(tweet.tweet_id)

    groups: dict[str, list[Tweet]] = defaultdict(list)
    for tweet in tweets:
        groups[root(tweet.tweet_id)].append(tweet)
    return list(groups.values())


def _ticket(conversation: list[Tweet], analyzer: SentimentIntensityAnalyzer) -> Ticket:
    # Ties on the timestamp fall to the smaller tweet id, so the pick is stable.
    ordered = sorted(conversation, key=lambda t: (t.created_at, int(t.tweet_id)))
    opening = next(t for t in ordered if t.inbound)
    agents = [t for t in ordered if not t.inbound]
    first_response = next(
        (t.created_at for t in agents if t.created_at >= opening.created_at), None
    )
    return Ticket(
        created_at=opening.created_at,
        team=agents[0].author_id if agents else None,
        first_response_at=first_response,
        messages=[_message(t, agents, analyzer) for t in ordered],
    )


def _message(
    tweet: Tweet, agents: list[Tweet], analyzer: SentimentIntensityAnalyzer
) -> Message:
    if not tweet.inbound:
        return Message(created_at=tweet.created_at, role="agent")

    # The answer is the earliest agent tweet replying to this one and not older.
    answers = [
        a.created_at
        for a in agents
        if a.in_response_to == tweet.tweet_id and a.created_at >= tweet.created_at
    ]
    return Message(
        created_at=tweet.created_at,
        role="customer",
        sentiment=analyzer.polarity_scores(tweet.text)["compound"],
        reply_s=(min(answers) - tweet.created_at).total_seconds() if answers else None,
    )


def _tweet(row: dict[str, str]) -> Tweet:
    if row["inbound"] not in ("True", "False"):
        raise ValueError(f"tweet {row['tweet_id']}: inbound is {row['inbound']!r}")
    in_response_to = row["in_response_to_tweet_id"].strip()
    return Tweet(
        tweet_id=_tweet_id(row["tweet_id"]),
        author_id=row["author_id"],
        inbound=row["inbound"] == "True",
        created_at=datetime.strptime(row["created_at"], CREATED_AT_FORMAT),
        text=row["text"],
        response_ids=tuple(
            _tweet_id(part)
            for part in row["response_tweet_id"].split(",")
            if part.strip()
        ),
        in_response_to=_tweet_id(in_response_to) if in_response_to else None,
    )


def _tweet_id(text: str) -> str:
    # in_response_to_tweet_id is written as a float ("3.0"); Decimal keeps ids
    # beyond 2**53 exact, where float() would round them.
    value = Decimal(text.strip())
    if value != value.to_integral_value():
        raise ValueError(f"tweet id {text!r} is not an integer")
    return str(int(value))
