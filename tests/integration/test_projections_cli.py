"""``lineage projections run --once|status|replay`` and the background part of
``lineage serve``, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from app.cli import main
from app.config import Settings
from app.services import Services
from projections import service
from projections.registry import make_runner
from tests.read_history import History


def test_cli_run_status_replay(store, database_url, monkeypatch, capsys):
    monkeypatch.setenv("LINEAGE_DATABASE_URL", database_url)
    history = History(store)
    ada, _ = history.user("ada")
    history.asset(history.project("p", {ada: "admin"}), "hero")
    head = store.head().position

    assert main(["projections", "status"]) == 0
    assert f"{head:>8}" in capsys.readouterr().out  # everything behind

    assert main(["projections", "run", "--once"]) == 0
    assert main(["projections", "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(line.split()[3] == "0" for line in lines[2:])

    assert main(["projections", "replay", "catalog"]) == 0
    assert "replayed catalog" in capsys.readouterr().out
    assert make_runner(store.engine).positions(["catalog"])["catalog"] == head


def test_the_old_name_rebuild_still_replays_and_says_it_was_renamed(store, database_url,
                                                                    monkeypatch, capsys):
    monkeypatch.setenv("LINEAGE_DATABASE_URL", database_url)
    history = History(store)
    ada, _ = history.user("ada")
    history.project("p", {ada: "admin"})

    assert main(["projections", "rebuild", "access"]) == 0

    out, err = capsys.readouterr()
    assert "replayed access" in out and "lineage projections replay" in err
    assert make_runner(store.engine).positions(["access"])["access"] == store.head().position


def test_background_part_follows_appends(store, tmp_path):
    settings = Settings.from_env(data_dir=tmp_path, database_url=str(store.engine.url))
    part = service.start(Services(settings=settings, engine=store.engine, store=store))
    try:
        history = History(store)
        ada, _ = history.user("ada")
        history.project("p", {ada: "admin"})
        runner = make_runner(store.engine)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and \
                min(runner.positions().values()) < store.head().position:
            time.sleep(0.05)
        assert min(runner.positions().values()) == store.head().position
    finally:
        part.stop()
