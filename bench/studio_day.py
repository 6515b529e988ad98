"""The load driver: a studio day played by simulated users against a running API.

Setup (recorded as phase ``setup``): a global admin creates the users; each project's
lead creates the project, a ``social`` channel, the memberships and the assets. The day
(phase ``day``): every user is a thread with their own token and their roles, taking
request slots from one :class:`Pacer` (the offered load) until every planned count is
used up or the deadline passes. Creators draft (``variations`` batches of 64x64, 4-step
drafts) and edit; creators and reviewers comment; reviewers decide; everyone searches
and reads trees, versions, lineage and review state throughout. Users poll their own
jobs (GET /api/jobs/{id}) and only comment on, decide on or edit versions a completed
job gave them, as a person would. New jobs wait while ``max_backlog`` jobs are
unfinished, so the workers' queue (and the drain afterwards) stays bounded.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import deque
from typing import Any

from bench.studio_http import Client, Pacer, Recorder
from bench.studio_users import ROLES_BY_KIND, Member, Studio, setup_studio
from bench.studio_world import Plan, World

POLL_INTERVAL_SECONDS = 3.0
IDLE_SLEEP_SECONDS = 0.05
NOUNS = ("fox", "lighthouse", "bottle", "sneaker", "mountain", "robot", "teacup", "city",
         "forest", "whale", "bicycle", "perfume", "guitar", "desert", "owl")
ADJECTIVES = ("red", "misty", "neon", "golden", "minimal", "vintage", "glossy", "stormy")
STYLES = ("studio lighting", "watercolour", "35mm film", "flat illustration", "isometric")
REMARKS = ("warmer please", "crop tighter", "love the light", "logo too small",
           "background is busy", "try a lower angle", "this one!", "colour is off",
           "more contrast", "client will like this", "soften the shadows")


class User(threading.Thread):
    """One simulated person: their client, memberships, and pending jobs."""

    def __init__(self, member: Member, client: Client, world: World, pacer: Pacer,
                 deadline: float, seed: int) -> None:
        super().__init__(name=f"user-{member.name}", daemon=True)
        self.member = member
        self.client = client
        self.world = world
        self.pacer = pacer
        self.deadline = deadline
        self.rng = random.Random(seed)
        self.pending: deque[tuple[str, str, str, bool]] = deque()
        """(job id, project id, asset id, is a generation) of this user's unfinished jobs."""
        self.last_poll = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        self.client.phase = "day"
        try:
            while time.monotonic() < self.deadline and not self.world.stop.is_set():
                if not self._turn():
                    if self.world.exhausted() and not self.pending:
                        return
                    time.sleep(IDLE_SLEEP_SECONDS)
        except BaseException as exc:  # noqa: BLE001 - reported by the driver
            self.error = exc
        finally:
            self.client.close()

    # -- choosing ---------------------------------------------------------------------

    def _turn(self) -> bool:
        """Take one action; False when there was nothing this user could do now."""
        now = time.monotonic()
        if self.pending and now - self.last_poll >= POLL_INTERVAL_SECONDS:
            self.last_poll = now
            self.pacer.wait()
            self._poll()
            return True
        choices = self._choices()
        if not choices:
            return False
        kinds = list(choices)
        kind = self.rng.choices(kinds, [self.world.remaining[k] for k in kinds])[0]
        project = self.rng.choice(choices[kind])
        self.pacer.wait()
        return getattr(self, f"_do_{kind}")(project)

    def _choices(self) -> dict[str, list[str]]:
        """What this user could do now (kinds with planned work left), each with the
        projects where their role allows it and where there is something to act on."""
        world = self.world
        can_job = world.backlog < world.plan.max_backlog
        choices = {}
        for kind, minimum in ROLES_BY_KIND.items():
            if world.remaining[kind] <= 0 or (kind in ("drafts", "edits") and not can_job):
                continue
            projects = self.member.projects_for(minimum)
            if kind == "edits":
                projects = [p for p in projects if world.sources[p]]
            elif kind in ("comments", "decisions"):
                projects = [p for p in projects if world.versions[p]]
            if projects:
                choices[kind] = projects
        return choices

    # -- writes -----------------------------------------------------------------------

    def _do_drafts(self, project: str) -> bool:
        count = self.world.take_jobs("drafts", self.rng.randint(4, 8))
        if not count:
            return False
        asset = self.rng.choice(self.world.studio.assets[project])
        body = {"prompt": _prompt(self.rng), "width": 64, "height": 64, "steps": 4,
                "variations": count, "tier": "draft"}
        reply = self.client.write("POST", f"/api/assets/{asset}/generations",
                                  "POST /api/assets/{id}/generations", body)
        if not reply.ok:
            self.world.release_jobs("drafts", count)
            return True
        self._track(reply.body, project, asset, generated=True)
        self.world.count_done("drafts", count)
        return True

    def _do_edits(self, project: str) -> bool:
        picked = self.world.pick_version(project, self.rng, source=True)
        if picked is None or not self.world.take_jobs("edits", 1):
            return False
        asset, version = picked
        reply = self.client.write("POST", f"/api/versions/{version}/edits",
                                  "POST /api/versions/{id}/edits", _edit(self.rng))
        if not reply.ok:
            self.world.release_jobs("edits", 1)
            return True
        self._track(reply.body, project, asset, generated=False)
        self.world.count_done("edits", 1)
        return True

    def _do_comments(self, project: str) -> bool:
        picked = self.world.pick_version(project, self.rng)
        if picked is None or not self.world.take("comments"):
            return False
        _, version = picked
        body: dict[str, Any] = {"body": self.rng.choice(REMARKS)}
        thread = self.world.comments.get(version)
        if thread and self.rng.random() < 0.2:
            body["parent_comment_id"] = self.rng.choice(thread)
        elif self.rng.random() < 0.15:
            body["region"] = {"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5}
        reply = self.client.write("POST", f"/api/versions/{version}/comments",
                                  "POST /api/versions/{id}/comments", body)
        if not reply.ok:
            self.world.give_back("comments", 1)
            return True
        comment_id = reply.body.get("comment_id") if isinstance(reply.body, dict) else None
        if comment_id:
            with self.world.lock:
                self.world.comments.setdefault(version, deque(maxlen=20)).append(comment_id)
        self.world.count_done("comments", 1)
        return True

    def _do_decisions(self, project: str) -> bool:
        picked = self.world.pick_version(project, self.rng)
        if picked is None or not self.world.take("decisions"):
            return False
        _, version = picked
        decision = self.rng.choices(("approved", "changes_requested", "rejected"),
                                    (4, 4, 2))[0]
        body: dict[str, Any] = {"decision": decision, "note": self.rng.choice(REMARKS)}
        if decision == "approved" and self.rng.random() < 0.5:
            body["channel"] = "social"
        reply = self.client.write("POST", f"/api/versions/{version}/decisions",
                                  "POST /api/versions/{id}/decisions", body)
        if not reply.ok:
            self.world.give_back("decisions", 1)
            return True
        self.world.count_done("decisions", 1)
        return True

    def _track(self, body: Any, project: str, asset: str, *, generated: bool) -> None:  # noqa: ANN401
        jobs = [job["job_id"] for job in (body or {}).get("jobs", [])]
        self.world.add_jobs(jobs)
        self.pending.extend((job, project, asset, generated) for job in jobs)

    # -- reads ------------------------------------------------------------------------

    def _poll(self) -> None:
        job_id, project, asset, generated = self.pending[0]
        reply = self.client.get(f"/api/jobs/{job_id}", "GET /api/jobs/{id}")
        if not reply.ok or not isinstance(reply.body, dict):
            return
        if reply.body.get("status") in ("completed", "failed"):
            self.pending.popleft()
            self.last_poll = 0.0  # jobs finish roughly in order: look at the next one now
            self.world.job_finished(project, asset, reply.body.get("version_ids") or [],
                                    generated)

    def _read(self, kind: str, path: str, route: str) -> bool:
        if not self.world.take(kind):
            return False
        self.client.get(path, route)
        self.world.count_done(kind, 1)
        return True

    def _do_searches(self, project: str) -> bool:
        params = [f"q={self.rng.choice(NOUNS)}", "limit=20"]
        if self.rng.random() < 0.6:
            params.append(f"project={project}")
        if self.rng.random() < 0.2:
            params.append("facets=true")
        if self.rng.random() < 0.2:
            params.append("tier=draft")
        return self._read("searches", "/api/search?" + "&".join(params), "GET /api/search")

    def _do_tree_reads(self, project: str) -> bool:
        asset = self.rng.choice(self.world.studio.assets[project])
        return self._read("tree_reads", f"/api/assets/{asset}/tree", "GET /api/assets/{id}/tree")

    def _do_other_reads(self, project: str) -> bool:
        picked = self.world.pick_version(project, self.rng)
        choice = self.rng.random()
        if picked is None or choice < 0.25:
            asset = self.rng.choice(self.world.studio.assets[project])
            return self._read("other_reads", f"/api/assets/{asset}/review",
                              "GET /api/assets/{id}/review")
        asset, version = picked
        if choice < 0.6:
            return self._read("other_reads", f"/api/versions/{version}",
                              "GET /api/versions/{id}")
        return self._read("other_reads", f"/api/versions/{version}/lineage",
                          "GET /api/versions/{id}/lineage")


def _prompt(rng: random.Random) -> str:
    return (f"a {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} on a {rng.choice(NOUNS)}, "
            f"{rng.choice(STYLES)}")


def _edit(rng: random.Random) -> dict[str, Any]:
    operation = rng.choices(("img2img", "adjust", "inpaint", "upscale"), (4, 2, 2, 2))[0]
    if operation == "img2img":
        return {"operation": "img2img", "strength": 0.6, "steps": 4,
                "prompt": _prompt(rng)}
    if operation == "adjust":
        return {"operation": "adjust", "adjustments": {"brightness": 1.1, "contrast": 1.2}}
    if operation == "inpaint":
        return {"operation": "inpaint", "steps": 4,
                "region": {"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5}}
    return {"operation": "upscale", "scale": 2, "steps": 4}


@dataclasses.dataclass
class DayResult:
    recorder: Recorder
    world: World
    day_seconds: float
    setup_seconds: float
    errors: list[str]


def play_day(host: str, port: int, admin_token: str, plan: Plan, *, seed: int = 7,
             progress_every: float = 30.0) -> DayResult:
    """Set up the studio, then play the day until done or ``plan.seconds`` pass.

    Returns what was recorded. Raises RuntimeError when the setup fails.
    """
    recorder = Recorder()
    started = time.monotonic()
    studio = setup_studio(host, port, admin_token, plan, recorder, random.Random(seed))
    _wait_until_visible(host, port, admin_token, studio, recorder)
    setup_seconds = time.monotonic() - started
    world = World(plan, studio)
    pacer = Pacer(plan.rate)
    deadline = time.monotonic() + plan.seconds
    users = [User(member, Client(host, port, recorder, token=member.token,
                                 user_id=member.user_id, name=member.name),
                  world, pacer, deadline, seed * 1000 + index)
             for index, member in enumerate(studio.members)]
    day_started = time.monotonic()
    for user in users:
        user.start()
    try:
        _wait_for(users, world, recorder, progress_every)
    finally:
        world.stop.set()  # also on Ctrl-C: users stop taking turns
    day_seconds = time.monotonic() - day_started
    errors = [f"{u.member.name}: {type(u.error).__name__}: {u.error}" for u in users
              if u.error is not None]
    return DayResult(recorder, world, day_seconds, setup_seconds, errors)


def _wait_until_visible(host: str, port: int, token: str, studio: Studio, recorder: Recorder,
                        timeout: float = 60.0) -> None:
    """Read with ``?min_position=`` until the read side shows everything set up, so the
    day starts from a studio everyone can see (as after a night's work)."""
    position = max(int(w["position"]) for w in recorder.accepted if w.get("position"))
    asset = studio.assets[studio.projects[-1]][-1]
    client = Client(host, port, recorder, token=token, name="admin")
    deadline = time.monotonic() + timeout
    try:
        for path, route in ((f"/api/assets/{asset}/tree", "GET /api/assets/{id}/tree"),
                            ("/api/search?limit=1", "GET /api/search")):
            while True:
                reply = client.get(f"{path}{'&' if '?' in path else '?'}min_position={position}",
                                   route)
                seen = reply.header("Lineage-Projection-Position") or "0"
                if reply.ok and int(seen) >= position:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the read side did not reach position {position} "
                                       f"within {timeout:.0f} s")
    finally:
        client.close()


def _wait_for(users: list[User], world: World, recorder: Recorder, every: float) -> None:
    """Join the users, printing progress every ``every`` seconds."""
    started = time.monotonic()
    last_print, last_count = started, 0
    for user in users:
        while user.is_alive():
            user.join(1.0)
            now = time.monotonic()
            if now - last_print >= every:
                count = len(recorder.attempts)
                done = ", ".join(f"{k} {world.done[k]}/{world.plan.counts[k]}"
                                 for k in world.plan.counts)
                print(f"  day {now - started:5.0f} s: {count} requests "
                      f"({(count - last_count) / (now - last_print):.1f}/s), job backlog "
                      f"{world.backlog}; {done}", flush=True)
                last_print, last_count = now, count
