"""GET /api/events/stream: SSE ids are positions, Last-Event-ID resumes with no gap or
duplicate (even mid-burst), only the project's events, heartbeats, bounded responses."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.e2e.conftest import assert_problem
from tests.read_history import History


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def parse(text: str) -> list[dict]:
    """SSE messages as dicts (``id``, ``event``, ``data``); comments as ``comment``."""
    messages = []
    for block in text.split("\n\n"):
        message: dict = {}
        for line in block.splitlines():
            field, _, value = line.partition(": ")
            if line.startswith(":"):
                message["comment"] = line[1:].strip()
            elif field in ("id", "event"):
                message[field] = value
            elif field == "data":
                message["data"] = json.loads(value)
        if message:
            messages.append(message)
    return messages


@pytest.fixture
def setup(client, services):
    history = History(services.store)
    ada, ada_token = history.user("ada")
    bob, bob_token = history.user("bob")
    eve, _ = history.user("eve")
    p = history.project("p", {ada: "admin", bob: "viewer"})
    q = history.project("q", {eve: "admin"})
    return {"h": history, "client": client, "ada": ada, "ada_token": ada_token,
            "bob": bob, "bob_token": bob_token, "eve": eve, "p": p, "q": q,
            "mine": history.asset(p, "mine"), "theirs": history.asset(q, "theirs")}


def burst(setup, count: int) -> None:
    h = setup["h"]
    for n in range(count):
        h.version(setup["mine"], setup["ada"], seed=n)
        h.version(setup["theirs"], setup["eve"], seed=n)


def test_resume_after_disconnect_mid_burst_delivers_every_event_once(setup, services):
    client, token, p = setup["client"], setup["bob_token"], setup["p"]
    start = services.store.head().position
    appender = threading.Thread(target=burst, args=(setup, 20))
    appender.start()

    first = client.get(f"/api/events/stream?project={p}&after={start}&max_seconds=20",
                       headers=auth(token), buffered=False)
    assert first.mimetype == "text/event-stream"
    seen: list[dict] = []
    text = ""
    for chunk in first.response:  # read part of the burst, then hang up
        text += chunk.decode() if isinstance(chunk, bytes) else chunk
        seen = [m for m in parse(text) if "id" in m]
        if len(seen) >= 7:
            break
    first.close()
    appender.join()
    resumed = client.get(f"/api/events/stream?project={p}&limit={20 - len(seen)}"
                         "&max_seconds=20",
                         headers=auth(token, **{"Last-Event-ID": seen[-1]["id"]}))
    seen += [m for m in parse(resumed.get_data(as_text=True)) if "id" in m]

    expected = [r.position for r in services.store.read_all(start, 1000)
                if r.stream_id == f"asset-{setup['mine']}"]
    assert [int(m["id"]) for m in seen] == expected
    assert all(m["data"]["stream_id"] == f"asset-{setup['mine']}" for m in seen)
    assert all(m["event"] == "version.created" for m in seen)


def test_heartbeats_and_bounded_response(setup):
    response = setup["client"].get(
        f"/api/events/stream?project={setup['p']}&max_seconds=0.3&heartbeat=0.05",
        headers=auth(setup["bob_token"]))
    messages = parse(response.get_data(as_text=True))
    assert any(m.get("comment", "").startswith("heartbeat") for m in messages)
    assert not any("id" in m for m in messages)  # started at the head: nothing old


def test_stream_ends_when_the_caller_is_removed(setup):
    h = setup["h"]

    def remove_bob() -> None:
        time.sleep(0.3)
        h.set_role(setup["p"], setup["bob"], None)

    remover = threading.Thread(target=remove_bob)
    remover.start()
    response = setup["client"].get(
        f"/api/events/stream?project={setup['p']}&max_seconds=10&heartbeat=1",
        headers=auth(setup["bob_token"]))
    remover.join()
    messages = parse(response.get_data(as_text=True))
    assert messages[-1]["event"] == "end"
    assert messages[-2]["event"] == "project.member_removed"


def test_bad_requests(setup):
    client, token, p = setup["client"], setup["bob_token"], setup["p"]
    assert_problem(client.get(f"/api/events/stream?project={p}",
                              headers=auth(token, **{"Last-Event-ID": "abc"})), 422)
    assert_problem(client.get("/api/events/stream", headers=auth(token)), 422, "project")
    assert_problem(client.get(f"/api/events/stream?project={setup['q']}",
                              headers=auth(token)), 404)
