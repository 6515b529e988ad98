"""The delivery dashboard's figures and chart geometry, from the project's metrics (the
body of ``GET /api/projects/{id}/metrics``), its policies and its review backlog. Pure:
no database, no request; the view passes "now".

The time range narrows what depends on approval dates (approvals per day, time to first
approval, approved assets); "all" shows every figure exactly as the metrics API answers.
Drafts, finals, compute and the backlog are always the project's whole history / now.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any

from events.assets import TIERS
from projections.metrics import percentile

RANGES = {"7": 7, "30": 30, "90": 90, "all": None}
CHART_WIDTH = 180
LABELS = 100
"""Room for the row labels left of horizontal bars."""
BAR_HEIGHT = 18
COLUMN_AREA = 120
COLUMN_WIDTH = 320


@dataclasses.dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    text: str

    # Where the template draws the bar and its texts, worked out once here rather than
    # with max() filters and sums in the template's expressions for each of a
    # dashboard's hundreds of bars.
    @property
    def drawn_width(self) -> float:
        """A horizontal bar's width, at least 1 so a zero still shows."""
        return max(self.width, 1)

    @property
    def drawn_height(self) -> float:
        return max(self.height, 0)

    @property
    def label_x(self) -> float:
        return self.x - 6

    @property
    def text_y(self) -> float:
        return self.y + 13

    @property
    def value_x(self) -> float:
        """Where a horizontal bar's value is written: just past its end."""
        return self.x + self.drawn_width + 6


@dataclasses.dataclass(frozen=True)
class Chart:
    """A bar chart: horizontal bars (one per row) or columns (one per day)."""

    title: str
    bars: list[Bar]
    width: int
    height: int
    unit: str
    reference: tuple[float, str] | None = None
    """A vertical line (x, its label), e.g. the iteration cap."""
    horizontal: bool = True


def horizontal(title: str, rows: list[tuple[str, float]], unit: str, text: Any,  # noqa: ANN401
               cap: float | None = None) -> Chart:
    """Bars of ``rows`` (label, value), the longest reaching the chart's width (or the
    cap's line, when a cap is further); ``text(value)`` labels each."""
    top = max([value for _, value in rows] + [cap or 0, 1e-9])
    bars = [Bar(label, value, LABELS, i * (BAR_HEIGHT + 6), CHART_WIDTH * value / top,
                BAR_HEIGHT, text(value)) for i, (label, value) in enumerate(rows)]
    reference = (LABELS + CHART_WIDTH * cap / top, f"cap {cap:g}") if cap is not None else None
    return Chart(title, bars, CHART_WIDTH, max(len(rows), 1) * (BAR_HEIGHT + 6), unit,
                 reference)


