"""Reading the audit log: filters, position cursor, CSV/JSON export."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, false, or_, select

from events.store import utc
from projections.common import iso
from projections.tables import audit_log, users

EDIT_OPERATIONS = ("img2img", "inpaint", "outpaint", "upscale", "adjust")
TYPE_WORDS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "approved": ("decision.recorded", "decision", ("approved",)),
    "changes_requested": ("decision.recorded", "decision", ("changes_requested",)),
    "rejected": ("decision.recorded", "decision", ("rejected",)),
    "revoked": ("decision.revoked", None, ()),
    "commented": ("comment.added", None, ()),
    "generated": ("version.created", "operation", ("generate",)),
    "edited": ("version.created", "operation", EDIT_OPERATIONS),
    "uploaded": ("version.created", "operation", ("upload",)),
    "pinned": ("version.pinned", None, ()),
}
"""The words people filter the audit by: word → (event type, payload field, values)."""


def type_choices(event_types: list[str]) -> list[str]:
    """Every accepted ``type`` filter: the words, each event type and each type's area
    ("decision" matches every decision.* type)."""
    areas = {name.partition(".")[0] for name in event_types}
    return [*TYPE_WORDS, *sorted(areas), *sorted(event_types)]


EXPORT_COLUMNS = ("position", "recorded_at", "project_id", "asset_id", "event_type",
                  "actor_id", "actor_name", "actor_role", "subject_id", "subject_name",
                  "version_id", "content_hash", "channel", "decision", "summary", "revoked",
                  "revoked_at", "revoked_by", "revoked_by_name", "revoke_reason")


@dataclasses.dataclass(frozen=True, kw_only=True)
class AuditQuery:
    """``projects`` None means every project and also events outside projects (admins)."""

    projects: list[str] | None
    asset: str | None = None
    actor: str | None = None
    event_type: str | None = None
    """An event type, a type's area ("decision") or one of TYPE_WORDS ("approved")."""
    since: datetime | None = None
    until: datetime | None = None
    after: int = 0
    limit: int = 100


def _select(query: AuditQuery):  # noqa: ANN202 - a SQLAlchemy Select
    """The entries with the names of the people they mention (actor, revoker, and the
    subject when it is a user), read from the access projection's users."""
    a = audit_log
    actor, revoker, subject = users.alias("actor"), users.alias("revoker"), users.alias("subject")
    stmt = (select(a, actor.c.name.label("actor_name"), revoker.c.name.label("revoked_by_name"),
                   subject.c.name.label("subject_name"))
            .select_from(a.outerjoin(actor, actor.c.user_id == a.c.actor_id)
                         .outerjoin(revoker, revoker.c.user_id == a.c.revoked_by)
                         .outerjoin(subject, subject.c.user_id == a.c.subject_id))
            .where(a.c.position > query.after))
    if query.projects is not None:
        stmt = stmt.where(a.c.project_id.in_(query.projects) if query.projects else false())
    if query.asset is not None:
        stmt = stmt.where(a.c.asset_id == query.asset)
    if query.actor is not None:
        stmt = stmt.where(a.c.actor_id == query.actor)
    if query.event_type in TYPE_WORDS:
        event_type, field, values = TYPE_WORDS[query.event_type]
        stmt = stmt.where(a.c.event_type == event_type)
        if field == "decision":
            stmt = stmt.where(a.c.decision.in_(values))
        elif field is not None:
            stmt = stmt.where(a.c.details[field].as_string().in_(values))
    elif query.event_type is not None:
        # "decision" matches every decision.* type; "decision.recorded" only itself.
        stmt = stmt.where(or_(a.c.event_type == query.event_type,
                              a.c.event_type.startswith(query.event_type + ".")))
    if query.since is not None:
        stmt = stmt.where(a.c.recorded_at >= utc(query.since))
    if query.until is not None:
        stmt = stmt.where(a.c.recorded_at <= utc(query.until))
    return stmt.order_by(a.c.position)


def _entry(row: Any) -> dict[str, Any]:
    return {
        "position": row["position"], "recorded_at": iso(row["recorded_at"]),
        "project_id": row["project_id"], "asset_id": row["asset_id"],
        "stream_id": row["stream_id"], "event_type": row["event_type"],
        "actor_id": row["actor_id"], "actor_name": row["actor_name"],
        "actor_role": row["actor_role"], "subject_id": row["subject_id"],
        "subject_name": row["subject_name"], "version_id": row["version_id"],
        "content_hash": row["content_hash"], "channel": row["channel"],
        "decision": row["decision"], "summary": row["summary"],
        "revoked": row["revoked_at"] is not None, "revoked_at": iso(row["revoked_at"]),
        "revoked_by": row["revoked_by"], "revoked_by_name": row["revoked_by_name"],
        "revoke_reason": row["revoke_reason"],
        "details": row["details"],
    }


def audit_entries(conn: Connection, query: AuditQuery) -> dict[str, Any]:
    """One page of entries in log order; ``next_after`` is the cursor for the next page
    (None on the last page)."""
    rows = conn.execute(_select(query).limit(query.limit + 1)).mappings().all()
    entries = [_entry(row) for row in rows[: query.limit]]
    more = len(rows) > query.limit
    return {"items": entries, "next_after": entries[-1]["position"] if more else None}


def iter_entries(conn: Connection, query: AuditQuery, page: int = 1000,
                 ) -> Iterator[dict[str, Any]]:
    """Every matching entry, page by page (for exports)."""
    after = query.after
    while True:
        rows = conn.execute(_select(dataclasses.replace(query, after=after)).limit(page)
                            ).mappings().all()
        for row in rows:
            yield _entry(row)
        if len(rows) < page:
            return
        after = rows[-1]["position"]


def export_csv(entries: Iterator[dict[str, Any]]) -> Iterator[str]:
    """CSV text chunks: a header, then one line per entry (details as JSON)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow((*EXPORT_COLUMNS, "details"))
    yield _drain(buffer)
    for entry in entries:
        writer.writerow([_csv_value(entry[c]) for c in EXPORT_COLUMNS]
                        + [json.dumps(entry["details"], sort_keys=True)])
        yield _drain(buffer)


def export_json(entries: Iterator[dict[str, Any]]) -> Iterator[str]:
    """A JSON array, streamed entry by entry."""
    yield "["
    for number, entry in enumerate(entries):
        yield ("," if number else "") + json.dumps(entry, sort_keys=True)
    yield "]"


EXPORT_CHUNK = 64 * 1024
"""Characters an export gathers before sending them: a chunk per entry cost the server a
write (and the WSGI stack a pass) per line of a project's history."""


def joined(chunks: Iterator[str], size: int = EXPORT_CHUNK) -> Iterator[str]:
    """``chunks`` gathered into pieces of at least ``size`` characters (the last may be
    shorter): the same text, streamed in fewer, larger writes."""
    gathered: list[str] = []
    length = 0
    for chunk in chunks:
        gathered.append(chunk)
        length += len(chunk)
        if length >= size:
            yield "".join(gathered)
            gathered, length = [], 0
    if gathered:
        yield "".join(gathered)


def _csv_value(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # keep spreadsheet apps from running a cell as a formula
    return "" if value is None else value


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
