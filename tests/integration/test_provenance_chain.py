"""Provenance of a deep lineage chain, on SQLite and PostgreSQL: the document says what
reading the log step by step says (each version's stream, each job, each person read one
at a time), and the reads it takes do not grow with the chain's depth."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

import pytest

from commands.users import create_user, get_user
from events.assets import VersionCreated
from events.errors import NotFound
from events.jobs import JobRequested, JobStarted
from events.reviews import CommentAdded, DecisionRecorded, VersionPinned
from events.store import ANY, EventStore, Metadata, StreamAppend
from interchange.provenance import version_provenance
from tests.integration.asset_support import World, make_world

DEPTH = 30
PIN_EVERY = 10


class CountingStore(EventStore):
    """The event store, counting the queries that read events."""

    reads = 0

    def _raw_select(self, query: str, params: list) -> list[tuple]:
        self.reads += 1
        return super()._raw_select(query, params)


@pytest.fixture
def counting_store(engine) -> CountingStore:
    return CountingStore(engine)


@dataclasses.dataclass
class Chain:
    world: World
    version_ids: list[str]
    """Root first; the last is at depth DEPTH."""
    off_chain: str
    """A sibling of the chain's middle step, with a comment of its own."""


def _step(store: EventStore, world: World, parent: str | None, author: str, *,
          pinned: bool = False) -> str:
    """A job requested, started twice (a retry) and its version, with a comment and a
    decision on the version, and a pin when ``pinned``."""
    version_id, job_id = str(uuid.uuid4()), str(uuid.uuid4())
    job_stream, meta = f"job-{job_id}", Metadata(actor_id=author)
    store.append(job_stream, ANY, [JobRequested(
        job_id=job_id, kind="edit", project_id=world.project_id, asset_id=world.asset_id,
        requested_by=author, input_version_id=parent)], meta, stream_type="job")
    for attempt in (1, 2):
        store.append(job_stream, ANY, [JobStarted(job_id=job_id, worker="w", attempt=attempt)],
                     meta, stream_type="job")
    comment_id, decision_id = str(uuid.uuid4()), str(uuid.uuid4())
    recorded = [
        VersionCreated(version_id=version_id, asset_id=world.asset_id, author_id=author,
                       operation="img2img" if parent else "generate", tier="draft",
                       content_hash=uuid.uuid4().hex * 2, width=64, height=64,
                       recipe={"prompt": "fox", "seed": 7, "model_weights_hash": "w" * 64},
                       parent_ids=[parent] if parent else [], job_id=job_id,
                       cost_seconds=1.5),
        CommentAdded(comment_id=comment_id, version_id=version_id, author_id=author,
                     body=f"about {version_id}"),
        DecisionRecorded(decision_id=decision_id, version_id=version_id,
                         decision="changes_requested", content_hash="0" * 64,
                         reviewer_id=world.ann.user_id, role="admin"),
    ]
    entity_ids = [version_id, comment_id, decision_id]
    if pinned:
        pin_id = str(uuid.uuid4())
        recorded.append(VersionPinned(pin_id=pin_id, version_id=version_id, label="agreed",
                                      pinned_by=author))
        entity_ids.append(pin_id)
    store.append_streams([StreamAppend(f"asset-{world.asset_id}", "asset", ANY, recorded,
                                       tuple(entity_ids))], meta)
    return version_id


