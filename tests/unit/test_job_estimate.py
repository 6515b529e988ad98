"""Run-time estimates: work from pixels, steps and operation; rates fitted to recorded
step costs; the time limit refusal with its numbers (pure)."""

from __future__ import annotations

import pytest

from events.errors import DomainError
from imaging.adjustments import plan_adjustments, rotated_size
from imaging.checks import edit_output_size
from rules.job_estimate import JobLimits, JobTooLong, RateSums, estimate, step_work


def test_work_is_pixels_times_the_denoising_steps_the_operation_runs():
    assert step_work("generate", "draft", {"steps": 10}, 1000, 1000).work == 10.0
    assert step_work("generate", "final", {}, 1000, 1000).work == 30.0  # the final default
    assert step_work("img2img", "draft", {"steps": 10, "strength": 0.5}, 1000, 1000).work == 5.0
    # An upscale's model runs on its input: a quarter of a 2x output's pixels.
    assert step_work("upscale", "draft", {"steps": 10, "scale": 2}, 2000, 1000).work == 5.0
    assert step_work("adjust", "draft", {"adjustments": {"rotate": 90}}, 1000, 1000).work == 1.0


def test_a_fit_to_recorded_steps_of_several_sizes_separates_overhead_from_rate():
    sums = RateSums()
    for work in (0.5, 1.0, 2.0, 4.0, 8.0):
        sums = sums.add(work, 0.3 + 2.0 * work)

    overhead, rate = sums.fit()

    assert overhead == pytest.approx(0.3) and rate == pytest.approx(2.0)


def test_steps_all_of_one_size_give_a_plain_ratio_and_recent_ones_weigh_most():
    sums = RateSums()
    for _ in range(30):
        sums = sums.add(1.0, 10.0)  # an old, slow model
    assert sums.fit() == (0.0, pytest.approx(10.0))
    for _ in range(30):
        sums = sums.add(1.0, 1.0)  # a faster one since
    assert sums.fit()[1] < 1.5


def test_an_operation_without_records_borrows_then_falls_back_to_the_prior():
    rates = {("generate", "draft"): RateSums().add(1.0, 0.5)}

    borrowed = estimate([step_work("generate", "final", {"steps": 10}, 1000, 1000)], rates)
    assert borrowed.seconds == pytest.approx(5.0)
    assert "1 recorded generate step(s) on draft" in borrowed.steps[0]["based_on"]
    prior = estimate([step_work("upscale", "final", {"steps": 10, "scale": 2}, 2000, 2000)], {})
    assert prior.steps[0]["based_on"] == "the built-in prior" and prior.seconds == 10.0


def test_a_job_predicted_past_its_tiers_limit_is_refused_with_the_estimate():
    limits = JobLimits(rates={("generate", "draft"): RateSums().add(1.0, 2.0)},
                       time_limits={"draft": 60})
    steps = [step_work("generate", "draft", {"steps": 50}, 1024, 1024)]

    with pytest.raises(JobTooLong) as refused:
        limits.check("draft", steps)

    assert refused.value.status == 422
    assert "about 105 s" in refused.value.detail and "time limit of 60 s" in refused.value.detail
    assert refused.value.extra["limit_seconds"] == 60
    assert refused.value.extra["estimate"]["seconds"] == pytest.approx(104.9, abs=0.1)
    small = [step_work("generate", "draft", {"steps": 20}, 512, 512)]
    assert limits.check("draft", small).seconds == pytest.approx(10.5, abs=0.1)


def test_time_limits_come_from_the_environment_by_default(monkeypatch):
    monkeypatch.setenv("LINEAGE_JOB_TIME_LIMIT_FINAL", "5")
    with pytest.raises(JobTooLong, match="final time limit of 5 s"):
        JobLimits().check("final", [step_work("generate", "final", {"steps": 30}, 512, 512)])


def test_adjustments_are_checked_and_sized_without_pixels():
    assert plan_adjustments(640, 480, {"crop": [0, 0, 320, 240], "rotate": 90}, 2048)[:2] == (
        240, 320)
    assert edit_output_size("adjust", {"adjustments": {"resize": [100, 50]}}, 64, 64, 2048) == (
        100, 50)
    with pytest.raises(DomainError, match="does not fit inside the 64x64 image"):
        plan_adjustments(64, 64, {"crop": [32, 0, 64, 64]}, 2048)
    with pytest.raises(DomainError, match="must have sides in 1..1024"):
        plan_adjustments(64, 64, {"resize": [2048, 64]}, 1024)
    with pytest.raises(DomainError, match="over the side 1024"):
        plan_adjustments(1024, 1024, {"rotate": 45}, 1024)
    with pytest.raises(DomainError, match="unknown adjustment"):
        plan_adjustments(64, 64, {"blur": 2}, 1024)
    assert rotated_size(100, 50, 30) == (112, 94)


def test_edit_sizes_follow_the_engines_rules():
    assert edit_output_size("outpaint", {"margins": {"left": 64}}, 512, 512, 1024) == (576, 512)
    assert edit_output_size("upscale", {"scale": 2}, 512, 256, 1024) == (1024, 512)
    with pytest.raises(DomainError, match="scale 3 is not supported"):
        edit_output_size("upscale", {"scale": 3}, 64, 64, 1024)
    with pytest.raises(DomainError, match="not a multiple of 8"):
        edit_output_size("outpaint", {"margins": {"top": 12}}, 64, 64, 1024)
