"""Group commit's contract when the shared transaction fails: every append of the group
raises, none returns as written, and the next group writes again."""

from __future__ import annotations

import threading
import time

import pytest

from events.group_commit import AppendRequest, GroupCommit


class CommitFailed(Exception):
    pass


def request(name: str) -> AppendRequest:
    return AppendRequest(pending=[name], count=1, meta=None, occurred_at=None, event_ids=[])


def test_a_failed_group_commit_fails_every_append_queued_in_it_and_the_next_group_writes():
    written: list[list[str]] = []
    fail = True

    def write_group(group: list[AppendRequest]) -> None:
        if fail:
            raise CommitFailed("disk I/O error at commit")
        for queued in group:
            queued.result = [queued.pending[0]]
        written.append([q.pending[0] for q in group])

    commit = GroupCommit(write_group)
    outcomes: dict[str, object] = {}

    def submit(name: str) -> None:
        try:
            outcomes[name] = commit.submit(request(name))
        except CommitFailed as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=submit, args=(name,)) for name in "abc"]
    with commit._state:  # a write under way: all three queue behind it, as one group
        commit._writing = True
    for n, thread in enumerate(threads, start=1):
        thread.start()
        while len(commit._queue) < n:
            time.sleep(0.001)
    with commit._state:
        commit._writing = False
        commit._state.notify_all()
    for thread in threads:
        thread.join(timeout=10)

    assert all(isinstance(outcomes[name], CommitFailed) for name in "abc"), outcomes
    assert written == []

    fail = False
    assert commit.submit(request("d")) == ["d"]
    assert written == [["d"]]


def test_an_append_refused_alone_raises_only_in_its_own_thread():
    def write_group(group: list[AppendRequest]) -> None:
        for queued in group:
            if queued.pending[0] == "refused":
                queued.error = ValueError("wrong expected version")
            else:
                queued.result = [queued.pending[0]]

    commit = GroupCommit(write_group)
    with pytest.raises(ValueError, match="wrong expected version"):
        commit.submit(request("refused"))
    assert commit.submit(request("fine")) == ["fine"]
