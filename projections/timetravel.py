"""The reference answer "as of" a moment: fold one asset's stream, up to that moment,
through the very apply functions of the live projections into a private in-memory
database, where the same query functions run.

The routes answer ``as_of`` from the live tables' bitemporal rows (fast); tests check
those answers against this fold at every moment of a history.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import StaticPool

from events.domain import stream_id
from events.errors import NotFound
from events.store import EventStore
from projections import review_state, version_tree
from projections.runner import ApplyContext, apply_events, create_storage

FOLDED = (version_tree.PROJECTION, review_state.PROJECTION)


@contextlib.contextmanager
def asset_as_of(store: EventStore, asset_id: str, as_of: datetime) -> Iterator[Connection]:
    """A connection to an in-memory database holding the asset's tree and review state
    as recorded up to ``as_of``. Raises NotFound when the asset did not exist then."""
    history = store.read_stream(stream_id("asset", asset_id), as_of=as_of)
    if not history:
        raise NotFound(f"asset {asset_id} did not exist at {as_of.isoformat()}")
    engine = create_engine("sqlite://", poolclass=StaticPool)
    try:
        with engine.begin() as conn:
            for projection in FOLDED:
                create_storage(conn, projection, projection.live_tables)
                apply_events(ApplyContext(conn, projection.live_tables, {}), projection,
                             history)
            yield conn
    finally:
        engine.dispose()