def columns(title: str, rows: list[tuple[str, float]], unit: str) -> Chart:
    """One column per row (a day), scaled to the tallest."""
    top = max([value for _, value in rows] + [1])
    step = COLUMN_WIDTH / max(len(rows), 1)
    wide = min(step * 0.7, 40)
    bars = [Bar(label, value, i * step + (step - wide) / 2,
                COLUMN_AREA - COLUMN_AREA * value / top, wide, COLUMN_AREA * value / top,
                f"{value:g}")
            for i, (label, value) in enumerate(rows)]
    return Chart(title, bars, COLUMN_WIDTH, COLUMN_AREA, unit, horizontal=False)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def dashboard(metrics: dict[str, Any], policies: dict[str, Any],
              backlog: list[dict[str, Any]], range_key: str, now: datetime) -> dict[str, Any]:
    """Every figure and chart of the dashboard for ``range_key`` (one of RANGES)."""
    overall = metrics["overall"]
    today = now.date()
    span = RANGES[range_key]
    start = today - timedelta(days=span - 1) if span else None
    per_day = overall["approved_assets_per_day"]

    def in_range(moment: str | None) -> bool:
        return moment is not None and (start is None or
                                       datetime.fromisoformat(moment).date() >= start)

    first_day = start or min((date.fromisoformat(d) for d in per_day), default=today)
    days = [(day.isoformat(), per_day.get(day.isoformat(), 0))
            for day in _days(first_day, today)]
    approved_in_range = [a for a in metrics["assets"] if in_range(a["first_approved_at"])]
    waits = [a["seconds_to_first_approval"] for a in approved_in_range]
    standing = [a for a in metrics["assets"] if a["approved"]]
    cap = policies.get("final_render_cap")
    backlog_ages = [item["waited_seconds"] for item in backlog]
    return {
        "range": range_key, "ranges": list(RANGES),
        "velocity": {"days": days, "total": sum(count for _, count in days),
                     "chart": columns("Approved assets per day", days, "assets")},
        "ratio": {"drafts": overall["drafts"], "finals": overall["finals"],
                  "ratio": overall["draft_to_final_ratio"],
                  "chart": horizontal("Drafts per final, by asset",
                                      [(a["name"], a["draft_to_final_ratio"] or 0)
                                       for a in metrics["assets"]], "drafts per final",
                                      lambda v: f"{v:g}")},
        "approval": {"count": len(waits), "median": percentile(waits, 0.5),
                     "p90": percentile(waits, 0.9),
                     "chart": horizontal("Time to first approval, by asset",
                                         [(a["name"], a["seconds_to_first_approval"])
                                          for a in approved_in_range], "seconds",
                                         lambda v: f"{v:.0f} s")},
        "iterations": {"cap": cap, "assets": [(a["name"], a["finals"], a["drafts"])
                                              for a in standing],
                       "chart": horizontal("Finals per approved asset", [
                           (a["name"], a["finals"]) for a in standing], "finals",
                           lambda v: f"{v:g}", cap=cap)},
        "cost": {"per_approved": overall["compute_seconds_per_approved_asset"],
                 "project_per_approved": overall["project_compute_seconds_per_approved_asset"],
                 "total": overall["compute_seconds_total"],
                 "by_tier": overall["compute_seconds_per_approved_asset_by_tier"],
                 "money": overall["money_per_approved_asset"],
                 "money_total": overall["money_total"],
                 "prices": overall["prices_per_compute_second"],
                 "chart": horizontal("Compute seconds per approved asset", [
                     (a["name"], a["compute_seconds"]) for a in standing], "seconds",
                     lambda v: f"{v:.1f} s")},
        "backlog": {"count": len(backlog), "oldest": max(backlog_ages, default=None),
                    "median": percentile([float(s) for s in backlog_ages], 0.5),
                    "chart": horizontal("Waiting for a decision (oldest first)", [
                        (item["asset_name"], item["waited_seconds"]) for item in backlog[:10]],
                        "seconds", lambda v: f"{v:.0f} s")},
    }


def csv_rows(figures: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The dashboard's figures as (section, figure, value) rows for its CSV."""
    rows: list[tuple[str, str, Any]] = [("range", "days", figures["range"])]
    rows += [("approved per day", day, count) for day, count in figures["velocity"]["days"]]
    ratio, approval = figures["ratio"], figures["approval"]
    rows += [("drafts and finals", "drafts", ratio["drafts"]),
             ("drafts and finals", "finals", ratio["finals"]),
             ("drafts and finals", "draft_to_final_ratio", ratio["ratio"]),
             ("time to first approval", "count", approval["count"]),
             ("time to first approval", "median_seconds", approval["median"]),
             ("time to first approval", "p90_seconds", approval["p90"]),
             ("iterations", "final_render_cap", figures["iterations"]["cap"])]
    rows += [("finals per approved asset", name, finals)
             for name, finals, _ in figures["iterations"]["assets"]]
    cost, backlog = figures["cost"], figures["backlog"]
    rows += [("cost", "compute_seconds_per_approved_asset", cost["per_approved"]),
             ("cost", "project_compute_seconds_per_approved_asset",
              cost["project_per_approved"]),
             ("cost", "compute_seconds_total", cost["total"])]
    for tier in TIERS:
        rows.append(("cost", f"{tier}_compute_seconds_per_approved_asset",
                     (cost["by_tier"] or {}).get(tier)))
    money = cost["money"] or {}
    rows += [("cost", f"{tier}_money_per_approved_asset", money.get(tier)) for tier in TIERS]
    rows += [("cost", "money_per_approved_asset", money.get("total")),
             ("cost", "currency", cost["prices"]["currency"]),
             ("review backlog", "versions", backlog["count"]),
             ("review backlog", "oldest_seconds", backlog["oldest"]),
             ("review backlog", "median_seconds", backlog["median"])]
    return rows
