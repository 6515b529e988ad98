"""The audit log: who did what, when, with which role, on which exact content hash.

One row per domain event (token secrets never included). An approval's row also says
whether, when and by whom it was later revoked, so "who approved what" is one read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update

from events import assets, guests, jobs, projects, reviews, signin, templates, users
from events.store import Recorded
from events.types import Event, encode
from projections.runner import ApplyContext, Projection
from projections.scopes import entity_id, project_of_stream, stream_kind
from projections.tables import audit_log, audit_members
from rules.approvals import channel_key

SUBJECT_FIELDS = ("decision_id", "comment_id", "pin_id", "version_id", "job_id",
                  "template_id", "asset_id", "link_id", "project_id", "token_id", "user_id")
HIDDEN_FIELDS = ("secret_hash",)
_DOMAIN_MODULES = (assets, guests, jobs, projects, reviews, signin, templates, users)


_VISIBLE_FIELDS: dict[type[Event], tuple[str, ...]] = {}


def _payload(evt: Event) -> dict[str, Any]:
    """The event's payload without HIDDEN_FIELDS, in field order: one dict built per
    event (every domain event has an audit row) instead of encoding then filtering."""
    names = _VISIBLE_FIELDS.get(type(evt))
    if names is None:
        names = tuple(name for name in encode(evt) if name not in HIDDEN_FIELDS)
        _VISIBLE_FIELDS[type(evt)] = names
    fields = evt.__dict__
    return {name: fields[name] for name in names}


def _subject(payload: dict[str, Any]) -> Any:  # noqa: ANN401
    """The id the event is mainly about: the first of SUBJECT_FIELDS it carries."""
    return next((payload[f] for f in SUBJECT_FIELDS if payload.get(f)), None)


def _summary(rec: Recorded, payload: dict[str, Any], subject: Any) -> str:  # noqa: ANN401
    kind = rec.event_type
    if kind == "decision.recorded":
        channel = channel_key(payload.get("channel"))
        return (f"{payload['decision']} version {payload['version_id']} "
                f"({payload['content_hash'][:12]}) for {channel} as {payload['role']}")
    if kind == "decision.revoked":
        return f"revoked decision {payload['decision_id']}: {payload.get('reason', '')}"
    if kind == "version.created":
        return (f"created {payload['tier']} version {payload['version_id']} by "
                f"{payload['operation']} ({payload['content_hash'][:12]})")
    if kind == "project.member_role_set":
        return f"set {payload['user_id']} as {payload['role']}"
    return f"{kind} {subject}" if subject else kind


def _roles(ctx: ApplyContext) -> dict[tuple[str, str], str]:
    """(project, user) → role, loaded once per batch (members are few; reading them one
    by one would break up the batched inserts)."""
    roles = ctx.batch.get("audit-roles")
    if roles is None:
        table = ctx.t("rm_audit_members")
        rows = ctx.conn.execute(select(table.c.project_id, table.c.user_id, table.c.role))
        roles = ctx.batch["audit-roles"] = {(p, u): r for p, u, r in rows}
    return roles


def _record(ctx: ApplyContext, rec: Recorded) -> None:
    payload = _payload(rec.event)
    subject = _subject(payload)
    project_id = project_of_stream(ctx, rec.stream_id,
                                   rec.event if rec.stream_version == 1 else None)
    kind = stream_kind(rec.stream_id)
    asset_id = entity_id(rec.stream_id) if kind == "asset" else payload.get("asset_id")
    role = payload.get("role") if rec.event_type == "decision.recorded" else None
    if role is None and project_id is not None and rec.actor_id is not None:
        role = _roles(ctx).get((project_id, rec.actor_id))
    ctx.insert("rm_audit_log", {
        "position": rec.position, "recorded_at": rec.recorded_at, "project_id": project_id,
        "asset_id": asset_id, "stream_id": rec.stream_id, "event_type": rec.event_type,
        "actor_id": rec.actor_id, "actor_role": role,
        "subject_id": subject,
        "version_id": payload.get("version_id"), "content_hash": payload.get("content_hash"),
        "channel": payload.get("channel"), "decision": payload.get("decision"),
        "summary": _summary(rec, payload, subject)[:2000], "details": payload, "revoked_at": None,
        "revoked_by": None, "revoke_reason": None})
    follow_up = _FOLLOW_UPS.get(rec.event_type)
    if follow_up is not None:
        follow_up(ctx, rec, project_id)


def _member_role_set(ctx: ApplyContext, rec: Recorded, project_id: str | None) -> None:
    table = ctx.t("rm_audit_members")
    user_id = rec.event.user_id
    _roles(ctx)[(project_id, user_id)] = rec.event.role
    ctx.conn.execute(table.delete().where(table.c.project_id == project_id,
                                          table.c.user_id == user_id))
    ctx.insert("rm_audit_members", {"project_id": project_id, "user_id": user_id,
                                    "role": rec.event.role})


def _member_removed(ctx: ApplyContext, rec: Recorded, project_id: str | None) -> None:
    table = ctx.t("rm_audit_members")
    _roles(ctx).pop((project_id, rec.event.user_id), None)
    ctx.conn.execute(table.delete().where(table.c.project_id == project_id,
                                          table.c.user_id == rec.event.user_id))


def _decision_revoked(ctx: ApplyContext, rec: Recorded, _project_id: str | None) -> None:
    statement = ctx.statement("rm_audit_log", "revoke", lambda t: update(t).where(
        t.c.event_type == "decision.recorded", t.c.subject_id == bindparam("b_id"),
        t.c.revoked_at.is_(None)).values(revoked_at=bindparam("b_at"),
                                         revoked_by=bindparam("b_by"),
                                         revoke_reason=bindparam("b_reason")))
    ctx.queue("rm_audit_log", statement, {
        "b_id": rec.event.decision_id, "b_at": rec.recorded_at,
        "b_by": rec.event.revoked_by, "b_reason": rec.event.reason})


_FOLLOW_UPS = {
    "project.member_role_set": _member_role_set,
    "project.member_removed": _member_removed,
    "decision.revoked": _decision_revoked,
}


def _domain_event_types() -> list[str]:
    names = []
    for module in _DOMAIN_MODULES:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Event) and value.type_name \
                    and value.__module__ == module.__name__:
                names.append(value.type_name)
    return sorted(names)


AUDIT_EVENT_TYPES = _domain_event_types()
"""Every event type the audit records (the values of its ``type`` filter)."""

PROJECTION = Projection(
    name="audit",
    tables=(audit_log, audit_members),
    handlers={name: _record for name in AUDIT_EVENT_TYPES},
)
