"""One Alembic history creates every table on SQLite and PostgreSQL, and round-trips."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, inspect, text

from events.db import make_engine, normalise_url
from events.migrate import current_revision, downgrade, upgrade
from events.store import EventStore, Metadata
from events.verify import verify_chain
from projections.registry import PROJECTIONS
from projections.runner import create_storage
from projections.tables import NEXT_SUFFIX, physical_tables
from tests.conftest import BACKENDS, POSTGRES_URL, service_missing
from tests.integration.test_event_store import NoteAdded


@pytest.fixture(params=BACKENDS)
def empty_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(POSTGRES_URL))
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        service_missing("PostgreSQL", exc)
    engine = make_engine(f"{normalise_url(POSTGRES_URL)}?options=-csearch_path%3D{schema}")
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_upgrade_from_empty_creates_a_working_store(empty_engine):
    assert current_revision(empty_engine) is None

    upgrade(empty_engine)

    tables = set(inspect(empty_engine).get_table_names())
    assert {"events", "event_head", "event_commands", "entity_streams"} <= tables
    store = EventStore(empty_engine)
    store.append("s-1", 0, [NoteAdded(text="first")], Metadata(actor_id="u"),
                 stream_type="test")
    assert verify_chain(empty_engine).ok
    upgrade(empty_engine)  # idempotent
    assert store.head().position == 1


def test_downgrade_to_base_and_upgrade_again_round_trips(empty_engine):
    upgrade(empty_engine)
    head = current_revision(empty_engine)

    downgrade(empty_engine, "base")
    assert current_revision(empty_engine) is None
    assert "events" not in inspect(empty_engine).get_table_names()

    upgrade(empty_engine)
    assert current_revision(empty_engine) == head
    store = EventStore(empty_engine)
    store.append("s-1", 0, [NoteAdded(text="again")], stream_type="test")
    assert store.head().position == 1


def test_migrated_read_models_have_the_shape_a_replay_creates(empty_engine):
    """The frozen revisions build exactly what projections/tables.py (and the full-text
    extra storage) describe: a replay's next generation, created beside the migrated
    tables, has the same tables, columns, keys and indexes. A table change without a
    migration (or a migration without the table change) fails here."""
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        for projection in PROJECTIONS:
            create_storage(conn, projection,
                           physical_tables(projection.tables, NEXT_SUFFIX))

    shapes = _read_model_shapes(empty_engine)

    live = {name: shape for name, shape in shapes.items() if NEXT_SUFFIX not in name}
    replayed = {name.replace(NEXT_SUFFIX, ""): shape for name, shape in shapes.items()
               if NEXT_SUFFIX in name}
    assert {t.name for p in PROJECTIONS for t in p.tables} <= set(live)
    assert live == replayed


def _read_model_shapes(engine) -> dict:  # noqa: ANN001
    """Per ``rm_*`` table: columns (name, type, nullable), primary key, and indexes
    (columns, unique, access method); index names differ per generation and are left out."""
    inspector = inspect(engine)
    shapes = {}
    for name in inspector.get_table_names():
        if not name.startswith("rm_"):
            continue
        columns = [(c["name"], str(c["type"]), c["nullable"])
                   for c in inspector.get_columns(name)]
        key = inspector.get_pk_constraint(name)["constrained_columns"]
        indexes = sorted((tuple(i["column_names"]), bool(i["unique"]),
                          i.get("dialect_options", {}).get("postgresql_using", "btree"))
                         for i in inspector.get_indexes(name))
        shapes[name] = (columns, key, indexes)
    return shapes


def test_0011_gives_existing_projects_the_position_that_created_them(empty_engine):
    """Lists of projects page by creation from the read table: projects listed before
    0011 get their creating event's position from the log, in order."""
    from events.domain import stream_id
    from events.projects import ProjectCreated

    upgrade(empty_engine, "0009")
    store = EventStore(empty_engine)
    created = [store.append(stream_id("project", f"p{n}"), 0,
                            [ProjectCreated(project_id=f"p{n}", name=f"P{n}")],
                            stream_type="project")[0].position for n in range(3)]
    with empty_engine.begin() as conn:
        for n in range(3):
            conn.execute(text("INSERT INTO rm_projects (project_id, name, description, "
                              "created_at) VALUES (:p, :n, '', CURRENT_TIMESTAMP)"),
                         {"p": f"p{n}", "n": f"P{n}"})

    upgrade(empty_engine, "0011")  # 0013 empties the access tables for the runner to refill

    with empty_engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT project_id, position FROM rm_projects")).all())
    assert rows == {f"p{n}": position for n, position in enumerate(created)}


