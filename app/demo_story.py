"""The guided demo's script: ``lineage demo`` tells this story (see app/demo.py for the
plumbing). Each step says in plain words what happened and where to look."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from app.demo import DemoFailed, Person, Story, create_users
from commands.signin import LINK_MINUTES, issue_signin_link
from events.verify import verify_chain

# Words the built-in model (builtin:sketch) was trained on, so the pictures show them.
PROMPT = "a red jacket on a white background"
NAVY = "a navy jacket on a white background"
DRAFTS = 12


def _quick_model() -> bool:
    """Whether the draft tier runs the random-weight tiny model (tests): then the demo
    renders 64 px in 2 steps; other models render 256 px in their default steps."""
    spec = (os.environ.get("LINEAGE_MODEL_DRAFT", "").strip()
            or os.environ.get("LINEAGE_MODEL_DEFAULT", "").strip())
    return spec == "builtin:tiny"


def _steps() -> dict[str, int]:
    return {"steps": 2} if _quick_model() else {}


def _size() -> dict[str, int]:
    side = 64 if _quick_model() else 256  # builtin:sketch was trained at 256 x 256
    return {"width": side, "height": side, **_steps()}
JACKET = {"x": 0.25, "y": 0.375, "w": 0.5, "h": 0.5}


@dataclasses.dataclass
class DemoResult:
    """What the demo made and found."""

    ids: dict[str, Any]
    seconds: float
    rebuild_verdict: str
    verified: bool


def run_demo(data_dir: Path, *, say: Callable[[str], None] = print,
             base_url: str = "http://127.0.0.1:8000") -> DemoResult:
    """Tell the story against the embedded default in ``data_dir`` (a SQLite file, the
    blobs and the built-in model there). Returns the ids, the time taken, the rebuild
    verdict and whether the hash chain verified. Raises DemoFailed when a step does not
    answer as expected."""
    started = time.perf_counter()
    story = Story(Path(data_dir), say, base_url)
    try:
        people = create_users(story)
        ids = tell(story, people)
        code = issue_signin_link(story.services.store, people["ana"].user_id,
                                 actor_id=people["ana"].user_id)
    finally:
        story.services.close()
    seconds = time.perf_counter() - started
    say(f"\nDone in {seconds:.1f} s. Data: {data_dir}. Serve it with "
        f"LINEAGE_DATA_DIR={data_dir} lineage serve, then open the URLs above.")
    say(f"The studio, signed in as Ana (a one-time link, valid {LINK_MINUTES} minutes):\n"
        f"  {story.url(f'/signin?code={code}')}")
    return DemoResult(ids=ids, seconds=seconds, rebuild_verdict=ids["rebuild_verdict"],
                      verified=ids["verified"])


def tell(story: Story, people: dict[str, Person]) -> dict[str, Any]:
    """The story, chapter by chapter; returns the ids it made and what it found."""
    ids: dict[str, Any] = {"users": {k: p.user_id for k, p in people.items()}}
    story.say("Lineage demo: a spring campaign hero image, from first drafts to an approved, "
              "reproducible asset.")
    for chapter in (_set_up, _draft_and_review, _refine_and_approve, _look_back,
                    _rebuild_and_rebake, _verify):
        chapter(story, people, ids)
    return ids


def _set_up(story: Story, people: dict[str, Person], ids: dict[str, Any]) -> None:
    ana, ben, rita = people["ana"], people["ben"], people["rita"]
    story.step("Ana creates the project with a draft-first policy (12 drafts before any "
               "final render) and a 'social' channel that needs at least 128x128 pixels.")
    project = story.call(ana, "POST", "/api/projects", 201, json={"name": "Spring campaign"})
    pid = ids["project"] = project["project_id"]
    story.call(ana, "PATCH", f"/api/projects/{pid}/policies",
               json={"min_drafts_before_final": DRAFTS})
    story.call(ana, "PUT", f"/api/projects/{pid}/channels/social",
               json={"min_width": 128, "min_height": 128})
    for person, role in ((ben, "creator"), (rita, "reviewer")):
        story.call(ana, "PUT", f"/api/projects/{pid}/members/{person.user_id}",
                   json={"role": role})
    asset = story.call(ana, "POST", f"/api/projects/{pid}/assets", 201,
                       json={"name": "Hero image", "tags": ["spring", "hero"]})
    aid = ids["asset"] = asset["asset_id"]
    story.detail(f"project {pid}, asset {aid}; Ben is creator, Rita reviewer")
    story.detail(f"-> {story.url(f'/api/projects/{pid}')}")

    story.step("Ben asks for a final render straight away; the policy says no.")
    refused = story.client.post(f"/api/assets/{aid}/generations", json={
        "prompt": PROMPT, "tier": "final", "seed": 1, **_size()},
        headers={"Authorization": f"Bearer {ben.token}"})
    if refused.status_code != 409:
        raise DemoFailed(f"a final before any draft answered {refused.status_code}, not 409")
    story.detail(f"409 {refused.get_json()['title']}: {refused.get_json()['detail']}")


def _draft_and_review(story: Story, people: dict[str, Person], ids: dict[str, Any]) -> None:
    ben, rita, aid = people["ben"], people["rita"], ids["asset"]
    story.step(f"Ben drafts {DRAFTS} variations with the fast draft model (seeds 100-111).")
    body = story.call(ben, "POST", f"/api/assets/{aid}/generations", 202, json={
        "prompt": PROMPT, "negative_prompt": "blurry", "seed": 100, "variations": DRAFTS,
        **_size()})
    drafts = ids["drafts"] = story.run_jobs(body)
    story.detail(f"{len(drafts)} drafts, e.g. {drafts[5]}")
    story.detail(f"-> {story.url(f'/api/assets/{aid}/tree')}")

    story.step("Rita reviews: a comment on a region of draft 6 (the jacket) and a change "
               "request on draft 3.")
    comment = story.call(rita, "POST", f"/api/versions/{drafts[5]}/comments", 201, json={
        "body": "Love this one. The jacket reads too orange, make it a deeper red.",
        "region": JACKET})
    story.call(rita, "POST", f"/api/versions/{drafts[2]}/decisions", 201, json={
        "decision": "changes_requested", "note": "the framing is too tight"})
    ids["comment"] = comment["comment_id"]
    story.detail(f"comment {comment['comment_id']} on region {JACKET}")


def _refine_and_approve(story: Story, people: dict[str, Person], ids: dict[str, Any]) -> None:
    ana, ben, rita = people["ana"], people["ben"], people["rita"]
    drafts = ids["drafts"]
    story.step("Ben promotes draft 6 to a final render (same prompt and seed, final model).")
    body = story.call(ben, "POST", f"/api/versions/{drafts[5]}/promote", 202, json={})
    final = ids["final"] = story.run_jobs(body)[0]
    story.detail(f"final {final}, made from draft {drafts[5]}")

    story.step("Ben fixes the jacket with an inpaint of Rita's region, then widens the "
               "framing with an outpaint.")
    body = story.call(ben, "POST", f"/api/versions/{final}/edits", 202, json={
        "operation": "inpaint", "region": JACKET, "prompt": PROMPT, "seed": 7, **_steps()})
    inpaint = ids["inpaint"] = story.run_jobs(body)[0]
    body = story.call(ben, "POST", f"/api/versions/{inpaint}/edits", 202, json={
        "operation": "outpaint", "margins": {"left": 8, "right": 8}, "seed": 8, **_steps()})
    outpaint = ids["outpaint"] = story.run_jobs(body)[0]
    story.call(rita, "POST", f"/api/comments/{ids['comment']}/resolve", 200)
    story.detail(f"inpaint {inpaint}; outpaint {outpaint} (8 px wider each side); Rita resolved "
                 "her comment")

    story.step("Ben upscales 2x for the social channel, and Rita approves it for social.")
    body = story.call(ben, "POST", f"/api/versions/{outpaint}/edits", 202, json={
        "operation": "upscale", "scale": 2, "seed": 9, **_steps()})
    upscale = ids["upscale"] = story.run_jobs(body)[0]
    decision = story.call(rita, "POST", f"/api/versions/{upscale}/decisions", 201, json={
        "decision": "approved", "channel": "social", "note": "ship it"})
    pin = story.call(ana, "POST", f"/api/versions/{upscale}/pins", 201,
                     json={"label": "agreed in Tuesday's review"})
    ids["approved"], ids["pin"] = upscale, pin["pin_id"]
    story.detail(f"approved {upscale} ({decision['content_hash'][:12]}…) for social; "
                 f"pinned as \"{pin['label']}\"")
    agreed_at = datetime.now(UTC)
    ids["agreed_at"] = agreed_at.isoformat()
    time.sleep(0.01)

    story.step("Later, Ben brightens the image and Rita approves the brighter one instead.")
    body = story.call(ben, "POST", f"/api/versions/{upscale}/edits", 202, json={
        "operation": "adjust", "adjustments": {"brightness": 1.08, "contrast": 1.05}})
    adjusted = ids["adjusted"] = story.run_jobs(body)[0]
    story.call(rita, "POST", f"/api/versions/{adjusted}/decisions", 201, json={
        "decision": "approved", "channel": "social"})
    story.detail(f"approved {adjusted} for social")


def _look_back(story: Story, people: dict[str, Person], ids: dict[str, Any]) -> None:
    ana, ben, rita = people["ana"], people["ben"], people["rita"]
    aid, upscale = ids["asset"], ids["upscale"]
    agreed_at = datetime.fromisoformat(ids["agreed_at"])
    story.step(f"What did we agree at {agreed_at:%H:%M:%S.%f} UTC? Time travel answers.")
    then = story.read(ana, f"/api/assets/{aid}/review?as_of={quote(agreed_at.isoformat())}")
    now = story.read(ana, f"/api/assets/{aid}/review")
    if then["approved"]["social"]["version_id"] != upscale:
        raise DemoFailed(f"as of T the social approval was {then['approved']}, not {upscale}")
    story.detail(f"then: social = {then['approved']['social']['version_id']} (the upscale); "
                 f"now: social = {now['approved']['social']['version_id']} (the brighter one)")
    as_of = quote(ids["agreed_at"])
    story.detail(f"-> {story.url(f'/api/assets/{aid}/review?as_of={as_of}')}")

    story.step("Who approved what? The audit log names the person, role, pixels and channel.")
    audit = story.read(ana, f"/api/audit?asset={aid}&type=decision.recorded")
    entries = audit["items"]
    if not any(e["decision"] == "approved" and e["version_id"] == upscale for e in entries):
        raise DemoFailed(f"the audit log does not show the approval of {upscale}")
    names = {p.user_id: p.name for p in (ana, ben, rita)}
    for entry in entries:
        who = names.get(entry["actor_id"], entry["actor_id"])
        story.detail(f"{entry['recorded_at'][:19]} {who} ({entry['actor_role']}) "
                     f"{entry['decision']} {entry['version_id']} "
                     f"sha256 {str(entry['content_hash'])[:12]}… channel {entry['channel'] or '-'}")
    story.detail(f"-> {story.url(f'/api/audit?asset={aid}')}")


def _rebuild_and_rebake(story: Story, people: dict[str, Person], ids: dict[str, Any]) -> None:
    ben = people["ben"]
    adjusted, inpaint = ids["adjusted"], ids["inpaint"]
    story.step("Months later: can we still make exactly these pixels? Rebuild the approved "
               "version from its recorded lineage.")
    body = story.call(ben, "POST", f"/api/versions/{adjusted}/rebuild", 202)
    story.run_jobs(body)
    report = story.call(ben, "GET", f"/api/jobs/{body['job_id']}")["report"]
    ids["rebuild_verdict"] = report["verdict"]
    story.detail(report["summary"])
    for step in report["steps"]:
        story.detail(f"  {step['operation']:<9} {step['verdict']:<10} {step['rebuilt_hash'][:16]}…")
    story.detail(f"-> {story.url(body['url'])}")

    story.step("The client wants a navy jacket. Re-bake with one changed prompt on the "
               "inpaint step: the steps before it are reused, the rest re-made.")
    body = story.call(ben, "POST", f"/api/versions/{adjusted}/rebake", 202, json={
        "overrides": {inpaint: {"prompt": NAVY}}})
    story.run_jobs(body)
    rebake = story.call(ben, "GET", f"/api/jobs/{body['job_id']}")["report"]
    ids["rebake_head"] = rebake["new_head"]
    story.detail(rebake["summary"])
    story.detail("reused: " + ", ".join(r["operation"] for r in rebake["reused"]) +
                 "; re-made: " + ", ".join(r["operation"] for r in rebake["recomputed"]))
    fresh = story.call(ben, "GET", f"/api/versions/{rebake['new_head']}")
    story.detail(f"new branch head {rebake['new_head']} ({fresh['width']}x{fresh['height']}, "
                 "same framing); it has no approval until Rita gives one")
    head = rebake["new_head"]
    story.detail(f"-> {story.url(f'/api/versions/{head}/provenance')}")
    story.detail(f"-> {story.url(f'/api/versions/{head}/export?format=png')}")


def _verify(story: Story, people: dict[str, Person], ids: dict[str, Any]) -> None:
    story.step("Finally, `lineage verify`: is the event log untampered?")
    verified = verify_chain(story.services.engine)
    ids["verified"] = verified.ok
    if not verified.ok:
        raise DemoFailed(f"the hash chain is broken at {verified.first_bad_position}")
    story.detail(f"OK: {verified.checked} events, hash chain intact up to position "
                 f"{verified.head_position}")
    story.say("\nImporting from other tools: upload a PNG from AUTOMATIC1111/Forge, ComfyUI or "
              "InvokeAI to POST /api/assets/{id}/uploads and its recipe is recorded as "
              "'imported' (see the README).")
