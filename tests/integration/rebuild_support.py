"""Helpers for rebuild and re-bake tests: a 5-step chain made by real jobs on the
built-in tiny model (64x64, 2 steps), and a session data dir so models build once."""

from __future__ import annotations

import dataclasses
import io
import uuid

from PIL import Image

from commands.jobs import load_job
from events.assets import VersionCreated
from events.store import EventStore
from imaging.blobs import BlobStore
from imaging.png import encode_png
from tests.integration.jobs_support import new_project, request_job, tiny_recipe
from workers.job_runner import COMPLETED, JobContext, find_version, run_job

PROMPT = "a model in a red jacket"


@dataclasses.dataclass
class Chain:
    """Five versions made one from another: generate, inpaint, outpaint, upscale, adjust."""

    context: JobContext
    user_id: str
    project_id: str
    asset_id: str
    versions: list[VersionCreated]
    mask_hash: str

    @property
    def ids(self) -> list[str]:
        return [v.version_id for v in self.versions]


def run_one(context: JobContext, project_id: str, asset_id: str, user_id: str,
            recipe: dict, **job: object) -> VersionCreated:
    """Request one job like the API does, run it in-process; its version."""
    job_id = request_job(context.store, project_id, asset_id, user_id, recipe, **job)
    outcome = run_job(context, job_id, worker="test")
    state, _, _ = load_job(context.store, job_id)
    assert outcome == COMPLETED, state.error
    return find_version(context.store, state.version_ids[0])


def centre_mask(width: int = 64, height: int = 64) -> bytes:
    mask = Image.new("L", (width, height), 0)
    mask.paste(255, (16, 16, width - 16, height - 16))
    return encode_png(mask)


def make_chain(store: EventStore, blobs: BlobStore, *, steps: int = 5) -> Chain:
    """A project, an asset, and a chain of ``steps`` (1-5) versions made by real jobs."""
    user_id = str(uuid.uuid4())
    project_id, asset_id = new_project(store, user_id)
    context = JobContext(store, blobs)
    mask_hash = blobs.put(centre_mask())
    edits = [
        ({"operation": "inpaint", "prompt": PROMPT, "seed": 7, "steps": 2}, mask_hash),
        ({"operation": "outpaint", "prompt": PROMPT, "seed": 8, "steps": 2,
          "margins": {"left": 8, "right": 8}}, None),
        ({"operation": "upscale", "prompt": PROMPT, "seed": 9, "steps": 2, "scale": 2}, None),
        ({"operation": "adjust", "adjustments": {"brightness": 1.1, "contrast": 1.05}}, None),
    ]
    versions = [run_one(context, project_id, asset_id, user_id,
                        tiny_recipe(seed=3, prompt=PROMPT))]
    for recipe, mask in edits[: steps - 1]:
        versions.append(run_one(context, project_id, asset_id, user_id, recipe, kind="edit",
                                input_version_id=versions[-1].version_id, mask_hash=mask))
    return Chain(context, user_id, project_id, asset_id, versions, mask_hash)


def image_size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size
