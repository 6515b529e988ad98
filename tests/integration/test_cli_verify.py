"""`lineage verify` reports an intact chain, and names the position of a tampered row."""

from __future__ import annotations

from sqlalchemy import text

from app.cli import main
from events.store import ANY, Metadata
from tests.integration.test_event_store import NoteAdded


def test_lineage_verify_names_the_tampered_position(store, engine, database_url,
                                                     monkeypatch, capsys):
    monkeypatch.setenv("LINEAGE_DATABASE_URL", database_url)
    for i in range(12):
        store.append("asset-x", ANY, [NoteAdded(text=f"note {i}")], Metadata(actor_id="ann"),
                     stream_type="test")

    assert main(["verify"]) == 0
    assert "OK: 12 events" in capsys.readouterr().out

    with engine.begin() as conn:
        conn.execute(text("UPDATE events SET payload = :p WHERE position = 7"),
                     {"p": '{"text": "approved by nobody"}'})

    assert main(["verify"]) == 1
    out = capsys.readouterr().out
    assert "TAMPERED: first bad position 7" in out
