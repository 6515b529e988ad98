"""Projects: Given events / When command / Then events (pure, no database)."""

from __future__ import annotations

import pytest

from commands.projects import (
    ProjectState,
    decide_create,
    decide_remove_channel,
    decide_remove_member,
    decide_set_channel,
    decide_set_member,
    decide_set_policies,
    evolve,
)
from commands.users import Principal
from events.errors import Conflict, DomainError, Forbidden, NotFound
from events.projects import (
    ChannelRemoved,
    ChannelSet,
    ComputeUsed,
    MemberRemoved,
    MemberRoleSet,
    PoliciesSet,
)
from rules.access import require_role


def given(*events) -> ProjectState:
    state = ProjectState()
    for event in events:
        state = evolve(state, event)
    return state


def created(admin: str = "ann") -> ProjectState:
    return given(*decide_create("p1", "Spring", "", admin))


def principal(user_id: str, is_admin: bool = False) -> Principal:
    return Principal(user_id, user_id, is_admin, "t")


def test_given_nothing_when_creating_then_creator_is_admin():
    state = created("ann")

    assert state.exists and state.name == "Spring"
    assert state.members == {"ann": "admin"}


def test_evolve_leaves_the_given_state_unchanged():
    before = created()

    after = evolve(before, MemberRoleSet(user_id="bob", role="viewer"))

    assert "bob" not in before.members and after.members["bob"] == "viewer"


def test_given_member_when_setting_same_role_then_nothing():
    state = given(*decide_create("p1", "S", "", "ann"),
                  MemberRoleSet(user_id="bob", role="creator"))

    assert decide_set_member(state, "bob", "creator") == []
    assert decide_set_member(state, "bob", "reviewer") == [
        MemberRoleSet(user_id="bob", role="reviewer")]


def test_when_setting_unknown_role_then_refused():
    with pytest.raises(DomainError, match="unknown role 'owner'"):
        decide_set_member(created(), "bob", "owner")


def test_given_single_admin_when_demoting_or_removing_them_then_conflict():
    state = created("ann")

    with pytest.raises(Conflict, match="at least one admin"):
        decide_set_member(state, "ann", "viewer")
    with pytest.raises(Conflict, match="at least one admin"):
        decide_remove_member(state, "ann")


def test_given_two_admins_when_removing_one_then_removed():
    state = given(*decide_create("p1", "S", "", "ann"), MemberRoleSet(user_id="bob", role="admin"))

    events = decide_remove_member(state, "ann")

    assert events == [MemberRemoved(user_id="ann")]
    assert evolve(state, events[0]).members == {"bob": "admin"}


def test_when_removing_a_non_member_then_not_found():
    with pytest.raises(NotFound, match="not a member"):
        decide_remove_member(created(), "zed")


def test_policies_merge_with_current_values_and_null_removes_a_limit():
    state = given(*decide_create("p1", "S", "", "ann"),
                  PoliciesSet(min_drafts_before_final=3, final_render_cap=2))

    events = decide_set_policies(state, {"final_render_cap": None, "compute_budget_seconds": 60.0})

    assert events == [PoliciesSet(min_drafts_before_final=3, final_render_cap=None,
                                  compute_budget_seconds=60.0)]
    assert decide_set_policies(state, {"min_drafts_before_final": 3}) == []


def test_channels_and_compute_fold():
    state = given(*decide_create("p1", "S", "", "ann"),
                  ChannelSet(name="social", min_width=1080, min_height=1080),
                  ComputeUsed(job_id="j", asset_id="a", seconds=1.5),
                  ComputeUsed(job_id="k", asset_id="a", seconds=2.0))

    assert state.channels == {"social": {"min_width": 1080, "min_height": 1080}}
    assert state.compute_used_seconds == 3.5
    assert decide_set_channel(state, "social", 1080, 1080) == []


def test_role_checks_hide_projects_from_strangers_and_name_the_role_needed():
    members = {"ann": "admin", "cat": "creator"}

    assert require_role(members, principal("cat"), "viewer", hidden="gone") == "creator"
    assert require_role(members, principal("root", is_admin=True), "admin", hidden="x") == "admin"
    with pytest.raises(NotFound, match="gone"):
        require_role(members, principal("zed"), "viewer", hidden="gone")
    with pytest.raises(Forbidden, match="needs the reviewer role") as info:
        require_role(members, principal("cat"), "reviewer", hidden="gone")
    assert info.value.extra == {"required_role": "reviewer", "your_role": "creator"}


def test_given_a_channel_when_removing_it_then_gone_until_set_again():
    state = given(*decide_create("p1", "Spring", "", "ann"),
                  ChannelSet(name="print", min_width=10, min_height=10),
                  ChannelSet(name="social", min_width=5, min_height=5))

    events = decide_remove_channel(state, "print")

    assert events == [ChannelRemoved(name="print")]
    after = evolve(state, events[0])
    assert sorted(after.channels) == ["social"]
    with pytest.raises(NotFound):
        decide_remove_channel(after, "print")
    again = evolve(after, ChannelSet(name="print", min_width=20, min_height=20))
    assert again.channels["print"] == {"min_width": 20, "min_height": 20}
    assert decide_remove_channel(again, "print") == [ChannelRemoved(name="print")]


def test_when_removing_a_channel_the_project_lacks_then_not_found():
    state = given(*decide_create("p1", "Spring", "", "ann"),
                  ChannelSet(name="print", min_width=10, min_height=10))
    with pytest.raises(NotFound, match="has no channel 'web'; its channels: print"):
        decide_remove_channel(state, "web")
