"""The delivery dashboard's figures (what the time range narrows, the cap's line, the
CSV rows, a project with nothing yet) and the job panel's words (failures, policies)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.studio.dashboard_figures import csv_rows, dashboard
from app.studio.making_jobs import failure_text, policy_lines

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def _asset(name: str, approved_at: str | None, wait: float | None, finals: int = 1,
           drafts: int = 3, compute: float = 2.0) -> dict:
    return {"asset_id": name, "name": name, "drafts": drafts, "finals": finals,
            "draft_to_final_ratio": drafts / finals if finals else None,
            "compute_seconds": compute, "approved": approved_at is not None,
            "first_approved_at": approved_at, "seconds_to_first_approval": wait}


def _metrics(assets: list[dict]) -> dict:
    per_day: dict[str, int] = {}
    for a in assets:
        if a["first_approved_at"]:
            day = a["first_approved_at"][:10]
            per_day[day] = per_day.get(day, 0) + 1
    return {"overall": {
        "drafts": sum(a["drafts"] for a in assets), "finals": sum(a["finals"] for a in assets),
        "draft_to_final_ratio": 3.0, "approved_assets_per_day": per_day,
        "compute_seconds_per_approved_asset": 2.0,
        "project_compute_seconds_per_approved_asset": 3.0, "compute_seconds_total": 6.0,
        "compute_seconds_per_approved_asset_by_tier": {"draft": 1.5, "final": 0.5},
        "money_per_approved_asset": {"draft": 0.75, "final": 1.0, "total": 1.75,
                                     "currency": "EUR"},
        "money_total": None,
        "prices_per_compute_second": {"draft": 0.5, "final": 2.0, "currency": "EUR"}},
        "assets": assets}


METRICS = _metrics([_asset("old", "2026-01-05T10:00:00+00:00", 100.0),
                    _asset("recent", "2026-03-19T10:00:00+00:00", 10.0),
                    _asset("waiting", None, None, finals=0, drafts=2)])


def test_the_range_narrows_approvals_and_all_shows_every_one() -> None:
    week = dashboard(METRICS, {}, [], "7", NOW)
    assert len(week["velocity"]["days"]) == 7
    assert week["velocity"]["total"] == 1
    assert (week["approval"]["count"], week["approval"]["median"]) == (1, 10.0)
    everything = dashboard(METRICS, {}, [], "all", NOW)
    assert everything["velocity"]["days"][0] == ("2026-01-05", 1)
    assert everything["velocity"]["total"] == 2
    assert everything["approval"]["median"] == 55.0
    assert everything["approval"]["p90"] == 91.0
    # Drafts and finals are the whole history whatever the range.
    assert week["ratio"]["drafts"] == everything["ratio"]["drafts"] == 8


def test_finals_per_approved_asset_are_drawn_against_the_cap() -> None:
    figures = dashboard(METRICS, {"final_render_cap": 2}, [], "all", NOW)
    chart = figures["iterations"]["chart"]
    assert [bar.label for bar in chart.bars] == ["old", "recent"]
    assert chart.reference is not None and chart.reference[1] == "cap 2"
    # The cap is the furthest value: its line ends the bars' width, each bar half of it.
    assert chart.bars[0].width * 2 == chart.reference[0] - chart.bars[0].x


def test_a_zero_bar_still_shows_and_its_value_is_written_past_its_end() -> None:
    from app.studio.dashboard_figures import horizontal

    chart = horizontal("t", [("big", 10.0), ("none", 0.0)], "s", lambda v: f"{v:g} s")
    big, zero = chart.bars
    assert (zero.width, zero.drawn_width, zero.value_x) == (0.0, 1, zero.x + 1 + 6)
    assert big.drawn_width == big.width and big.value_x == big.x + big.width + 6
    assert big.label_x == big.x - 6 and zero.text_y == zero.y + 13


def test_backlog_and_csv_rows() -> None:
    backlog = [{"version_id": "v1", "asset_id": "a", "asset_name": "=cmd()",
                "waited_seconds": 30}, {"version_id": "v2", "asset_id": "a",
                                        "asset_name": "b", "waited_seconds": 10}]
    figures = dashboard(METRICS, {"final_render_cap": None}, backlog, "30", NOW)
    assert (figures["backlog"]["count"], figures["backlog"]["oldest"],
            figures["backlog"]["median"]) == (2, 30, 20.0)
    rows = {(section, name): value for section, name, value in csv_rows(figures)}
    assert rows[("review backlog", "oldest_seconds")] == 30
    assert rows[("time to first approval", "count")] == 1
    assert rows[("finals per approved asset", "recent")] == 1
    assert rows[("cost", "final_compute_seconds_per_approved_asset")] == 0.5
    assert rows[("cost", "draft_money_per_approved_asset")] == 0.75
    assert (rows[("cost", "money_per_approved_asset")], rows[("cost", "currency")]) == (
        1.75, "EUR")


def test_a_project_with_nothing_yet_draws_empty_charts() -> None:
    figures = dashboard(_metrics([]), {}, [], "all", NOW)
    assert figures["velocity"]["days"] == [("2026-03-20", 0)]
    assert figures["approval"]["median"] is None
    assert figures["cost"]["chart"].bars == []


def test_a_failed_job_reads_as_words() -> None:
    assert failure_text({"kind": "input_missing", "message": "mask gone"}) == (
        "Failed: an image or mask it needed is missing. (mask gone)")
    assert failure_text({"kind": "out_of_memory", "message": ""}) == "Failed: out of memory."
    assert failure_text(None).startswith("Failed")


def test_the_policy_before_the_click() -> None:
    project = {"policies": {"final_render_cap": 2, "min_drafts_before_final": 3,
                            "compute_budget_seconds": 100.0}, "compute_used_seconds": 40.5}
    nodes = [{"tier": "draft"}, {"tier": "draft"}, {"tier": "final"}]
    assert policy_lines(project, nodes) == [
        "Finals: 1 of 2 allowed, 1 left under the cap.",
        "Drafts before a final: 2 of 3, 1 to go.",
        "Compute: 59.5 s left of the project's 100 s budget."]
    assert policy_lines({"policies": {}, "compute_used_seconds": 0.0}, nodes) == []
