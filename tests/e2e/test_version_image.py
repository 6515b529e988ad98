"""GET /api/versions/{id}/image: the exact bytes, cacheable forever, and a thumbnail."""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from tests.e2e.conftest import assert_problem, png_bytes


def test_image_is_the_exact_uploaded_bytes_with_its_hash_as_etag(api):
    project = api.project()
    viewer = api.as_user("viewer", project)
    original = png_bytes(640, 320, (10, 120, 200))
    version = api.upload(api.asset(project), original)["version_id"]

    response = viewer.get(f"/api/versions/{version}/image")

    assert response.status_code == 200
    assert response.data == original
    assert response.headers["ETag"] == f'"{hashlib.sha256(original).hexdigest()}"'
    assert "immutable" in response.headers["Cache-Control"]
    again = viewer.get(f"/api/versions/{version}/image",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_thumbnail_keeps_the_aspect_at_most_256_px_and_is_deterministic(api):
    project = api.project()
    version = api.upload(api.asset(project), png_bytes(640, 320, (10, 120, 200)))["version_id"]

    first = api.admin.get(f"/api/versions/{version}/image?size=thumbnail")
    second = api.admin.get(f"/api/versions/{version}/image?size=thumbnail")

    assert first.status_code == 200 and first.mimetype == "image/png"
    assert Image.open(io.BytesIO(first.data)).size == (256, 128)
    assert first.data == second.data
    assert first.headers["ETag"].endswith('-thumbnail"')


def test_a_thumbnail_is_made_once_per_content_hash(api, settings):
    """Kept on disk by the image's hash: later requests (any version with those bytes)
    are answered from the kept file, without decoding the full image again."""
    project = api.project()
    original = png_bytes(640, 320, (10, 120, 200))
    first_version = api.upload(api.asset(project), original)["version_id"]
    made = api.admin.get(f"/api/versions/{first_version}/image?size=thumbnail").data
    content_hash = hashlib.sha256(original).hexdigest()
    [kept] = (settings.data_dir / "thumbnails").rglob(f"{content_hash}-*.png")
    assert kept.read_bytes() == made
    # Mark the kept file: an answer that carries the mark came from the cache.
    marked = png_bytes(8, 8, (1, 2, 3))
    kept.write_bytes(marked)
    same_bytes = api.upload(api.asset(project, "Other"), original)["version_id"]

    again = api.admin.get(f"/api/versions/{first_version}/image?size=thumbnail")
    other = api.admin.get(f"/api/versions/{same_bytes}/image?size=thumbnail")

    assert again.data == marked and other.data == marked
    assert api.admin.get(f"/api/versions/{first_version}/image").data == original


def test_unknown_size_or_parameter_is_a_clear_422(api):
    project = api.project()
    version = api.upload(api.asset(project), png_bytes())["version_id"]

    assert_problem(api.admin.get(f"/api/versions/{version}/image?size=huge"), 422, "size")
    assert_problem(api.admin.get(f"/api/versions/{version}/image?colour=red"), 422, "colour")
