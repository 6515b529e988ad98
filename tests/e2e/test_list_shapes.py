"""One list shape everywhere: ``items`` and ``next_cursor`` (and ``total`` where it is
cheap), one type per field (a seed is a number, search included), and a search score
that orders the hits and says how good each is."""

from __future__ import annotations

from tests.e2e.conftest import png_bytes
from tests.read_history import History


def test_every_list_answers_items_and_next_cursor(api):
    project = api.project()
    asset = api.asset(project)
    api.asset(project, "Second")
    for shade in range(3):
        api.upload(asset, png_bytes(color=(shade, 0, 0)))
    wait = f"min_position={api.head()}"
    lists = ["/api/projects", f"/api/projects/{project}/assets",
             f"/api/assets/{asset}/versions", f"/api/search?project={project}&{wait}",
             f"/api/search?project={project}&kind=asset&{wait}",
             f"/api/audit?project={project}&{wait}"]
    for url in lists:
        first = api.admin.get(f"{url}{'&' if '?' in url else '?'}limit=1")
        body = first.get_json()
        assert first.status_code == 200, (url, body)
        assert isinstance(body["items"], list) and len(body["items"]) == 1, url
        assert isinstance(body["next_cursor"], str) or url == "/api/projects", url
        assert "results" not in body and "entries" not in body, url
    searched = api.admin.get(f"/api/search?project={project}").get_json()
    assert searched["total"] == 3


def test_search_scores_order_the_hits_and_compare_them_to_the_best(api, services):
    """Every document holds the word (FTS5's IDF floor made every score 1e-06): the
    scores still tell a prompt about boats from one that mentions a boat."""
    history = History(services.store)
    ada, token = history.user("ada")
    project = history.project("harbour", {ada: "admin"})
    asset = history.asset(project, "poster")
    prompts = ["boat boat boat", "boat boat", "boat"]
    for seed, prompt in enumerate(prompts):
        history.version(asset, ada, prompt=prompt, seed=seed + 2**33)
    headers = {"Authorization": f"Bearer {token}"}

    body = api.client.get(f"/api/search?q=boat&min_position={history.last_position}",
                          headers=headers).get_json()

    scores = [item["score"] for item in body["items"]]
    assert [item["prompt"] for item in body["items"]] == prompts
    assert scores[0] == 1.0 and scores == sorted(scores, reverse=True)
    assert len(set(scores)) == 3 and scores[-1] > 0
    assert {item["seed"] for item in body["items"]} == {2**33, 2**33 + 1, 2**33 + 2}
