"""The synthetic history the read-side benchmarks load (bench/read.py, bench/studio_pages.py).

Shaped like the issue's: per 1,000,000 events, 200 projects, 20,000 assets, 200,000
versions, comments and decisions; plus one asset with a tree of 200 versions whose first
51 form a lineage chain of depth 50. Appended through the event store's batched append,
so the hash chain is real.
"""

from __future__ import annotations

import os
import random
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from events import domain  # noqa: F401  (registers every event type)
from events.assets import AssetCreated, VersionCreated
from events.db import normalise_url
from events.domain import stream_id
from events.projects import ComputeUsed, MemberRoleSet, ProjectCreated
from events.reviews import (
    CommentAdded,
    CommentResolved,
    DecisionRecorded,
    DecisionRevoked,
    VersionPinned,
)
from events.store import ANY, EventStore, Metadata, StreamAppend

POSTGRES_URL = os.environ.get("LINEAGE_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WORDS = ("fox", "owl", "heron", "otter", "lynx", "river", "forest", "snow", "dune", "neon",
         "city", "rain", "sunset", "dawn", "portrait", "poster", "banner", "teal", "amber",
         "crimson", "violet", "golden", "misty", "cinematic", "macro", "wide", "aerial",
         "studio", "soft", "hard", "light", "shadow", "glass", "paper", "clay", "bronze",
         "marble", "minimal", "bold", "retro", "modern", "summer", "winter", "autumn",
         "spring", "harbor", "market", "garden")
TAGS = ["campaign/summer-26/social", "campaign/summer-26/print", "campaign/autumn-26/ooh",
        "brand/core", "brand/seasonal/holiday", "product/shoes", "product/bags", "hero"]
USERS = [str(uuid.uuid4()) for _ in range(40)]
BATCH_EVENTS = 600


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def asset_history(rng: random.Random, project_id: str, n_versions: int, *,
                  chain: int = 0) -> tuple[StreamAppend, list[str]]:
    """One asset's stream: creation, versions (first ``chain`` in a line), comments,
    resolutions, decisions (some revoked), a pin. ~4.9 events per version."""
    asset_id = str(uuid.uuid4())
    events = [AssetCreated(asset_id=asset_id, project_id=project_id, name=words(rng, 2),
                           brief=words(rng, 8), tags=rng.sample(TAGS, 2))]
    ids, version_ids = [asset_id], []
    prompt = words(rng, 7)
    for n in range(n_versions):
        version_id = str(uuid.uuid4())
        if chain and n < chain:
            parents = version_ids[-1:]
        else:
            parents = [rng.choice(version_ids)] if version_ids and rng.random() < 0.6 else []
        final = n == n_versions - 1
        events.append(VersionCreated(
            version_id=version_id, asset_id=asset_id, author_id=rng.choice(USERS),
            operation="upscale" if final else ("img2img" if parents else "generate"),
            tier="final" if final else "draft", content_hash=uuid.uuid4().hex * 2,
            width=512, height=512, parent_ids=parents, cost_seconds=rng.uniform(1, 9),
            recipe={"prompt": prompt + " " + words(rng, 2), "seed": rng.randrange(2**31),
                    "model_id": rng.choice(("tiny-sd", "sdxl", "flux")), "steps": 20}))
        ids.append(version_id)
        version_ids.append(version_id)
        for _ in range(rng.choice((1, 2, 3, 4))):
            comment_id = str(uuid.uuid4())
            events.append(CommentAdded(comment_id=comment_id, version_id=version_id,
                                       author_id=rng.choice(USERS), body=words(rng, 6)))
            ids.append(comment_id)
            if rng.random() < 0.2:
                events.append(CommentResolved(comment_id=comment_id, version_id=version_id))
        if final or rng.random() < 0.15:
            decision_id = str(uuid.uuid4())
            events.append(DecisionRecorded(
                decision_id=decision_id, version_id=version_id,
                decision="approved" if final else "changes_requested",
                content_hash="0" * 64, reviewer_id=rng.choice(USERS), role="reviewer",
                channel="social"))
            ids.append(decision_id)
            if rng.random() < 0.05:
                events.append(DecisionRevoked(decision_id=decision_id, version_id=version_id,
                                              revoked_by=rng.choice(USERS), reason="bench"))
        if rng.random() < 0.05:
            pin_id = str(uuid.uuid4())
            events.append(VersionPinned(pin_id=pin_id, version_id=version_id, label="agreed",
                                        pinned_by=rng.choice(USERS)))
            ids.append(pin_id)
    return (StreamAppend(stream_id("asset", asset_id), "asset", ANY, events, ids),
            [asset_id, *version_ids])


def load(store: EventStore, total: int, seed: int = 7) -> dict:
    """Append about ``total`` events; returns ids the queries use."""
    rng = random.Random(seed)
    scale = total / 1_000_000
    n_projects = max(2, round(200 * scale))
    n_assets = max(4, round(20_000 * scale))
    projects = [str(uuid.uuid4()) for _ in range(n_projects)]
    pending, size = [], 0
    for project_id in projects:
        pending.append(StreamAppend(stream_id("project", project_id), "project", ANY,
                       [ProjectCreated(project_id=project_id, name=words(rng, 2))]
                       + [MemberRoleSet(user_id=u, role="reviewer") for u in USERS[:5]]))
    store.append_streams(pending, Metadata(actor_id=USERS[0]))
    big, big_ids = asset_history(rng, projects[0], 200, chain=51)
    store.append_streams([big], Metadata(actor_id=USERS[0]))
    pending, compute = [], {}

    def flush() -> None:
        # One append per project stream per transaction (its versions must not collide).
        pending.extend(StreamAppend(stream_id("project", project), "project", ANY, used)
                       for project, used in compute.items())
        store.append_streams(pending, Metadata(actor_id=rng.choice(USERS)))
        pending.clear()
        compute.clear()

    for n in range(n_assets):
        project_id = projects[n % n_projects]
        append, ids = asset_history(rng, project_id, 10)
        pending.append(append)
        size += len(append.events)
        if rng.random() < 0.3:
            compute.setdefault(project_id, []).append(ComputeUsed(
                job_id=str(uuid.uuid4()), asset_id=ids[0], seconds=30.0))
        if size >= BATCH_EVENTS:
            flush()
            size = 0
    if pending:
        flush()
    return {"project": projects[0], "big_asset": big_ids[0], "deep": big_ids[51],
            "versions": big_ids[1:]}


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'bench-read.db'}"


def postgres_url() -> tuple[str, callable]:
    schema = f"bench_read_{os.getpid()}"
    admin = create_engine(normalise_url(POSTGRES_URL))
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{normalise_url(POSTGRES_URL)}?options=-csearch_path%3D{schema}", drop
