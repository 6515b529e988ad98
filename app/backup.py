"""Online backup and restore of the embedded default: the SQLite database and the blobs.

The database is copied first with SQLite's online backup API (a consistent snapshot while
the server keeps writing), the blobs after it: a blob is always stored before the event
that names it is committed, so every blob the snapshot refers to is already on disk.
PostgreSQL deployments use pg_dump / pg_basebackup instead (see README).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from events.db import make_engine
from events.verify import verify_chain

DB_NAME = "lineage.db"


@dataclasses.dataclass(frozen=True)
class BackupReport:
    events: int
    blobs: int
    destination: Path


def sqlite_path(database_url: str) -> Path:
    """The file of a SQLite URL; ValueError for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise ValueError("lineage backup handles the embedded SQLite database; use pg_dump "
                         "for PostgreSQL")
    return Path(url.database)


def backup(database_url: str, blob_dir: Path, destination: Path) -> BackupReport:
    """Write ``destination/lineage.db`` and ``destination/blobs``; the directory must be
    new or empty. Raises FileExistsError otherwise."""
    source = sqlite_path(database_url)
    destination.mkdir(parents=True, exist_ok=True)
    if any(destination.iterdir()):
        raise FileExistsError(f"{destination} is not empty")
    partial = destination / (DB_NAME + ".partial")
    with sqlite3.connect(source) as src, sqlite3.connect(partial) as dst:
        src.backup(dst)
    os.replace(partial, destination / DB_NAME)
    blobs = _copy_blobs(blob_dir, destination / "blobs")
    events = verify_chain(make_engine(f"sqlite:///{destination / DB_NAME}")).checked
    return BackupReport(events, blobs, destination)


def restore(source: Path, database_url: str, blob_dir: Path, *, force: bool = False) -> int:
    """Restore a backup made by :func:`backup`; returns the number of events verified.

    Refuses to overwrite an existing database unless ``force``; verifies the restored
    hash chain and raises ValueError if it does not hold.
    """
    target = sqlite_path(database_url)
    backup_db = source / DB_NAME
    if not backup_db.is_file():
        raise FileNotFoundError(f"{backup_db} does not exist")
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    partial = target.with_name(target.name + ".partial")
    with sqlite3.connect(backup_db) as src, sqlite3.connect(partial) as dst:
        src.backup(dst)
    os.replace(partial, target)
    _copy_blobs(source / "blobs", blob_dir)
    engine = make_engine(f"sqlite:///{target}")
    try:
        report = verify_chain(engine)
    finally:
        engine.dispose()
    if not report.ok:
        raise ValueError(f"restored log does not verify at position {report.first_bad_position}"
                         f": {report.reason}")
    return report.checked


def _copy_blobs(source: Path, destination: Path) -> int:
    """Copy content-addressed files that are missing at the destination (temp + rename)."""
    copied = 0
    if not source.is_dir():
        return 0
    for path in source.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        target = destination / path.relative_to(source)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name("." + target.name + ".partial")
        shutil.copyfile(path, temporary)
        os.replace(temporary, target)
        copied += 1
    return copied
