"""Uploads and version reads: bytes stored by content hash, defensive decoding, imported
metadata, the image route's caching headers."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from tests.e2e.conftest import assert_problem, png_bytes


@pytest.fixture
def scene(api):
    project = api.project()
    return project, api.asset(project), api.as_user("creator", project)


def post_upload(caller, asset: str, data: bytes, **form):  # noqa: ANN001, ANN201
    return caller.post(f"/api/assets/{asset}/uploads",
                       data={"image": (io.BytesIO(data), "retouch.png"), **form},
                       content_type="multipart/form-data")


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height (its data is a stub)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_upload_stores_the_original_bytes_and_serves_them_immutably(api, scene):
    _, asset, creator = scene
    data = png_bytes(64, 48)

    response = post_upload(creator, asset, data, note="retouched the sky", tier="final")

    assert response.status_code == 201
    version = response.get_json()
    assert version["content_hash"] == hashlib.sha256(data).hexdigest()
    assert (version["width"], version["height"], version["tier"]) == (64, 48, "final")
    assert version["operation"] == "upload" and version["author_id"] == creator.user_id
    assert response.headers["Location"] == f"/api/versions/{version['version_id']}"

    image = creator.get(f"/api/versions/{version['version_id']}/image")
    assert image.status_code == 200 and image.data == data
    assert image.mimetype == "image/png"
    assert image.headers["ETag"] == f'"{version["content_hash"]}"'
    assert image.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    cached = creator.get(f"/api/versions/{version['version_id']}/image",
                         headers={"If-None-Match": image.headers["ETag"]})
    assert cached.status_code == 304 and cached.data == b""

    detail = creator.get(f"/api/versions/{version['version_id']}").get_json()
    assert detail["note"] == "retouched the sky" and detail["recipe"]["format"] == "PNG"
    assert detail["parent_ids"] == [] and detail["comments"] == []


def test_upload_with_a_parent_links_the_tree(api, scene):
    _, asset, creator = scene
    parent = post_upload(creator, asset, png_bytes()).get_json()["version_id"]

    child = post_upload(creator, asset, png_bytes(color=(1, 1, 1)),
                        parent_version_id=parent).get_json()

    assert child["parent_ids"] == [parent]
    assert creator.get(f"/api/versions/{parent}").get_json()["children"] == [child["version_id"]]


def test_upload_imports_other_tools_metadata_as_not_rebuildable(api, scene):
    _, asset, creator = scene
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a castle at dusk\nNegative prompt: blurry\n"
                                "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, "
                                "Size: 64x64, Model: sd15")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (5, 5, 5)).save(buffer, "PNG", pnginfo=info)

    version = post_upload(creator, asset, buffer.getvalue()).get_json()

    assert version["imported"]["tool"] == "automatic1111"
    assert version["imported"]["rebuildable"] is False
    assert version["imported"]["recipe"]["prompt"] == "a castle at dusk"
    assert version["imported"]["recipe"]["seed"] == 1234
    assert isinstance(version["warnings"], list)


def a1111_png(prompt: str, seed: int, sampler: str, model: str,
              color: tuple[int, int, int] = (5, 5, 5)) -> bytes:
    """A PNG as AUTOMATIC1111 writes it: the recipe in a ``parameters`` text chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", f"{prompt}\nNegative prompt: blurry\nSteps: 20, Sampler: "
                                f"{sampler}, CFG scale: 7, Seed: {seed}, Size: 64x64, "
                                f"Model: {model}")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def test_imported_prompts_feed_search_and_its_facets(api, scene):
    project, asset, creator = scene
    boat = post_upload(creator, asset, a1111_png("a wooden boat on a lake", 2**40, "DPM++ 2M",
                                                 "sdxl_base")).get_json()
    post_upload(creator, asset, a1111_png("a castle at dusk", 7, "Euler a", "sd15",
                                          (9, 9, 9)))
    plain = post_upload(creator, asset, png_bytes(64, 64)).get_json()

    found = creator.get(f"/api/search?q=boat&project={project}&facets=true"
                        f"&min_position={plain['position']}").get_json()

    [hit] = found["items"]
    assert hit["version_id"] == boat["version_id"]
    assert hit["prompt"] == "a wooden boat on a lake"
    assert hit["seed"] == 2**40 and hit["model_id"] == "sdxl_base"
    assert (hit["sampler"], hit["tool"]) == ("DPM++ 2M", "automatic1111")
    assert found["facets"]["tool"] == {"automatic1111": 1}
    assert found["facets"]["sampler"] == {"DPM++ 2M": 1}
    everything = creator.get(f"/api/search?project={project}&facets=true").get_json()
    assert everything["facets"]["model"] == {"sd15": 1, "sdxl_base": 1}
    by_sampler = creator.get(f"/api/search?project={project}&sampler=Euler%20a").get_json()
    assert [r["prompt"] for r in by_sampler["items"]] == ["a castle at dusk"]
    by_tool = creator.get(f"/api/search?project={project}&tool=automatic1111").get_json()
    assert len(by_tool["items"]) == 2


def test_bad_uploads_answer_problems_and_append_nothing(api, scene, settings):
    project, asset, creator = scene
    good = png_bytes()
    viewer = api.as_user("viewer", project)
    head = api.head()

    assert_problem(post_upload(creator, asset, b"hello, not an image"), 422,
                   "not a recognised image")
    assert_problem(post_upload(creator, asset, good[: len(good) // 2]), 422,
                   "truncated or corrupt")
    assert_problem(post_upload(creator, asset, b""), 422, "empty")
    problem = assert_problem(post_upload(creator, asset, bomb_png(2048, 2048)), 413,
                             "2048x2048 = 4194304 pixels; the limit is 1048576")
    assert problem["max_pixels"] == 1_048_576
    assert_problem(post_upload(creator, asset, bomb_png(50_000, 50_000)), 413,
                   "the limit is 1048576")
    too_big = b"\x00" * (settings.max_upload_bytes + 1)
    assert_problem(post_upload(creator, asset, too_big), 413, "LINEAGE_MAX_UPLOAD_BYTES")
    assert_problem(post_upload(creator, asset, good, tier="ultra"), 422, "tier")
    assert_problem(post_upload(creator, asset, good, colour="red"), 422, "colour")
    assert_problem(post_upload(creator, asset, good, parent_version_id="nope"), 422,
                   "parent_version_id")
    assert_problem(post_upload(creator, asset, good,
                               parent_version_id="00000000-0000-4000-8000-000000000000"), 404,
                   "does not exist in asset")
    assert_problem(creator.post(f"/api/assets/{asset}/uploads", json={"image": "x"}), 422,
                   "multipart/form-data")
    assert_problem(creator.post(f"/api/assets/{asset}/uploads", data={"note": "x"},
                                content_type="multipart/form-data"), 422, "image")
    assert_problem(post_upload(viewer, asset, good), 403, "needs the creator role")
    assert api.head() == head


def test_versions_of_other_projects_and_unknown_ids_are_not_found(api, scene):
    _, asset, creator = scene
    other = api.asset(api.project("other"))
    foreign = api.upload(other, png_bytes())["version_id"]
    head = api.head()

    for path in (f"/api/versions/{foreign}", f"/api/versions/{foreign}/image",
                 "/api/versions/0c4c1e0e-8a5c-4b8e-9a37-2f3f8d5d1a11", "/api/versions/zzz/image"):
        assert_problem(creator.get(path), 404, "does not exist")
    assert_problem(post_upload(creator, other, png_bytes()), 404, "does not exist")
    assert api.head() == head
