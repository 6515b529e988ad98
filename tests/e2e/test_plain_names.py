"""Names, tags, labels and channel names are plain text: a control character (C0, C1) or
a bidirectional control is refused with 422 naming the character and where it is;
prompts and comments keep their text as written."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_problem, png_bytes

HOSTILE = [
    ("invoice\u202egpj.exe", "U+202E RIGHT-TO-LEFT OVERRIDE", 8),
    ("hero\u2066banner", "U+2066 LEFT-TO-RIGHT ISOLATE", 5),
    ("line\nbreak", "U+000A control character", 5),
    ("bell\x07", "U+0007 control character", 5),
    ("c1\x85next", "U+0085 control character", 3),
    ("mark\u200fed", "U+200F RIGHT-TO-LEFT MARK", 5),
]


@pytest.fixture
def scene(api):
    project = api.project()
    asset = api.asset(project)
    version = api.upload(asset, png_bytes())["version_id"]
    return project, asset, version


@pytest.mark.parametrize(("name", "character", "where"), HOSTILE)
def test_names_tags_and_labels_refuse_control_and_bidi_characters(api, scene, name,
                                                                  character, where):
    project, asset, version = scene
    head = api.head()
    requests = [
        ("POST", "/api/projects", {"name": name}, "name"),
        ("POST", f"/api/projects/{project}/assets", {"name": name}, "name"),
        ("POST", f"/api/projects/{project}/assets", {"name": "ok", "tags": [name]}, "tags"),
        ("POST", f"/api/assets/{asset}/tags", {"tag": f"char/{name}"}, "tag"),
        ("POST", f"/api/versions/{version}/pins", {"label": name}, "label"),
        ("POST", "/api/users", {"name": name}, "name"),
        ("POST", f"/api/projects/{project}/templates", {"name": name, "prompt": "a {x}"},
         "name"),
    ]
    for method, url, body, field in requests:
        problem = assert_problem(api.admin.request(method, url, json=body), 422, character)
        assert field in problem["errors"], (url, problem)
        expected = where + 5 if field == "tag" else where  # "char/" comes first
        assert f"at character {expected}" in str(problem["errors"][field]), (url, problem)
    assert api.head() == head


def test_channel_names_say_which_character_is_refused(api, scene):
    project, _, version = scene
    problem = assert_problem(api.admin.put(f"/api/projects/{project}/channels/soc%E2%80%AEial",
                                           json={"min_width": 1, "min_height": 1}),
                             422, "U+202E RIGHT-TO-LEFT OVERRIDE")
    assert "name" in problem["errors"]
    assert_problem(api.admin.post(f"/api/versions/{version}/decisions",
                                  json={"decision": "approved", "channel": "print\u2067"}),
                   422, "U+2067 RIGHT-TO-LEFT ISOLATE")


def test_prompts_and_comments_keep_their_text(api, scene):
    _, _, version = scene
    body = "shalom \u05e9\u05dc\u05d5\u05dd \u2067quoted\u2069\nsecond line"

    comment = api.admin.post(f"/api/versions/{version}/comments", json={"body": body})

    assert comment.status_code == 201, comment.get_json()
    assert comment.get_json()["body"] == body
