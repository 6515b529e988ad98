"""Ephemeral progress of running jobs (step i of n): one row per job, overwritten in place.

Progress is not an event: it only says how far a running attempt got, is worthless once
the job finished, and would flood the log. Workers write it; GET /api/jobs/{id} reads it.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from events.db import write_transaction
from events.schema import job_progress
from events.store import utc


@dataclasses.dataclass(frozen=True)
class Progress:
    step: int
    total: int
    worker: str
    updated_at: datetime


def write_progress(engine: Engine, job_id: str, step: int, total: int, worker: str) -> None:
    """Insert or overwrite the job's progress row."""
    now = datetime.now(UTC)
    if engine.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
        insert = sqlite.insert
    else:
        insert = postgresql.insert
    values = {
        "job_id": job_id,
        "step": step,
        "total": total,
        "worker": worker[:120],
        "updated_at": now,
    }
    statement = insert(job_progress).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[job_progress.c.job_id],
        set_={k: v for k, v in values.items() if k != "job_id"},
    )
    with write_transaction(engine) as conn:
        conn.execute(statement)


def read_progress(engine: Engine, job_id: str) -> Progress | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(
                job_progress.c.step,
                job_progress.c.total,
                job_progress.c.worker,
                job_progress.c.updated_at,
            ).where(job_progress.c.job_id == job_id)
        ).first()
    if row is None:
        return None
    return Progress(row.step, row.total, row.worker, utc(row.updated_at))


def clear_progress(engine: Engine, job_id: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(delete(job_progress).where(job_progress.c.job_id == job_id))
