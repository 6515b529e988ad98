"""What a studio day plans and what its users share while playing it."""

from __future__ import annotations

import dataclasses
import random
import threading
from collections import deque
from typing import Any

from bench.studio_users import Studio

# The day's planned counts at --scale 1 (the studio day).
DAY = {"drafts": 5000, "edits": 500, "comments": 20000, "decisions": 2000,
       "searches": 4000, "tree_reads": 4000, "other_reads": 2000}
ASSETS_AT_SCALE_1 = 100

@dataclasses.dataclass(frozen=True)
class Plan:
    """What one run offers: counts (already scaled), users, projects, assets, rate."""

    counts: dict[str, int]
    users: int = 50
    projects: int = 5
    assets: int = 100
    rate: float = 20.0
    max_backlog: int = 24
    seconds: float = 1800.0

    @classmethod
    def scaled(cls, scale: float, **options: Any) -> Plan:  # noqa: ANN401
        """The issue's day times ``scale`` (at least one of each planned count)."""
        counts = {kind: max(1, round(n * scale)) for kind, n in DAY.items()}
        projects = options.pop("projects", 5)
        assets = max(projects, round(ASSETS_AT_SCALE_1 * scale))
        return cls(counts=counts, projects=projects, assets=assets, **options)


class World:
    """What the users share: remaining counts, the versions they can see, their jobs."""

    def __init__(self, plan: Plan, studio: Studio) -> None:
        self.plan = plan
        self.studio = studio
        self.remaining = dict(plan.counts)
        self.done = dict.fromkeys(plan.counts, 0)
        self.versions: dict[str, list[tuple[str, str]]] = {p: [] for p in studio.projects}
        self.sources: dict[str, list[tuple[str, str]]] = {p: [] for p in studio.projects}
        self.comments: dict[str, deque[str]] = {}
        self.backlog = 0
        self.jobs_seen: set[str] = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def take(self, kind: str, most: int = 1) -> int:
        """Reserve up to ``most`` of ``kind``; the number reserved (0: none left)."""
        with self.lock:
            got = min(most, self.remaining[kind])
            self.remaining[kind] -= got
            return got

    def give_back(self, kind: str, count: int) -> None:
        with self.lock:
            self.remaining[kind] += count

    def count_done(self, kind: str, count: int) -> None:
        with self.lock:
            self.done[kind] += count

    def exhausted(self) -> bool:
        return all(n == 0 for n in self.remaining.values())

    def take_jobs(self, kind: str, most: int) -> int:
        """Reserve up to ``most`` of ``kind`` (drafts or edits) AND as many places in
        the job backlog, so concurrent users cannot overshoot ``max_backlog``."""
        with self.lock:
            room = self.plan.max_backlog - self.backlog
            got = max(0, min(most, self.remaining[kind], room))
            self.remaining[kind] -= got
            self.backlog += got
            return got

    def release_jobs(self, kind: str, count: int) -> None:
        """Undo :meth:`take_jobs` for a request that was not accepted."""
        with self.lock:
            self.remaining[kind] += count
            self.backlog -= count

    def add_jobs(self, job_ids: list[str]) -> None:
        with self.lock:
            self.jobs_seen.update(job_ids)

    def job_finished(self, project_id: str, asset_id: str, version_ids: list[str],
                     generated: bool) -> None:
        with self.lock:
            self.backlog -= 1
            for version_id in version_ids:
                self.versions[project_id].append((asset_id, version_id))
                if generated:
                    self.sources[project_id].append((asset_id, version_id))

    def pick_version(self, project_id: str, rng: random.Random, *, source: bool = False,
                     ) -> tuple[str, str] | None:
        pool = (self.sources if source else self.versions)[project_id]
        if not pool:
            return None
        # Half the attention goes to the newest work, as in a review session.
        recent = pool[-20:] if rng.random() < 0.5 else pool
        return rng.choice(recent)
