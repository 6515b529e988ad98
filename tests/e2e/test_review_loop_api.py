"""The whole review loop a studio scripts over HTTP, start to finish, every step
attributable to the person who took it."""

from __future__ import annotations

import time
import urllib.parse
from datetime import UTC, datetime

from tests.e2e.conftest import png_bytes


def test_the_review_loop_over_http(api):
    lead = api.user("lead")
    artist, reviewer = api.user("artist"), api.user("reviewer")
    project = lead.post("/api/projects", json={"name": "Spring"}).get_json()["project_id"]
    for person, role in ((artist, "creator"), (reviewer, "reviewer")):
        assert lead.put(f"/api/projects/{project}/members/{person.user_id}",
                        json={"role": role}).status_code == 200
    lead.put(f"/api/projects/{project}/channels/social", json={"min_width": 64,
                                                              "min_height": 64})
    lead.patch(f"/api/projects/{project}/policies", json={"min_drafts_before_final": 1})
    asset = artist.post(f"/api/projects/{project}/assets",
                        json={"name": "Hero", "tags": ["spring"]}).get_json()["asset_id"]

    drafts = artist.post(f"/api/assets/{asset}/generations",
                         json={"prompt": "tulips at dawn", "width": 512, "height": 512,
                               "variations": 4, "seed": 100})
    assert drafts.status_code == 202 and len(drafts.get_json()["jobs"]) == 4
    retouch = api.upload(asset, png_bytes(64, 64), caller=artist, note="manual retouch")
    version = retouch["version_id"]
    comment = artist.post(f"/api/versions/{version}/comments",
                          json={"body": "brighter sky?"}).get_json()
    artist.post(f"/api/comments/{comment['comment_id']}/resolve")
    approval = reviewer.post(f"/api/versions/{version}/decisions",
                             json={"decision": "approved", "channel": "social"}).get_json()
    pin = artist.post(f"/api/versions/{version}/pins",
                      json={"label": "agreed in Tuesday's review"}).get_json()
    time.sleep(0.05)
    agreed_at = datetime.now(UTC)
    time.sleep(0.05)
    reviewer.post(f"/api/decisions/{approval['decision_id']}/revoke",
                  json={"reason": "client changed the brief"})

    then = lead.get(f"/api/assets/{asset}?as_of={urllib.parse.quote(agreed_at.isoformat())}")
    now = lead.get(f"/api/assets/{asset}")

    assert [p["label"] for p in then.get_json()["pins"]] == [pin["label"]]
    (decision_then,) = then.get_json()["decisions"]
    assert decision_then["revoked"] is False
    assert decision_then["content_hash"] == retouch["content_hash"]
    assert (decision_then["reviewer_id"], decision_then["role"]) == (reviewer.user_id,
                                                                     "reviewer")
    assert now.get_json()["decisions"][0]["revoked"] is True
    image = lead.get(f"/api/versions/{version}/image")
    assert image.data == png_bytes(64, 64)
    actors = {r.event_type: r.actor_id for r in api.store.read_stream(f"asset-{asset}")}
    assert actors["comment.added"] == artist.user_id
    assert actors["decision.recorded"] == reviewer.user_id
    assert actors["version.pinned"] == artist.user_id
    assert actors["asset.jobs_requested"] == artist.user_id
