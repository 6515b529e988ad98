"""Assets, versions and reviews: Given events / When command / Then events."""

from __future__ import annotations

import pytest

from commands.asset_state import AssetState, evolve
from commands.assets import decide_add_tag, decide_create, decide_remove_tag
from commands.projects import ProjectState
from commands.reviews import (
    AddComment,
    RecordDecision,
    decide_comment,
    decide_decision,
    decide_pin,
    decide_resolve,
    decide_revoke,
    decide_unpin,
)
from commands.uploads import decide_upload
from events.assets import TagAdded, TagRemoved, VersionCreated
from events.errors import Conflict, DomainError, NotFound
from events.reviews import CommentResolved, DecisionRecorded, DecisionRevoked, VersionUnpinned


def given(*events) -> AssetState:
    state = AssetState()
    for event in events:
        state = evolve(state, event)
    return state


def version(version_id="v1", width=512, height=512, tier="draft", parents=()) -> VersionCreated:
    return VersionCreated(version_id=version_id, asset_id="a1", author_id="ann",
                          operation="upload", tier=tier, content_hash="h-" + version_id,
                          width=width, height=height, recipe={}, parent_ids=list(parents))


def asset_with(*events) -> AssetState:
    return given(*decide_create("a1", "p1", "Hero", "", ["red", "red"]), *events)


def project(**channels) -> ProjectState:
    return ProjectState(project_id="p1", name="P", channels=channels)


def test_given_new_asset_then_tags_are_unique_and_tag_changes_fold():
    state = asset_with()
    assert state.tags == ["red"]

    assert decide_add_tag(state, "red") == []
    added = decide_add_tag(state, "blue")
    assert added == [TagAdded(tag="blue")]
    state = evolve(state, added[0])
    assert decide_remove_tag(state, "red") == [TagRemoved(tag="red")]
    with pytest.raises(NotFound, match="has no tag 'green'"):
        decide_remove_tag(state, "green")


def test_version_tree_links_children_and_counts_tiers():
    state = asset_with(version("v1"), version("v2", parents=["v1"], tier="final"))

    assert state.versions["v1"].children == ("v2",)
    assert (state.count("draft"), state.count("final")) == (1, 1)


def test_upload_with_parent_of_another_asset_is_not_found():
    with pytest.raises(NotFound, match="version v9 does not exist in asset a1"):
        decide_upload(asset_with(), version_id="v2", author_id="ann", content_hash="h",
                      width=8, height=8, image_format="PNG", tier="draft",
                      parent_version_id="v9", note="", imported=None)


def test_comment_on_unknown_version_or_reply_across_versions_is_refused():
    state = asset_with(version("v1"), version("v2"))
    first = decide_comment(state, AddComment("c1", "v1", "ann", "too dark"))[0]
    state = evolve(state, first)

    with pytest.raises(NotFound, match="version v3"):
        decide_comment(state, AddComment("c2", "v3", "ann", "x"))
    with pytest.raises(DomainError, match="comment c1 is on version v1, not v2"):
        decide_comment(state, AddComment("c2", "v2", "ann", "x", parent_comment_id="c1"))
    with pytest.raises(DomainError, match="inside the image"):
        decide_comment(state, AddComment("c2", "v1", "ann", "x",
                                         region={"x": 0.8, "y": 0, "w": 0.5, "h": 0.1}))


def test_resolving_twice_changes_nothing():
    state = asset_with(version("v1"))
    state = evolve(state, decide_comment(state, AddComment("c1", "v1", "ann", "x"))[0])

    resolved = decide_resolve(state, "c1")
    assert resolved == [CommentResolved(comment_id="c1", version_id="v1")]
    assert decide_resolve(evolve(state, resolved[0]), "c1") == []


def test_approval_names_the_content_hash_and_the_role_held():
    state = asset_with(version("v1", width=2048, height=2048))

    events = decide_decision(state, project(social={"min_width": 1080, "min_height": 1080}),
                             RecordDecision("d1", "v1", "rev", "reviewer", "approved", "social"))

    assert events == [DecisionRecorded(decision_id="d1", version_id="v1", decision="approved",
                                       content_hash="h-v1", reviewer_id="rev", role="reviewer",
                                       channel="social", note="")]


def test_approving_for_a_channel_the_version_is_too_small_for_is_refused():
    state = asset_with(version("v1", width=512, height=512))
    print_channel = project(print={"min_width": 4096, "min_height": 4096})

    with pytest.raises(DomainError, match="is 512x512; channel 'print' needs at least 4096x4096"):
        decide_decision(state, print_channel,
                        RecordDecision("d1", "v1", "rev", "reviewer", "approved", "print"))
    rejected = decide_decision(state, print_channel,
                               RecordDecision("d1", "v1", "rev", "reviewer", "rejected", "print"))
    assert rejected[0].decision == "rejected"
    with pytest.raises(DomainError, match="unknown channel 'tv'"):
        decide_decision(state, print_channel,
                        RecordDecision("d1", "v1", "rev", "reviewer", "approved", "tv"))


def test_revoking_twice_is_a_conflict():
    state = asset_with(version("v1"))
    state = evolve(state, decide_decision(
        state, project(), RecordDecision("d1", "v1", "rev", "reviewer", "approved"))[0])

    revoked = decide_revoke(state, "d1", "rev", "wrong file")
    assert revoked == [DecisionRevoked(decision_id="d1", version_id="v1", revoked_by="rev",
                                       reason="wrong file")]
    with pytest.raises(Conflict, match="already revoked"):
        decide_revoke(evolve(state, revoked[0]), "d1", "rev", "again")
    with pytest.raises(NotFound):
        decide_revoke(state, "d9", "rev", "x")


def test_pins_can_be_removed_once():
    state = asset_with(version("v1"))
    state = evolve(state, decide_pin(state, "pin1", "v1", "Tuesday", "ann")[0])

    unpinned = decide_unpin(state, "pin1")
    assert unpinned == [VersionUnpinned(pin_id="pin1", version_id="v1")]
    with pytest.raises(NotFound, match="it was removed"):
        decide_unpin(evolve(state, unpinned[0]), "pin1")
