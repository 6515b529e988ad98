"""bench/read.py's tables: every GET route per size, then its growth with the log."""

from __future__ import annotations

from bench.read_routes import Timing

GROWTH_LIMIT = 1.5
NOISE_MS = 2.0
"""Growth is counted only beyond this many ms of p95 (sub-millisecond routes jitter)."""


def size_name(events: int) -> str:
    return f"{events / 1_000_000:g}M" if events >= 1_000_000 else f"{events / 1000:g}k"


def misses(timing: Timing) -> list[str]:
    """How one timing misses its target: an error answer, or p95 over target."""
    reasons = []
    expected = timing.case.expected
    if timing.status not in expected if expected else timing.status >= 400:
        reasons.append(f"answers {timing.status}")
    if timing.p95 > timing.case.target_ms:
        reasons.append(f"p95 over {timing.case.target_ms:.0f} ms")
    return reasons


def grows(first: Timing, last: Timing) -> bool:
    """Whether p95 grew more than allowed from the smallest size to the largest."""
    return (not last.case.free_text and last.p95 > GROWTH_LIMIT * first.p95
            and last.p95 - first.p95 > NOISE_MS)


def size_table(events: int, timings: list[Timing], samples: int) -> list[str]:
    """Route, status, p50, p95 and target at one size, misses flagged (and how many
    requests a route too slow for all ``samples`` was timed with)."""
    lines = [f"{'route':<56}{'status':>7}{'p50 ms':>9}{'p95 ms':>9}  target",
             "-" * 96]
    for t in timings:
        reasons = misses(t)
        line = (f"{t.case.label[:55]:<56}{t.status:>7}{t.p50:>9.1f}{t.p95:>9.1f}"
                f"  <{t.case.target_ms:.0f}")
        line += f"  ** {'; '.join(reasons)}" if reasons else ""
        line += f"  (n={t.samples})" if t.samples < samples else ""
        lines.append(line)
    over = sum(bool(misses(t)) for t in timings)
    lines.append(f"{len(timings)} requests at {size_name(events)} events; {over} miss "
                 "their p95 target or answer an error.")
    return lines


def where_time_goes(timings: list[Timing]) -> list[str]:
    """Where one more request of each miss went (a run at a single size has no growth
    table to print it)."""
    lines = []
    for t in timings:
        if reasons := misses(t):
            lines.append(f"* {t.case.label}: {'; '.join(reasons)}")
            lines.extend(t.sql)
    return lines


def growth_table(timings: dict[int, list[Timing]]) -> list[str]:
    """p95 at the smallest and largest sizes, their ratio, and every miss at the largest
    with where its time went."""
    small, large = min(timings), max(timings)
    a, b = size_name(small), size_name(large)
    lines = [f"{'route':<56}{'p95@' + a:>10}{'p95@' + b:>10}{b + '/' + a:>9}  misses at {b}",
             "-" * 100]
    missed = []
    for first, last in zip(timings[small], timings[large], strict=True):
        reasons = misses(last)
        if grows(first, last):
            reasons.append(f"grows {last.p95 / first.p95:.1f}x")
        lines.append(f"{last.case.label[:55]:<56}{first.p95:>10.1f}{last.p95:>10.1f}"
                     f"{last.p95 / first.p95:>8.1f}x" + (f"  ** {'; '.join(reasons)}"
                                                         if reasons else ""))
        if reasons:
            missed.append((first, last, reasons))
    lines.append(f"{len(missed)} of {len(timings[large])} requests miss a target at {b} "
                 f"events (p95 < target; growth over {GROWTH_LIMIT}x counted beyond "
                 f"{NOISE_MS:.0f} ms, free text exempt).")
    if missed:
        lines.append(f"\nWhere their time goes (one request each, at {a} and at {b}):")
    for first, last, reasons in missed:
        lines.append(f"* {last.case.label}: {'; '.join(reasons)}")
        lines.extend(f"  [{a}]{line}" for line in first.sql[:1])
        lines.extend(f"  [{b}]{line}" for line in last.sql)
    return lines
