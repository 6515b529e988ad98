"""Plumbing of the guided demo (app/demo_story.py tells the story): an app on a data dir,
its HTTP conversation, in-process jobs and the narration.

A project with a draft-first policy; 12 draft variations; a reviewer's comment on a
region and a change request; a promotion to final; an inpaint and an outpaint; an
upscale for the social channel; an approval and a pin; then "what did we agree at time
T" answered by time travel, the audit of who approved what, a rebuild that comes back
bit-exact, a re-bake with one changed prompt, and the hash-chain check.

Every call goes through the Flask app (its test client: the same routes, auth, schemas
and error mapping a server runs), jobs run in this process on the configured model
(builtin:sketch at its own size and steps; 64x64 in 2 steps when the tests point it at
builtin:tiny), and the read side catches up on demand (``?min_position=``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app import create_app
from app.config import Settings
from app.services import build_services
from commands.jobs import load_job
from commands.users import create_user
from events.migrate import upgrade
from workers import promotion as _registers_promotion_jobs  # noqa: F401 - the promote kind
from workers import rebuild as _registers_rebuild_jobs  # noqa: F401 - rebuild/rebake kinds
from workers.job_runner import COMPLETED, JobContext, run_job


class DemoFailed(RuntimeError):
    """A step of the story did not answer as expected (the message says which)."""


class Person:
    def __init__(self, name: str, token: str, user_id: str) -> None:
        self.name, self.token, self.user_id = name, token, user_id


class Story:
    """The HTTP conversation and the narration."""

    def __init__(self, data_dir: Path, say: Callable[[str], None], base_url: str) -> None:
        os.environ.setdefault("LINEAGE_DATA_DIR", str(data_dir))  # where the tiny model lives
        self.say = say
        self.base_url = base_url.rstrip("/")
        settings = Settings.from_env(data_dir=data_dir, broker_url=None,
                                     database_url=f"sqlite:///{data_dir / 'lineage.db'}")
        data_dir.mkdir(parents=True, exist_ok=True)
        self.services = build_services(settings)
        self.data_dir = data_dir
        upgrade(self.services.engine)
        self.client = create_app(services=self.services).test_client()
        self.context = JobContext(self.services.store, self.services.blobs)
        self.step_number = 0
        self.started = time.perf_counter()
        self.position = 0

    # -- talking to the API ---------------------------------------------------------

    def call(self, who: Person, method: str, path: str, expect: int = 200,
             **kwargs: Any) -> Any:  # noqa: ANN401
        response = self.client.open(path, method=method,
                                    headers={"Authorization": f"Bearer {who.token}"}, **kwargs)
        if response.status_code != expect:
            raise DemoFailed(f"{method} {path} answered {response.status_code}, not {expect}: "
                             f"{response.get_data(as_text=True)[:500]}")
        position = response.headers.get("Lineage-Position")
        if position:
            self.position = max(self.position, int(position))
        return response.get_json() if response.is_json else response.get_data()

    def read(self, who: Person, path: str) -> Any:  # noqa: ANN401
        """A read-side GET that first catches up with everything written so far."""
        separator = "&" if "?" in path else "?"
        return self.call(who, "GET", f"{path}{separator}min_position={self.position}")

    def run_jobs(self, body: dict[str, Any]) -> list[str]:
        """Run the jobs a 202 answer names (as a worker would); the versions they made."""
        job_ids = [body["job_id"]] if "job_id" in body else [j["job_id"] for j in body["jobs"]]
        versions: list[str] = []
        for job_id in job_ids:
            outcome = run_job(self.context, job_id, worker="demo")
            state, _, _ = load_job(self.services.store, job_id)
            if outcome != COMPLETED:
                raise DemoFailed(f"job {job_id} did not complete: {state.error}")
            versions += state.version_ids
        self.position = self.services.store.head().position
        return versions

    # -- narration -----------------------------------------------------------------

    def step(self, text: str) -> None:
        self.step_number += 1
        elapsed = time.perf_counter() - self.started
        self.say(f"\n{self.step_number}. [{elapsed:5.1f} s] {text}")

    def detail(self, text: str) -> None:
        self.say(f"   {text}")

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


def create_users(story: Story) -> dict[str, Person]:
    """Ana (global admin, art director), Ben (designer) and Rita (brand reviewer), each
    with an API token."""
    people = {}
    for key, name, admin in (("ana", "Ana (art director)", True),
                             ("ben", "Ben (designer)", False),
                             ("rita", "Rita (brand reviewer)", False)):
        user, token = create_user(story.services.store, name, is_admin=admin)
        people[key] = Person(name, token.token, user.user_id)
    return people