def test_0013_refills_the_access_tables_so_projects_read_their_settings(empty_engine):
    """Projects listed before 0013 lack policies, channels, compute used and their stream
    version: the access tables are emptied and the runner refills them from the log."""
    from events.domain import stream_id
    from events.projects import (
        ChannelSet,
        ComputeUsed,
        MemberRoleSet,
        PoliciesSet,
        ProjectCreated,
    )
    from projections.access import project_of
    from projections.registry import make_runner

    upgrade(empty_engine, "0012")
    store = EventStore(empty_engine)
    store.append(stream_id("project", "p"), 0, [
        ProjectCreated(project_id="p", name="P"), MemberRoleSet(user_id="b", role="viewer"),
        MemberRoleSet(user_id="a", role="admin"), MemberRoleSet(user_id="b", role="creator"),
        ChannelSet(name="web", min_width=64, min_height=32),
        PoliciesSet(final_render_cap=3), ComputeUsed(job_id="j", asset_id="x", seconds=1.5),
    ], stream_type="project")
    with empty_engine.begin() as conn:  # what the access projection had written by 0012
        conn.execute(text("INSERT INTO rm_projects (project_id, name, description, "
                          "created_at, position) VALUES ('p', 'P', '', CURRENT_TIMESTAMP, 1)"))
        for user, role in (("a", "admin"), ("b", "creator")):
            conn.execute(text("INSERT INTO rm_members VALUES ('p', :u, :r)"),
                         {"u": user, "r": role})
        conn.execute(text("INSERT INTO subscription_checkpoints VALUES "
                          "('access', 7, CURRENT_TIMESTAMP)"))

    upgrade(empty_engine)
    make_runner(empty_engine).catch_up(["access"])

    project, version = project_of(empty_engine, "p")
    assert version == 7 and project["version"] == 7
    assert project["members"] == [{"user_id": "b", "role": "creator"},
                                  {"user_id": "a", "role": "admin"}]
    assert project["channels"] == [{"name": "web", "min_width": 64, "min_height": 32}]
    assert project["policies"]["final_render_cap"] == 3
    assert project["policies"]["price_currency"] is None
    assert project["compute_used_seconds"] == 1.5


def test_0016_keeps_every_event_and_only_the_indexes_reads_use(empty_engine):
    """The append writes one b-tree page per index: after 0016 the log keeps its rows,
    chain and version check, with the stream-version key and the type index only."""
    from events.errors import ConcurrencyError

    upgrade(empty_engine, "0015")
    store = EventStore(empty_engine)
    for n in range(5):
        store.append(f"s-{n}", 0, [NoteAdded(text=f"{n}a"), NoteAdded(text=f"{n}b")],
                     stream_type="test")

    upgrade(empty_engine)

    store = EventStore(empty_engine)
    assert [r.event.text for r in store.read_all()] == [
        f"{n}{x}" for n in range(5) for x in "ab"]
    assert verify_chain(empty_engine).ok
    inspector = inspect(empty_engine)
    indexes = {(tuple(i["column_names"]), bool(i["unique"]))
               for i in inspector.get_indexes("events")}
    indexes |= {(tuple(u["column_names"]), True)
                for u in inspector.get_unique_constraints("events")}
    assert indexes == {(("stream_id", "stream_version"), True),
                       (("event_type", "position"), False)}
    with pytest.raises(ConcurrencyError):
        store.append("s-0", 0, [NoteAdded(text="again")], stream_type="test")
    assert store.append("s-0", 2, [NoteAdded(text="0c")], stream_type="test")[0].position == 11
    assert verify_chain(empty_engine).ok


def test_0017_and_0019_keep_the_backlog_leaving_superseded_and_decided_versions_out(
        empty_engine):
    """Versions written before 0017 name their parents only in JSON: 0017 fills the
    "made from" edges from them, and 0019 turns edges and standing decisions into counts
    on each version, so a dashboard's backlog still leaves out what was made from (v1 ->
    v2, and v3 from v2 twice) and what was decided (v4 approved; v5's decision revoked):
    only v3 and v5 wait."""
    from datetime import UTC, datetime

    from projections.backlog import review_backlog

    upgrade(empty_engine, "0016")
    with empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO rm_assets (asset_id, project_id, name, brief, tags, "
                          "created_by, created_at, position) VALUES ('a', 'p', 'Poster', '', "
                          "'[]', 'u', CURRENT_TIMESTAMP, 1)"))
        for n, parents in ((1, "[]"), (2, '["v1"]'), (3, '["v2", "v2"]'), (4, "[]"),
                           (5, "[]")):
            conn.execute(text(
                "INSERT INTO rm_versions (version_id, asset_id, project_id, parent_ids, "
                "operation, tier, author_id, content_hash, width, height, recipe, note, "
                "cost_seconds, created_at, position, depth) VALUES (:v, 'a', 'p', :parents, "
                "'generate', 'draft', 'u', 'h', 64, 64, '{}', '', 0, CURRENT_TIMESTAMP, :n, "
                ":depth)"), {"v": f"v{n}", "parents": parents, "n": n + 1, "depth": n - 1})

        for n, revoked in ((4, None), (5, "CURRENT_TIMESTAMP")):
            conn.execute(text(
                "INSERT INTO rm_review_decisions (decision_id, version_id, asset_id, decision, "
                "content_hash, reviewer_id, role, note, decided_at, position, revoked_at) "
                f"VALUES (:d, :v, 'a', 'approved', 'h', 'r', 'reviewer', '', CURRENT_TIMESTAMP, "
                f":n, {revoked or 'NULL'})"), {"d": f"d{n}", "v": f"v{n}", "n": 10 + n})

    upgrade(empty_engine, "0017")
    with empty_engine.connect() as conn:
        edges = conn.execute(text("SELECT version_id, parent_id, project_id FROM "
                                  "rm_version_parents ORDER BY version_id")).all()
    assert [tuple(e) for e in edges] == [("v2", "v1", "p"), ("v3", "v2", "p")]
    edges = [tuple(e) for e in edges]

    upgrade(empty_engine)

    with empty_engine.connect() as conn:
        backlog = review_backlog(conn, "p", datetime.now(UTC))
    assert [entry["version_id"] for entry in backlog] == ["v3", "v5"]

    downgrade(empty_engine, "0018")  # the edges come back from the parent lists
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT version_id, parent_id, project_id FROM "
                                 "rm_version_parents ORDER BY version_id")).all() == edges


