"""What a read request costs the database (counted statements, never times): each read
route reads the store head once, with ``min_position`` or without, and still reports a
head no lower than the position it answers from."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from projections.registry import make_runner
from tests.e2e.conftest import png_bytes


@contextlib.contextmanager
def head_reads(engine) -> Iterator[list[str]]:
    """The statements run on ``engine`` meanwhile that read the store's head row."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if "event_head" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("wait", [False, True])
def test_each_read_route_reads_the_head_once(api, wait):
    project = api.project()
    asset = api.asset(project)
    version = api.upload(asset, png_bytes())
    # Caught up beforehand: a wait that catches projections up reads the log (and its
    # head) to apply events, which is not the route's own overhead.
    make_runner(api.services.engine).catch_up()
    query = f"?min_position={api.head()}" if wait else ""
    paths = [f"/api/assets/{asset}/tree", f"/api/assets/{asset}/review",
             f"/api/versions/{version['version_id']}/lineage", f"/api/projects/{project}/metrics",
             f"/api/projects/{project}/taxonomy", "/api/search", "/api/audit"]
    for path in paths:
        with head_reads(api.services.engine) as seen:
            response = api.admin.get(path + query)
        assert response.status_code == 200, (path, response.get_json())
        assert len(seen) == 1, (path, seen)
        freshness = response.get_json()["projection"]
        assert freshness["head"] >= freshness["position"]
        if wait:
            assert freshness == {"position": api.head(), "head": api.head(), "behind": 0}
