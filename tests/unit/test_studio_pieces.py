"""The studio's pure pieces: invisible characters made visible, the recipe diff, the
version strip's stacks, times in words, audit entries in words, board statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from markupsafe import Markup

from app.studio.audit_text import what, who
from app.studio.formatting import ago, duration, when
from app.studio.recipe_diff import diff_words, recipe_diff, words_of
from app.studio.strip import ancestors, build_strip, version_numbers
from app.studio.text import finalize, visible
from projections.board import _status


def test_direction_overrides_and_zero_width_characters_show_as_code_points():
    assert visible("Ana\u202egnp.exe") == "Ana[U+202E]gnp.exe"
    assert visible("R\u200bita\ufeff") == "R[U+200B]ita[U+FEFF]"
    assert visible("\u2066x\u2069 \u061c") == "[U+2066]x[U+2069] [U+061C]"
    assert visible("שלום Ana") == "שלום Ana"  # right-to-left text itself stays
    assert visible(Markup("<b>\u202e</b>")) == Markup("<b>\u202e</b>")  # the page's own
    assert finalize(None) == "" and finalize(3) == 3


def test_prompt_words_removed_and_added_read_as_one_edit():
    a = words_of("a red jacket, soft light")
    b = words_of("a navy jacket, hard light, film grain")
    words = diff_words(a, b)
    assert [w for w, kind in words if kind == "removed"] == ["red", "soft"]
    assert [w for w, kind in words if kind == "added"] == ["navy", "hard", ",", "film", "grain"]
    assert [w for w, kind in words if kind != "removed"] == b


def step(version_id: str, operation: str = "generate", **recipe) -> dict:
    return {"version_id": version_id, "operation": operation, "tier": "draft",
            "width": 64, "height": 64, "recipe": recipe}


def test_recipe_diff_marks_changed_parameters_and_lists_each_chain():
    chain_a = [step("1", prompt="a fox", seed=1, steps=4, model_id="builtin:tiny")]
    chain_b = [step("1", prompt="a fox", seed=1, steps=4, model_id="builtin:tiny"),
               step("2", "img2img", prompt="a fox at dusk", seed=9, steps=4,
                    model_id="builtin:tiny", strength=0.6)]

    diff = recipe_diff(chain_a, chain_b)

    changed = {row.label for row in diff.rows if row.changed}
    assert changed == {"Operation", "Seed", "Strength"}
    assert diff.added == ["at", "dusk"] and diff.removed == []
    assert diff.chain_a == ["generate"] and diff.chain_b == ["generate", "img2img"]
    assert diff.changed_count == 4
    assert "Scheduler" not in {row.label for row in diff.rows}  # absent on both sides
    adjusted = recipe_diff(chain_a, [*chain_a, step("3", "adjust", brightness=1.2)])
    assert adjusted.removed == [] and adjusted.prompt_b == "a fox"  # the prompt it kept


def node(version_id: str, parent: str | None = None, prompt: str = "a fox",
         operation: str = "generate", seed: int = 1) -> dict:
    return {"version_id": version_id, "parent_ids": [parent] if parent else [],
            "operation": operation, "tier": "draft", "prompt": prompt, "model_id": "m",
            "width": 64, "height": 64, "seed": seed}


def test_one_requests_variations_stack_and_edits_branch_from_their_version():
    nodes = [node("a1", seed=1), node("a2", seed=2), node("a3", seed=3),
             node("b1", prompt="an owl"),
             node("e1", "a2", operation="inpaint"), node("e2", "e1", operation="upscale"),
             node("e3", "a2", operation="img2img")]

    strip = build_strip(nodes, selected="e2", approved={"a3"})

    assert [[m["version_id"] for m in s.members] for s in strip] == [["a1", "a2", "a3"], ["b1"]]
    drafts = strip[0]
    assert drafts.open and drafts.cover["version_id"] == "a3"  # approved wins the cover
    assert [[m["version_id"] for m in s.members] for s in drafts.children] == [["e1"], ["e3"]]
    assert drafts.children[0].children[0].members[0]["version_id"] == "e2"
    assert version_numbers(nodes)["e1"] == 5
    assert ancestors({n["version_id"]: n for n in nodes}, "e2") == ["e1", "a2"]


def test_a_large_stack_opens_only_when_it_holds_the_selected_version():
    nodes = [node(f"v{i}", seed=i) for i in range(12)]
    assert not build_strip(nodes, selected=None)[0].open
    opened = build_strip(nodes, selected="v7")[0]
    assert opened.open and opened.cover["version_id"] == "v7"


def test_times_read_as_people_say_them():
    now = datetime(2026, 11, 25, 14, 5, tzinfo=UTC)
    assert ago((now - timedelta(seconds=20)).isoformat(), now) == "just now"
    assert ago((now - timedelta(minutes=4)).isoformat(), now) == "4 min ago"
    assert duration(7300) == "2 h 1 min" and duration(3 * 86400) == "3 d"
    assert when("2026-11-25T14:05:09+00:00") == "25 Nov 2026, 14:05:09 UTC"


def test_audit_entries_name_people_and_guests_via_their_link():
    names = {"u1": "Rita", "guest:g1": "Gina (guest)"}
    comment = {"event_type": "comment.added", "actor_id": "link:abc",
               "details": {"author_id": "guest:g1", "body": "Lovely", "region": None}}
    joined = {"event_type": "guest.joined", "actor_id": "link:abc",
              "details": {"name": "Gina"}}
    approval = {"event_type": "decision.recorded", "actor_id": "u1",
                "details": {"decision": "approved", "channel": "social"}}
    assert who(comment, names) == "Gina via link" and who(joined, names) == "Gina via link"
    assert who(approval, names) == "Rita"
    assert what(approval, names) == "Approved for social"
    assert what(comment, names) == "commented: “Lovely”"


def test_a_channels_status_follows_its_latest_standing_decision_and_newer_versions():
    newest = {"position": 10}
    approved = {"social": "v1"}
    asked = [("v1", "print", "changes_requested", 12)]
    assert _status("social", approved, [], newest) == "approved"
    assert _status("print", {}, asked, newest) == "changes_requested"
    assert _status("print", {}, asked, {"position": 13}) == "needs_review"  # a newer version
    assert _status("default", {}, asked, newest) == "needs_review"
    assert _status("default", {}, [], None) == "empty"


def test_a_strip_tile_links_its_version_and_shows_its_state_in_badges_and_words():
    """The strip's tiles (drawn in Python): the current one marked, a parent's number in
    the title, seed and state in the alt text, one badge per state, links escaped."""
    from flask import Flask

    from app.studio.strip_tiles import tile_drawer

    def node(version_id: str, tier: str = "draft", parents: tuple = ()) -> dict:
        return {"version_id": version_id, "tier": tier, "operation": "generate",
                "parent_ids": list(parents), "width": 640, "height": 480, "seed": 7}

    reviews = {"a": {"state": "changes_requested", "open_comments": 2}}
    tile = tile_drawer({"a": 1, "b": 2}, {"b"}, reviews, {"a"}, "a",
                       lambda version_id: f"/assets/x?v={version_id}&as_of=now")
    with Flask(__name__).test_request_context():
        first, second = str(tile(node("a"))), str(tile(node("b", "final", ("a",))))
    assert 'class="tile selected"' in first and 'aria-current="true"' in first
    assert 'href="/assets/x?v=a&amp;as_of=now"' in first
    assert 'alt="v1: draft generate, seed 7, changes requested"' in first
    assert "badge-changes" in first and "badge-pin" in first
    assert '<span class="badge badge-comments">2</span>' in first
    assert "badge-approved" not in first and "badge-final" not in first
    assert 'class="tile approved"' in second and "aria-current" not in second
    assert 'title="v2 · final generate from v1"' in second
    assert 'alt="v2: final generate, seed 7, approved"' in second
    assert "badge-approved" in second and "badge-final" in second
    assert "badge-changes" not in second and "badge-pin" not in second
    assert 'src="/api/versions/b/image?size=256" ' in second


def test_page_templates_read_dict_keys_and_still_call_dict_methods_named_like_keys():
    """``a.b`` reads a dict's key first (app/studio/template_environment.py), yet a
    channel named "items" or "get" does not hide the dict's methods, and a missing key
    is still undefined (prints nothing)."""
    from flask import Flask

    from app.studio.template_environment import StudioEnvironment

    page = StudioEnvironment(Flask(__name__)).from_string(
        "{{ d.name }}|{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}"
        "|{{ d.get('name') }}|{{ d.missing }}|{{ o.real }}")
    shown = page.render(d={"name": "poster", "items": "x", "get": "y"}, o=3)
    assert shown == "poster|name=poster;items=x;get=y;|poster||3"