def test_0018_refills_the_access_tables_so_removed_channels_are_read_from_a_table(empty_engine):
    """Channels removed before 0018 are in the log only: the access tables are emptied
    and the runner refills them, each removal and the channel set again included."""
    from events.domain import stream_id
    from events.projects import ChannelRemoved, ChannelSet, MemberRoleSet, ProjectCreated
    from projections.access import project_of, removed_channels
    from projections.registry import make_runner

    upgrade(empty_engine, "0017")
    store = EventStore(empty_engine)
    project = stream_id("project", "p")
    store.append(project, 0, [
        ProjectCreated(project_id="p", name="P"), MemberRoleSet(user_id="a", role="admin"),
        ChannelSet(name="web", min_width=8, min_height=8),
        ChannelSet(name="print", min_width=8, min_height=8),
        ChannelRemoved(name="web"), ChannelRemoved(name="print")], stream_type="project")
    between = store.read_stream(project)[-1].recorded_at
    store.append(project, 6, [ChannelSet(name="print", min_width=9, min_height=9)],
                 stream_type="project")
    with empty_engine.begin() as conn:  # what the access projection had written by 0017
        conn.execute(text("INSERT INTO rm_projects (project_id, name, description, "
                          "created_at, position, channels, stream_version) VALUES "
                          "('p', 'P', '', CURRENT_TIMESTAMP, 1, '{\"print\": {}}', 7)"))
        conn.execute(text("INSERT INTO subscription_checkpoints VALUES "
                          "('access', 7, CURRENT_TIMESTAMP)"))

    upgrade(empty_engine)
    make_runner(empty_engine).catch_up(["access"])

    with empty_engine.connect() as conn:
        assert removed_channels(conn, "p") == {"web"}
        assert removed_channels(conn, "p", between) == {"web", "print"}
    assert [c["name"] for c in project_of(empty_engine, "p")[0]["channels"]] == ["print"]


def test_0019_fills_the_front_pages_and_boards_summaries_from_the_read_tables(empty_engine):
    """Assets and versions made before 0019 are counted from rm_assets and rm_versions,
    so the front page's counts (and which projects show covers) and the board's version
    counts and newest versions do not wait for a replay."""
    from projections.board import asset_cards, projects_overview

    upgrade(empty_engine, "0018")
    with empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO rm_projects (project_id, name, description, created_at) "
                          "VALUES ('p', 'P', '', CURRENT_TIMESTAMP), "
                          "('q', 'Q', '', CURRENT_TIMESTAMP)"))
        for n, project in enumerate(("p", "q", "p"), start=1):
            conn.execute(text(
                "INSERT INTO rm_assets (asset_id, project_id, name, brief, tags, created_by, "
                "created_at, position) VALUES (:a, :p, :a, '', '[]', 'u', CURRENT_TIMESTAMP, "
                ":n)"), {"a": f"a{n}", "p": project, "n": n})
        for n, tier in enumerate(("draft", "final", "draft"), start=1):
            conn.execute(text(
                "INSERT INTO rm_versions (version_id, asset_id, project_id, parent_ids, "
                "operation, tier, author_id, content_hash, width, height, recipe, note, "
                "cost_seconds, created_at, position, depth) VALUES (:v, 'a1', 'p', '[]', "
                "'generate', :tier, 'u', 'h', 64, 64, '{}', '', 0, CURRENT_TIMESTAMP, :n, 0)"),
                {"v": f"v{n}", "tier": tier, "n": 10 + n})

    upgrade(empty_engine)

    with empty_engine.connect() as conn:
        overview = projects_overview(conn, "admin", True, shown=1)
        cards = asset_cards(conn, ["a1", "a3"], [])
    assert [(p["name"], p["assets"], p["covers"] is not None) for p in overview] == [
        ("P", 2, True), ("Q", 1, False)]
    assert [(c["name"], c["counts"], (c["newest"] or {}).get("version_id")) for c in cards] == [
        ("a1", {"draft": 2, "final": 1}, "v3"), ("a3", {"draft": 0, "final": 0}, None)]
