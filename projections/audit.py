"""The audit log: who did what, when, with which role, on which exact content hash.

One row per domain event (token secrets never included). An approval's row also says
whether, when and by whom it was later revoked, so "who approved what" is one read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from events import assets, jobs, people, projects, reviews, templates
from events.store import Recorded
from events.types import Event
from projections.runner import ApplyContext, Projection
from projections.scopes import entity_id, project_of_stream, stream_kind
from projections.tables import audit_log, audit_members

SUBJECT_FIELDS = ("decision_id", "comment_id", "pin_id", "version_id", "job_id",
                  "template_id", "asset_id", "project_id", "token_id", "user_id")
HIDDEN_FIELDS = ("secret_hash",)
_DOMAIN_MODULES = (assets, jobs, people, projects, reviews, templates)


def _payload(evt: Event) -> dict[str, Any]:
    fields = getattr(evt, "__dataclass_fields__", {})
    return {name: getattr(evt, name) for name in fields if name not in HIDDEN_FIELDS}


def _summary(rec: Recorded, payload: dict[str, Any]) -> str:
    kind = rec.event_type
    if kind == "decision.recorded":
        channel = payload.get("channel") or "default"
        return (f"{payload['decision']} version {payload['version_id']} "
                f"({payload['content_hash'][:12]}) for {channel} as {payload['role']}")
    if kind == "decision.revoked":
        return f"revoked decision {payload['decision_id']}: {payload.get('reason', '')}"
    if kind == "version.created":
        return (f"created {payload['tier']} version {payload['version_id']} by "
                f"{payload['operation']} ({payload['content_hash'][:12]})")
    if kind == "project.member_role_set":
        return f"set {payload['user_id']} as {payload['role']}"
    subject = next((payload[f] for f in SUBJECT_FIELDS if payload.get(f)), None)
    return f"{kind} {subject}" if subject else kind


def _role_of(ctx: ApplyContext, project_id: str | None, actor_id: str | None) -> str | None:
    if project_id is None or actor_id is None:
        return None
    table = ctx.t("rm_audit_members")
    return ctx.conn.execute(select(table.c.role).where(
        table.c.project_id == project_id, table.c.user_id == actor_id)).scalar()


def _record(ctx: ApplyContext, rec: Recorded) -> None:
    payload = _payload(rec.event)
    project_id = project_of_stream(ctx.conn, rec.stream_id, ctx.cache)
    kind = stream_kind(rec.stream_id)
    asset_id = entity_id(rec.stream_id) if kind == "asset" else payload.get("asset_id")
    role = payload.get("role") if rec.event_type == "decision.recorded" else None
    ctx.conn.execute(insert(ctx.t("rm_audit_log")).values(
        position=rec.position, recorded_at=rec.recorded_at, project_id=project_id,
        asset_id=asset_id, stream_id=rec.stream_id, event_type=rec.event_type,
        actor_id=rec.actor_id, actor_role=role or _role_of(ctx, project_id, rec.actor_id),
        subject_id=next((payload[f] for f in SUBJECT_FIELDS if payload.get(f)), None),
        version_id=payload.get("version_id"), content_hash=payload.get("content_hash"),
        channel=payload.get("channel"), decision=payload.get("decision"),
        summary=_summary(rec, payload)[:2000], details=payload))
    follow_up = _FOLLOW_UPS.get(rec.event_type)
    if follow_up is not None:
        follow_up(ctx, rec, project_id)


def _member_role_set(ctx: ApplyContext, rec: Recorded, project_id: str | None) -> None:
    table = ctx.t("rm_audit_members")
    ctx.conn.execute(table.delete().where(table.c.project_id == project_id,
                                          table.c.user_id == rec.event.user_id))
    ctx.conn.execute(insert(table).values(project_id=project_id, user_id=rec.event.user_id,
                                          role=rec.event.role))


def _member_removed(ctx: ApplyContext, rec: Recorded, project_id: str | None) -> None:
    table = ctx.t("rm_audit_members")
    ctx.conn.execute(table.delete().where(table.c.project_id == project_id,
                                          table.c.user_id == rec.event.user_id))


def _decision_revoked(ctx: ApplyContext, rec: Recorded, _project_id: str | None) -> None:
    table = ctx.t("rm_audit_log")
    ctx.conn.execute(update(table).where(
        table.c.event_type == "decision.recorded",
        table.c.subject_id == rec.event.decision_id, table.c.revoked_at.is_(None),
    ).values(revoked_at=rec.recorded_at, revoked_by=rec.event.revoked_by,
             revoke_reason=rec.event.reason))


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


PROJECTION = Projection(
    name="audit",
    tables=(audit_log, audit_members),
    handlers={name: _record for name in _domain_event_types()},
)
