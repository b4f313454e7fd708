"""The data of a fake Intercom workspace: conversations with statistics,
ratings and parts, admins and teams, and the changes a busy inbox makes.

Records keep the vendor's shape (API 2.x): ids are strings, every time is
Unix seconds. Each change stamps the conversation's `updated_at` with the
current second, which is how a search on `updated_at` finds it again.
"""

from __future__ import annotations

import bisect
import copy
import random
import threading
import time
from collections.abc import Callable
from typing import Any

Record = dict[str, Any]

DAY = 86_400
CHANNELS = ("conversation", "email", "facebook", "whatsapp", "sms", "phone_call")
TAGS = ("billing", "bug", "vip", "refund", "onboarding")
USER_LINES = (
    "My invoice is wrong and nobody answers.",
    "Thanks a lot, all good now!",
    "How do I export my data?",
    "The app keeps crashing on start.",
)
ADMIN_LINES = (
    "Happy to help, checking now.",
    "Could you try again with the latest version?",
    "I have corrected the invoice for you.",
)


class IntercomDesk:
    """One workspace's records, safe to change from one thread while another serves."""

    def __init__(self, seed: int = 0, clock: Callable[[], float] = time.time) -> None:
        self.rng = random.Random(seed)
        self.clock = clock
        self.lock = threading.RLock()
        self.conversations: dict[str, Record] = {}
        self.parts: dict[str, list[Record]] = {}
        self.admins = {
            str(7712000 + n): {"type": "admin", "id": str(7712000 + n), "name": name,
                               "email": f"admin{n}@example.com"}
            for n, name in enumerate(("Lee Chan", "Maya Cruz", "Omar Haddad"))
        }  # fmt: skip
        self.teams = {
            str(5017690 + n): {"type": "team", "id": str(5017690 + n), "name": name}
            for n, name in enumerate(("Support", "Billing"))
        }
        self._order: list[tuple[int, int]] = []
        self._next_part = 900000001
        self._last = 0

    def now(self) -> int:
        """The current second, never earlier than one already handed out."""
        self._last = max(self._last, int(self.clock()))
        return self._last

    def after(self, updated_at: int, conversation_id: int) -> list[str]:
        """Ids of conversations after (updated_at, id), oldest change first;
        call with the lock held."""
        start = bisect.bisect_right(self._order, (updated_at, conversation_id))
        return [str(number) for _, number in self._order[start:]]

    # -- building ---------------------------------------------------------

    def populate(self, count: int, days: int = 90) -> None:
        """Add `count` conversations started over the last `days`, with history."""
        with self.lock:
            now = self.now()
            for _ in range(count):
                self._new(
                    now - self.rng.randint(3600, days * DAY), history_until=now - 60
                )

    def _new(self, created: int, history_until: int) -> Record:
        rng = self.rng
        number = 215470000 + len(self.conversations) + 1
        contact = f"663a1f0c2b9e5a{rng.randint(0, 10**9):010d}"
        conversation: Record = {
            "type": "conversation",
            "id": str(number),
            "title": None,
            "created_at": created,
            "updated_at": created,
            "waiting_since": created,
            "snoozed_until": None,
            "open": True,
            "state": "open",
            "read": False,
            "priority": rng.choice(("priority", "not_priority", "not_priority")),
            "admin_assignee_id": None,
            "team_assignee_id": None,
            "tags": {"type": "tag.list", "tags": []},
            "conversation_rating": None,
            "source": {
                "type": rng.choice(CHANNELS), "id": str(403900000 + number % 10**8),
                "delivered_as": "customer_initiated", "subject": "",
                "body": f"<p>{rng.choice(USER_LINES)}</p>",
                "author": {"type": "user", "id": contact, "name": None, "email": ""},
                "attachments": [], "url": None, "redacted": False,
            },
            "contacts": {"type": "contact.list",
                         "contacts": [{"type": "contact", "id": contact}]},
            "custom_attributes": {"issue_type": rng.choice(("Billing", "Bug", "How-to"))},
            "statistics": {
                "type": "conversation_statistics", "first_contact_reply_at": created,
                "first_admin_reply_at": None, "last_admin_reply_at": None,
                "first_close_at": None, "last_close_at": None, "count_reopens": 0,
                "count_conversation_parts": 0, "time_to_admin_reply": None,
            },
        }  # fmt: skip
        self.conversations[conversation["id"]] = conversation
        self.parts[conversation["id"]] = []
        bisect.insort(self._order, (created, number))

        moment = created
        for _ in range(rng.randint(0, 4)):
            moment += rng.randint(60, 6 * 3600)
            if moment > history_until:
                break
            self._comment(conversation, moment, admin=rng.random() < 0.6)
        if moment < history_until and rng.random() < 0.5:
            moment += rng.randint(60, 3600)
            if moment <= history_until:
                self._close(conversation, moment)
                if rng.random() < 0.4:
                    self._rate(conversation, moment)
        return conversation

    # -- changes ----------------------------------------------------------

    def _touch(self, conversation: Record, moment: int) -> None:
        number = int(conversation["id"])
        del self._order[
            bisect.bisect_left(self._order, (conversation["updated_at"], number))
        ]
        conversation["updated_at"] = max(moment, conversation["updated_at"])
        bisect.insort(self._order, (conversation["updated_at"], number))

    def _part(self, conversation: Record, moment: int, kind: str, author: Record,
              body: str | None) -> None:  # fmt: skip
        self.parts[conversation["id"]].append({
            "type": "conversation_part", "id": str(self._next_part), "part_type": kind,
            "body": body, "created_at": moment, "updated_at": moment,
            "notified_at": moment, "author": author, "attachments": [], "redacted": False,
        })  # fmt: skip
        self._next_part += 1
        conversation["statistics"]["count_conversation_parts"] += 1
        self._touch(conversation, moment)

    def _admin(self) -> Record:
        admin = self.admins[self.rng.choice(list(self.admins))]
        return {
            "type": "admin",
            "id": admin["id"],
            "name": admin["name"],
            "email": admin["email"],
        }

    def _comment(self, conversation: Record, moment: int, admin: bool) -> None:
        stats = conversation["statistics"]
        if admin:
            author = self._admin()
            stats["first_admin_reply_at"] = stats["first_admin_reply_at"] or moment
            stats["last_admin_reply_at"] = moment
            if stats["time_to_admin_reply"] is None:
                stats["time_to_admin_reply"] = moment - conversation["created_at"]
            conversation["waiting_since"] = None
        else:
            author = dict(conversation["source"]["author"])
            conversation["waiting_since"] = conversation["waiting_since"] or moment
        text = self.rng.choice(ADMIN_LINES if admin else USER_LINES)
        self._part(conversation, moment, "comment", author, f"<p>{text}</p>")

    def _close(self, conversation: Record, moment: int) -> None:
        if conversation["state"] == "closed":
            return
        stats = conversation["statistics"]
        stats["first_close_at"] = stats["first_close_at"] or moment
        stats["last_close_at"] = moment
        conversation.update(state="closed", open=False, snoozed_until=None)
        self._part(conversation, moment, "close", self._admin(), None)

    def _open(self, conversation: Record, moment: int) -> None:
        if conversation["state"] == "open":
            return
        if conversation["state"] == "closed":
            conversation["statistics"]["count_reopens"] += 1
        conversation.update(state="open", open=True, snoozed_until=None)
        self._part(conversation, moment, "open", self._admin(), None)

    def _rate(self, conversation: Record, moment: int) -> None:
        conversation["conversation_rating"] = {
            "rating": self.rng.randint(1, 5), "remark": None, "created_at": moment,
            "updated_at": moment, "contact": conversation["contacts"]["contacts"][0],
            "teammate": None,
        }  # fmt: skip
        self._touch(conversation, moment)

    def mutate(self, rng: random.Random | None = None) -> str:
        """Make one random change an inbox would make; return its name."""
        rng = rng or self.rng
        with self.lock:
            now = self.now()
            if not self.conversations or rng.random() < 0.08:
                self._new(now, history_until=now)
                return "create"
            conversation = rng.choice(list(self.conversations.values()))
            change = rng.choice(
                ("user_reply", "admin_reply", "note", "close", "open", "snooze",
                 "assign", "tag", "rate", "priority")
            )  # fmt: skip
            self._apply(change, conversation, now, rng)
            return change

    def _apply(
        self, change: str, conversation: Record, now: int, rng: random.Random
    ) -> None:
        if change in ("user_reply", "admin_reply"):
            self._comment(conversation, now, admin=change == "admin_reply")
        elif change == "note":
            self._part(
                conversation, now, "note", self._admin(), "<p>Internal: check logs</p>"
            )
        elif change == "close":
            self._close(conversation, now)
        elif change == "open":
            self._open(conversation, now)
        elif change == "snooze":
            conversation.update(state="snoozed", open=True, snoozed_until=now + 3600)
            self._part(conversation, now, "snoozed", self._admin(), None)
        elif change == "assign":
            conversation["admin_assignee_id"] = int(rng.choice(list(self.admins)))
            conversation["team_assignee_id"] = int(rng.choice(list(self.teams)))
            self._part(conversation, now, "assignment", self._admin(), None)
        elif change == "tag":
            name = rng.choice(TAGS)
            tags = conversation["tags"]["tags"]
            if name not in {tag["name"] for tag in tags}:
                tags.append(
                    {"type": "tag", "id": str(880000 + TAGS.index(name)), "name": name}
                )
            self._touch(conversation, now)
        elif change == "rate":
            self._rate(conversation, now)
        else:
            flip = {"priority": "not_priority", "not_priority": "priority"}
            conversation["priority"] = flip[conversation["priority"]]
            self._touch(conversation, now)

    def snapshot(self) -> tuple[dict[str, Record], dict[str, list[Record]]]:
        """Deep copies of conversations and their parts, taken atomically."""
        with self.lock:
            return copy.deepcopy(self.conversations), copy.deepcopy(self.parts)
