"""twcs conversations kept up to date one tweet at a time, for live sources.

The batch reader (`twcs.py`) finds conversations over a whole file at once.
A live stream sees tweets one by one, in any order, so this tracker keeps a
union-find over tweet ids and, whenever a tweet joins or merges
conversations, re-emits the affected conversation whole: the ticket (id =
smallest tweet id, as in batch ingest), all its messages, and the tickets it
replaced. The result per conversation is the same as the batch reader's.
Its memory grows with the tweets seen, which suits live streams; files of
any size go through `supportpulse ingest`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from supportpulse.analytics.sentiment import sentiment
from supportpulse.model import Batch, Message, Ticket

CHANNEL = "twitter"


@dataclass(slots=True)
class Tweet:
    """What a conversation needs to know of one tweet."""

    tweet_id: int
    author: str
    inbound: bool
    created_at: datetime
    body: str
    reply_to: int | None
    responses: list[int]
    sentiment: float | None
    raw: dict[str, Any]


class ConversationTracker:
    """Union-find over tweet ids, with the tweets of each conversation."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._parent: dict[int, int] = {}
        self._members: dict[int, list[int]] = {}
        self._emitted: dict[int, set[str]] = {}
        self._tweets: dict[int, Tweet] = {}

    def _find(self, node: int) -> int:
        parent = self._parent.setdefault(node, node)
        while parent != node:
            grand = self._parent[parent]
            self._parent[node] = grand
            node, parent = parent, grand
        return node

    def _union(self, left: int, right: int) -> int:
        a, b = self._find(left), self._find(right)
        if a == b:
            return a
        if len(self._members.get(a, ())) < len(self._members.get(b, ())):
            a, b = b, a
        self._parent[b] = a
        self._members.setdefault(a, []).extend(self._members.pop(b, []))
        self._emitted.setdefault(a, set()).update(self._emitted.pop(b, set()))
        return a

    def _link(self, tweet: Tweet) -> int:
        root = self._find(tweet.tweet_id)
        if tweet.tweet_id not in self._tweets:
            self._members.setdefault(root, []).append(tweet.tweet_id)
        self._tweets[tweet.tweet_id] = tweet
        for other in (tweet.reply_to, *tweet.responses):
            if other is not None:
                root = self._union(root, other)
        return self._find(root)

    def prime(self, tweets: Iterable[Tweet]) -> None:
        """Load tweets already in the store, without emitting anything."""
        for tweet in tweets:
            root = self._link(tweet)
            self._emitted.setdefault(root, set()).add(str(self._ticket_id(root)))

    def add(self, tweets: Iterable[Tweet]) -> Batch:
        """Take new tweets; return the conversations they changed, whole."""
        touched = {self._link(tweet) for tweet in tweets}
        batch = Batch()
        for root in {self._find(node) for node in touched}:
            self._emit(root, batch)
        return batch

    def _ticket_id(self, root: int) -> int:
        return min(self._members[root])

    def _emit(self, root: int, batch: Batch) -> None:
        tweets = sorted(
            (self._tweets[i] for i in self._members[root]),
            key=lambda t: (t.created_at, t.tweet_id),
        )
        ticket_id = str(self._ticket_id(root))
        stale = self._emitted.get(root, set()) - {ticket_id}
        batch.deleted_tickets.extend((self.source, old) for old in sorted(stale))
        self._emitted[root] = {ticket_id}

        customers = [tweet for tweet in tweets if tweet.inbound]
        agents = [tweet for tweet in tweets if not tweet.inbound]
        if customers:
            batch.tickets.append(Ticket(
                source=self.source,
                external_id=ticket_id,
                created_at=customers[0].created_at,
                updated_at=tweets[-1].created_at,
                channel=CHANNEL,
                team=agents[0].author if agents else None,
                requester=customers[0].author,
                raw={"format": "twcs",
                     "tweet_ids": sorted(tweet.tweet_id for tweet in tweets)},
            ))  # fmt: skip
        # A conversation without a customer tweet is no ticket, but its tweets
        # are kept so that a customer tweet joining later finds them.
        batch.messages.extend(
            _message(self.source, ticket_id, tweet) for tweet in tweets
        )


def _message(source: str, ticket_id: str, tweet: Tweet) -> Message:
    return Message(
        source=source,
        external_id=str(tweet.tweet_id),
        ticket_external_id=ticket_id,
        created_at=tweet.created_at,
        updated_at=tweet.created_at,
        author_role="customer" if tweet.inbound else "agent",
        author_id=tweet.author,
        reply_to=None if tweet.reply_to is None else str(tweet.reply_to),
        body=tweet.body,
        sentiment=tweet.sentiment,
        raw=tweet.raw,
    )


def tweet_from_values(values: tuple[Any, ...], raw: dict[str, Any]) -> Tweet:
    """A Tweet from `twcs.parse_tweet` output, scored for sentiment."""
    tweet_id, author, inbound, created, text, parent, responses = values
    score = sentiment(text) if inbound else None
    return Tweet(
        tweet_id, author, inbound, created, text, parent, responses, score, raw
    )


def tweet_from_row(row: dict[str, Any]) -> Tweet:
    """A Tweet back from a stored message row (see `ConversationTracker.prime`)."""
    raw = row["raw"] if isinstance(row["raw"], dict) else json.loads(row["raw"] or "{}")
    responses_text = str(raw.get("response_tweet_id") or "")
    return Tweet(
        tweet_id=int(row["external_id"]),
        author=row["author_id"] or "",
        inbound=row["author_role"] == "customer",
        created_at=row["created_at"],
        body=row["body"] or "",
        reply_to=int(row["reply_to"]) if row["reply_to"] else None,
        responses=[
            int(float(part)) for part in responses_text.split(",") if part.strip()
        ],
        sentiment=row["sentiment"],
        raw=raw,
    )
