"""What a running Lineage holds: settings, database engine, event store, blob store."""

from __future__ import annotations

import dataclasses
from functools import cached_property

from sqlalchemy import Engine

from app.config import Settings
from app.cursors import load_or_create_key
from events import domain  # noqa: F401  (registers every event type before any read)
from events.db import make_engine
from events.store import EventStore


@dataclasses.dataclass
class Services:
    settings: Settings
    engine: Engine
    store: EventStore

    @cached_property
    def blobs(self):  # noqa: ANN201 - imaging.blobs.BlobStore
        from imaging.blobs import BlobStore  # heavy-free, but keeps app import light

        return BlobStore(self.settings.blob_dir)

    @cached_property
    def thumbnails(self):  # noqa: ANN201 - workers.thumbnail_cache.ThumbnailCache
        from workers.thumbnail_cache import ThumbnailCache  # as blobs: keeps app import light

        return ThumbnailCache(self.settings.data_dir / "thumbnails")

    @cached_property
    def cursor_key(self) -> bytes:
        """The key list cursors are signed with (``<data dir>/cursor-key``)."""
        return load_or_create_key(self.settings.data_dir)

    def close(self) -> None:
        self.engine.dispose()


def build_services(settings: Settings) -> Services:
    """Connect lazily: creating the engine opens no connection."""
    engine = make_engine(settings.database_url)
    return Services(settings=settings, engine=engine, store=EventStore(engine))
