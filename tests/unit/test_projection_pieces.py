"""Pure pieces of the read side: tag levels, seed variations, percentiles, query words,
and SSE framing (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from events.assets import VersionCreated
from events.store import Recorded
from projections.catalog import normalise_tag, tag_levels, variation_key
from projections.common import iso
from projections.fulltext import terms
from projections.live import sse_message
from projections.metrics import percentile


def test_tag_levels_name_every_prefix():
    assert tag_levels("campaign/summer-26/social") == [
        "campaign", "campaign/summer-26", "campaign/summer-26/social"]
    assert normalise_tag(" campaign//summer-26/ ") == "campaign/summer-26"
    assert tag_levels("") == []


def test_variations_differing_only_by_seed_share_a_key():
    recipe = {"prompt": "fox", "seed": 1, "steps": 4}
    same = variation_key("a", "generate", "draft", [], recipe)
    assert variation_key("a", "generate", "draft", [], {**recipe, "seed": 99}) == same
    assert variation_key("a", "generate", "draft", [], {**recipe, "steps": 5}) != same
    assert variation_key("a", "generate", "final", [], recipe) != same
    assert variation_key("a", "generate", "draft", ["p"], recipe) != same


def test_percentile_interpolates():
    assert percentile([], 0.5) is None
    assert percentile([10.0], 0.9) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([0.0, 10.0], 0.9) == 9.0


def test_query_words_ignore_search_syntax():
    assert terms('red "fox" OR NEAR(x) -snow*') == ["red", "fox", "or", "near", "x", "snow"]
    assert terms("'; DROP TABLE --") == ["drop", "table"]
    assert terms("!!!") == []


def test_sse_message_uses_position_as_id():
    moment = datetime(2026, 11, 25, 14, 5, tzinfo=UTC)
    event = VersionCreated(version_id="v", asset_id="a", author_id="u", operation="generate",
                           tier="draft", content_hash="h", width=8, height=8, recipe={})
    recorded = Recorded(42, "e", "asset-a", "asset", 3, "version.created", 1, event, "u",
                        None, None, None, moment, moment, "0", "1")
    text = sse_message(recorded)
    assert text.startswith("id: 42\nevent: version.created\ndata: {")
    assert text.endswith("\n\n") and "\n\n" not in text[:-2]


def test_iso_writes_naive_and_aware_utc_times_alike():
    """SQLite hands back naive UTC times, PostgreSQL aware ones: the text is the same,
    with or without microseconds."""
    for naive in (datetime(2026, 11, 25, 14, 5), datetime(2026, 11, 25, 14, 5, 0, 1234)):
        aware = naive.replace(tzinfo=UTC)
        assert iso(naive) == iso(aware) == aware.isoformat()
    assert iso(datetime(2026, 11, 25, 15, 5, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-11-25T14:05:00+00:00")
    assert iso(None) is None
