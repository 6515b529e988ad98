"""How long a job will run, predicted before it is queued, and the time limits it must fit.

A step's work is its pixels times its denoising steps (megapixel-steps; an upscale's
pixels are its input's, where its model runs; an adjust counts its pixels once). Its
seconds are ``overhead + rate × work``, fitted per (operation, tier) to the costs already
recorded: the jobs projection keeps exponentially weighted sums of every recorded step
(:class:`RateSums`), so recent runs count most and a new model is learned within a few
dozen steps. Where nothing was recorded yet a step borrows the fit of its operation on
the other tier, then of generations on its tier, then a prior measured on the built-in
model on a CPU. A job whose predicted seconds pass its tier's time limit is refused
(:func:`check_time_limit`), with the estimate, so it never ties up a worker to fail.

Pure, apart from :func:`time_limit_seconds` reading the environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from events.errors import DomainError
from rules.recipes import DEFAULT_UPSCALE, denoising_steps

DEFAULT_TIME_LIMIT_SECONDS = {"draft": 600, "final": 3600}
DECAY = 0.9
"""Weight kept by the older samples at each new one (about the last 10-20 count)."""
PRIOR_SECONDS_PER_WORK = {"adjust": 0.05}
PRIOR_DEFAULT = 1.0
"""Seconds per megapixel-step before anything is recorded: the built-in model on one
CPU thread (bench and tests' measurement; real models on GPUs are faster and learned)."""


def time_limit_seconds(tier: str) -> int:
    """LINEAGE_JOB_TIME_LIMIT_<TIER> seconds, or the default for the tier: what a worker
    allows a job, and what a request's estimate is checked against."""
    raw = os.environ.get(f"LINEAGE_JOB_TIME_LIMIT_{tier.upper()}", "")
    return int(raw) if raw.strip() else DEFAULT_TIME_LIMIT_SECONDS[tier]


@dataclasses.dataclass(frozen=True)
class StepWork:
    """One step of a job: its operation, tier and megapixel-steps of work."""

    operation: str
    tier: str
    work: float


def step_work(operation: str, tier: str, recipe: Mapping[str, Any], width: int,
              height: int) -> StepWork:
    """The work of a step making a ``width`` x ``height`` image with ``recipe``."""
    pixels = width * height
    if operation == "upscale":
        scale = recipe.get("scale") or DEFAULT_UPSCALE
        pixels = pixels / (scale * scale)
    steps = denoising_steps({**recipe, "operation": operation, "tier": tier})
    return StepWork(operation, tier, pixels * steps / 1e6)


@dataclasses.dataclass(frozen=True)
class RateSums:
    """Exponentially weighted sums over recorded steps of one (operation, tier): weight,
    Σx, Σy, Σx², Σxy with x the work and y the seconds."""

    weight: float = 0.0
    sum_x: float = 0.0
    sum_y: float = 0.0
    sum_xx: float = 0.0
    sum_xy: float = 0.0
    samples: int = 0

    def add(self, work: float, seconds: float) -> RateSums:
        """The sums with one more recorded step (older ones weigh DECAY less)."""
        d = DECAY
        return RateSums(self.weight * d + 1, self.sum_x * d + work, self.sum_y * d + seconds,
                        self.sum_xx * d + work * work, self.sum_xy * d + work * seconds,
                        self.samples + 1)

    def fit(self) -> tuple[float, float] | None:
        """(overhead seconds, seconds per unit of work), or None without samples.

        A least-squares line when the steps' sizes differ enough to tell overhead from
        rate, else the plain ratio (no overhead): both never negative."""
        if self.samples == 0 or self.sum_x <= 0:
            return None
        n = self.weight
        mean_x, mean_y = self.sum_x / n, self.sum_y / n
        variance = self.sum_xx / n - mean_x * mean_x
        if self.samples >= 3 and variance > (0.25 * mean_x) ** 2:
            rate = (self.sum_xy / n - mean_x * mean_y) / variance
            overhead = mean_y - rate * mean_x
            if rate > 0 and overhead >= 0:
                return overhead, rate
            if rate > 0:
                return 0.0, mean_y / mean_x
        return 0.0, self.sum_y / self.sum_x


Rates = Mapping[tuple[str, str], RateSums]


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A job's predicted seconds, per step, and what each prediction was based on."""

    seconds: float
    steps: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 1), "steps": list(self.steps)}


def _basis(rates: Rates, operation: str, tier: str) -> tuple[tuple[float, float], str]:
    other = "final" if tier == "draft" else "draft"
    for key in ((operation, tier), (operation, other), ("generate", tier)):
        sums = rates.get(key)
        fitted = sums.fit() if sums is not None else None
        if fitted is not None:
            return fitted, f"{sums.samples} recorded {key[0]} step(s) on {key[1]}"
    return (0.0, PRIOR_SECONDS_PER_WORK.get(operation, PRIOR_DEFAULT)), "the built-in prior"


def estimate(steps: Iterable[StepWork], rates: Rates) -> Estimate:
    """The predicted seconds of a job running ``steps`` in turn."""
    total, described = 0.0, []
    for step in steps:
        (overhead, rate), basis = _basis(rates, step.operation, step.tier)
        seconds = overhead + rate * step.work
        total += seconds
        described.append({"operation": step.operation, "megapixel_steps": round(step.work, 3),
                          "seconds": round(seconds, 1), "based_on": basis})
    return Estimate(total, tuple(described))


class JobTooLong(DomainError):
    """A job predicted to run past its tier's time limit (HTTP 422, with the estimate)."""


@dataclasses.dataclass(frozen=True)
class JobLimits:
    """What a job request is checked against: the calibrated rates and the time limit
    per tier (LINEAGE_JOB_TIME_LIMIT_* by default)."""

    rates: Rates = dataclasses.field(default_factory=dict)
    time_limits: Mapping[str, int] | None = None

    def limit(self, tier: str) -> int:
        if self.time_limits is not None and tier in self.time_limits:
            return self.time_limits[tier]
        return time_limit_seconds(tier)

    def check(self, tier: str, steps: Sequence[StepWork]) -> Estimate:
        """The job's estimate; JobTooLong when it passes ``tier``'s time limit."""
        predicted = estimate(steps, self.rates)
        limit = self.limit(tier)
        if predicted.seconds > limit:
            work = sum(step.work for step in steps)
            raise JobTooLong(
                f"this {tier} job is predicted to run about {predicted.seconds:,.0f} s "
                f"({work:,.1f} megapixel-steps), past the {tier} time limit of {limit:,} s "
                "(LINEAGE_JOB_TIME_LIMIT_" + tier.upper() + "); use fewer steps or a smaller "
                "size", estimate=predicted.as_dict(), limit_seconds=limit, tier=tier)
        return predicted