def _deep_chain(store: EventStore) -> Chain:
    world = make_world(store)
    # Ids nobody registered (never remembered, so read on every request) and registered
    # people, each writing several steps.
    people = [f"unregistered-{n}" for n in range(3)]
    people += [create_user(store, f"person {n}")[0].user_id for n in range(4)]
    version_ids: list[str] = []
    for depth in range(DEPTH + 1):
        parent = version_ids[-1] if version_ids else None
        version_ids.append(_step(store, world, parent, people[depth % len(people)],
                                 pinned=depth % PIN_EVERY == 0))
    off_chain = _step(store, world, version_ids[DEPTH // 2], people[0])
    return Chain(world, version_ids, off_chain)


@dataclasses.dataclass
class StepByStep:
    chain: list[VersionCreated]
    recorded_at: dict[str, datetime]
    started_at: dict[str, datetime]
    comments: set[str]


def _read_step_by_step(store: EventStore, version_id: str) -> StepByStep:
    """The chain as the route used to read it: locate and read each version's stream,
    then each job's stream, one query at a time."""
    versions: dict[str, VersionCreated] = {}
    recorded_at: dict[str, datetime] = {}
    comments: dict[str, str] = {}
    chain, current = [], version_id
    while current is not None:
        for recorded in store.read_stream(store.locate(current)):
            event = recorded.event
            if isinstance(event, VersionCreated):
                versions[event.version_id] = event
                recorded_at[event.version_id] = recorded.recorded_at
            elif isinstance(event, CommentAdded):
                comments[event.comment_id] = event.version_id
        chain.append(versions[current])
        current = chain[-1].parent_ids[0] if chain[-1].parent_ids else None
    chain.reverse()
    started_at = {}
    for version in chain:
        starts = [r.recorded_at for r in store.read_stream(f"job-{version.job_id}")
                  if isinstance(r.event, JobStarted)]
        started_at[version.version_id] = starts[-1]
    on_chain = {version.version_id for version in chain}
    return StepByStep(chain, recorded_at, started_at,
                      {f"comment:{c}" for c, v in comments.items() if v in on_chain})


def _name(store: EventStore, user_id: str) -> str:
    try:
        return get_user(store, user_id).name
    except NotFound:
        return user_id


def test_provenance_of_a_deep_chain_says_what_reading_it_step_by_step_says(store):
    chain = _deep_chain(store)
    tip = chain.version_ids[-1]

    document = version_provenance(store, chain.world.ann, tip)

    expected = _read_step_by_step(store, tip)
    assert [v.version_id for v in expected.chain] == chain.version_ids
    steps = [key for key in document["activity"] if key.startswith("step:")]
    assert steps == [f"step:{version_id}" for version_id in chain.version_ids]
    for version in expected.chain:
        step = document["activity"][f"step:{version.version_id}"]
        assert step["prov:endTime"]["$"] == expected.recorded_at[version.version_id].isoformat()
        assert step["prov:startTime"]["$"] == \
            expected.started_at[version.version_id].isoformat()
        assert step["lineage:jobId"] == version.job_id
    images = [f"img:{version.content_hash}" for version in expected.chain]
    derivations = [(r["prov:generatedEntity"], r["prov:usedEntity"])
                   for r in document["wasDerivedFrom"].values()]
    assert derivations == list(zip(images[1:], images[:-1], strict=True))
    assert {key for key in document["entity"] if key.startswith("comment:")} == \
        expected.comments
    decisions = [key for key in document["activity"] if key.startswith("decision:")]
    assert len(decisions) == DEPTH + 1
    pinned = {entity["lineage:versionId"] for entity in document["entity"].values()
              if "lineage:pins" in entity}
    assert pinned == set(chain.version_ids[::PIN_EVERY])
    people = {key.removeprefix("user:"): agent["prov:label"]
              for key, agent in document["agent"].items() if key.startswith("user:")}
    authors = {version.author_id for version in expected.chain} | {chain.world.ann.user_id}
    assert set(people) == authors
    assert people == {user_id: _name(store, user_id) for user_id in authors}
    assert "person 0" in people.values() and "unregistered-0" in people


def test_provenance_reads_do_not_grow_with_the_depth_of_the_chain(counting_store):
    store = counting_store
    chain = _deep_chain(store)

    def reads(version_id: str) -> int:
        before = store.reads
        version_provenance(store, chain.world.ann, version_id)
        return store.reads - before

    shallow, deep = chain.version_ids[2], chain.version_ids[-1]
    reads(shallow), reads(deep)  # the process has folded the asset and project once

    assert reads(deep) == reads(shallow) <= 5
