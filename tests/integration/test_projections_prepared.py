"""Prepared statements store exactly what SQLAlchemy's own execution would store."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select, text, update

from projections.prepared import Prepared
from projections.tables import NEXT_SUFFIX, audit_log, physical_tables

ROWS = [
    {"position": 1, "recorded_at": datetime(2026, 5, 1, 14, 5, 7, 123456, tzinfo=UTC),
     "project_id": "p", "asset_id": None, "stream_id": "asset-a",
     "event_type": "decision.recorded", "actor_id": "u", "actor_role": "reviewer",
     "subject_id": "d1", "version_id": "v", "content_hash": "0" * 64, "channel": None,
     "decision": "approved", "summary": "approved 100%", "revoked_at": None,
     "revoked_by": None, "revoke_reason": None,
     "details": {"ünïcode": "✓", "list": [1, 2.5, None], "nested": {"a": True}}},
    {"position": 2, "recorded_at": datetime(2026, 5, 1, 14, 6, tzinfo=UTC),
     "project_id": None, "asset_id": None, "stream_id": "user-u", "event_type": "x",
     "actor_id": None, "actor_role": None, "subject_id": None, "version_id": None,
     "content_hash": None, "channel": None, "decision": None, "summary": "x",
     "details": None, "revoked_at": None, "revoked_by": None, "revoke_reason": None},
]
# The same time object again (events of one append share it), then a different one.
ROWS.append({**ROWS[1], "position": 3, "recorded_at": ROWS[0]["recorded_at"]})
ROWS.append({**ROWS[1], "position": 4, "details": {"a": 1}})


def stored(conn, table) -> list[tuple]:  # noqa: ANN001
    """Rows as the driver returns them (no SQLAlchemy result processing)."""
    columns = ", ".join(f'"{c.name}"' for c in table.c)
    return [tuple(row) for row in conn.exec_driver_sql(
        f'SELECT {columns} FROM "{table.name}" ORDER BY position')]


def test_prepared_insert_and_update_store_what_sqlalchemy_stores(engine):
    reference = audit_log
    prepared_table = physical_tables([audit_log], NEXT_SUFFIX)["rm_audit_log"]
    revoke = {"b_id": "d1", "b_at": datetime(2026, 5, 2, tzinfo=UTC), "b_by": "boss"}
    with engine.begin() as conn:
        conn.execute(text(f'DROP TABLE IF EXISTS "{prepared_table.name}"'))
        prepared_table.create(conn)
        conn.execute(insert(reference), ROWS)
        Prepared.table_insert(prepared_table, conn.dialect).run(conn, ROWS)  # COPY on PG

        for table, prepared in ((reference, False), (prepared_table, True)):
            # Literals in the statement ("decision.recorded", a None) are filled in too.
            statement = update(table).where(
                table.c.event_type == "decision.recorded",
                table.c.subject_id == bindparam("b_id")).values(
                revoked_at=bindparam("b_at"), revoked_by=bindparam("b_by"),
                revoke_reason=None)
            if prepared:
                Prepared(statement, conn.dialect).run(conn, [revoke])
            else:
                conn.execute(statement, [revoke])

        assert stored(conn, prepared_table) == stored(conn, reference)
        assert conn.execute(select(prepared_table.c.details).order_by(
            prepared_table.c.position)).scalars().all() == [
            ROWS[0]["details"], None, None, {"a": 1}]
        assert conn.execute(select(prepared_table.c.revoked_by).order_by(
            prepared_table.c.position)).scalars().all() == ["boss", None, None, None]
        conn.execute(text(f'DROP TABLE "{prepared_table.name}"'))
