"""bench/read.py: every GET route of the app is timed, and its table flags what misses."""

from __future__ import annotations

import tempfile
from pathlib import Path

from app import create_app
from app.config import Settings
from app.services import build_services
from bench.read_routes import Case, Timing, cases
from bench.read_table import growth_table, misses

IDS = {"big_asset": "a1", "deep": "v50", "project": "p1", "user": "u1", "job": "j1",
       "template": "t1", "guest_code": "g1", "upload": "v-up", "versions": ["v0", "v199"]}


def test_every_get_route_of_the_app_is_timed_with_its_parameters_filled() -> None:
    with tempfile.TemporaryDirectory() as folder:
        services = build_services(Settings.from_env(
            database_url=f"sqlite:///{folder}/bench.db", data_dir=Path(folder), broker_url=None))
        try:
            app = create_app(services=services)
            timed = cases(app, IDS)
        finally:
            services.close()
    get_rules = {r.rule for r in app.url_map.iter_rules() if "GET" in r.methods}
    assert {rule.rule for rule, _ in timed} == get_rules
    paths = [case.path for _, route_cases in timed for case in route_cases]
    assert not [p for p in paths if "<" in p or ">" in p]
    assert "/api/versions/v-up/image" in paths
    assert "/assets/a1/compare?a=v0&b=v199" in paths
    free_text = [c for _, cs in timed for c in cs if c.free_text]
    assert sorted(c.target_ms for c in free_text) == [50.0, 100.0]


def _timing(label: str, p95: float, *, free_text: bool = False, status: int = 200) -> Timing:
    return Timing(Case(label, label, 100.0 if free_text else 20.0, free_text), status,
                  p95 / 2, p95)


def test_growth_over_one_and_a_half_times_is_flagged_except_for_free_text_and_noise() -> None:
    small = [_timing("/grows", 4.0), _timing("/search", 20.0, free_text=True),
             _timing("/tiny", 0.3), _timing("/slow", 30.0), _timing("/gone", 1.0)]
    large = [_timing("/grows", 12.0), _timing("/search", 80.0, free_text=True),
             _timing("/tiny", 0.9), _timing("/slow", 31.0), _timing("/gone", 1.0, status=404)]
    lines = growth_table({100_000: small, 1_000_000: large})
    flagged = {line.split()[0]: line for line in lines if "**" in line}
    assert "grows 3.0x" in flagged["/grows"]
    assert "/search" not in flagged and "/tiny" not in flagged
    assert "p95 over 20 ms" in flagged["/slow"]
    assert misses(large[4]) == ["answers 404"]
