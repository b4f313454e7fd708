"""Flat message rows: one row per message, tied to its ticket by the ticket id."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from supportpulse.analytics.sentiment import sentiment
from supportpulse.errors import RecordError
from supportpulse.ingest.flat import FlatMapping, _identifier, _text
from supportpulse.ingest.timestamps import parse_optional_timestamp, parse_timestamp
from supportpulse.model import AUTHOR_ROLES, AuthorRole, Message

#: Canonical message field -> column names recognized without any mapping.
MESSAGE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": ("message_id", "id", "comment_id", "reply_id"),
    "ticket_external_id": ("ticket_id", "ticket", "case_id", "conversation_id"),
    "created_at": ("created_at", "sent_at", "posted_at", "created", "timestamp"),
    "updated_at": ("updated_at", "modified_at", "edited_at"),
    "author_role": ("author_role", "author_type", "sender_type", "role", "from"),
    "author_id": ("author_id", "author", "sender", "sender_id", "user_id"),
    "reply_to": ("reply_to", "in_reply_to", "parent_id", "in_response_to"),
    "body": ("body", "text", "message", "content", "comment"),
}  # fmt: skip
MESSAGE_REQUIRED = ("external_id", "ticket_external_id", "created_at", "author_role")

#: Author values many help desks use, beyond the canonical roles themselves.
ROLE_SYNONYMS: dict[str, AuthorRole] = {
    "user": "customer", "requester": "customer", "end-user": "customer",
    "end_user": "customer", "contact": "customer", "client": "customer",
    "staff": "agent", "admin": "agent", "support": "agent", "operator": "agent",
    "automation": "bot", "auto": "bot",
}  # fmt: skip


def detect_message_mapping(
    what: str, header: list[str], overrides: Mapping[str, str]
) -> FlatMapping:
    """The column each message field is read from; overrides win."""
    return FlatMapping.detect(
        what, header, overrides, synonyms=MESSAGE_SYNONYMS, required=MESSAGE_REQUIRED
    )


def message_record(
    fields: Mapping[str, Any],
    mapping: FlatMapping,
    source: str,
    zone: tzinfo,
    roles: Mapping[str, str],
) -> Message:
    """One message row as a message; `roles` maps the source's author values."""
    column = mapping.columns.get

    external_id = _identifier(fields, column("external_id"), "message id")
    ticket_id = _identifier(fields, column("ticket_external_id"), "ticket id")

    created_column = column("created_at") or "created_at"
    created = parse_timestamp(fields.get(created_column), zone, created_column)
    updated_column = column("updated_at")
    updated = (
        parse_optional_timestamp(fields.get(updated_column), zone, updated_column)
        if updated_column
        else None
    )

    role_column = column("author_role") or "author_role"
    said = _text(fields, role_column) or ""
    role = roles.get(said, said).lower()
    role = ROLE_SYNONYMS.get(role, role)
    if role not in AUTHOR_ROLES:
        raise RecordError(
            f"{role_column} '{said[:40]}' is not an author role; map it to one of "
            f"{', '.join(AUTHOR_ROLES)} under messages.roles"
        )

    body = _text(fields, column("body"))
    return Message(
        source=source,
        external_id=external_id,
        ticket_external_id=ticket_id,
        created_at=created,
        updated_at=updated or created,
        author_role=role,
        author_id=_text(fields, column("author_id")),
        reply_to=_text(fields, column("reply_to")),
        body=body,
        sentiment=sentiment(body) if body and role == "customer" else None,
        raw=dict(fields),
    )
