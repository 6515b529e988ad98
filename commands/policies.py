"""Project policies checked before a generation or edit job is requested: draft first,
the cap on final renders, and the compute budget. Pure; the numbers go in the error."""

from __future__ import annotations

from commands.asset_state import AssetState
from commands.projects import ProjectState
from events.errors import PolicyViolation


def check_policies(project: ProjectState, asset: AssetState, tier: str, count: int,
                   pending_finals: int) -> None:
    """Raise PolicyViolation when requesting ``count`` renders of ``tier`` breaks a policy.

    ``pending_finals`` is the number of final-tier jobs requested for the asset that are
    still queued or running (they count against the cap before their versions exist).
    """
    policies = project.policies
    budget = policies.get("compute_budget_seconds")
    if budget is not None and project.compute_used_seconds >= budget:
        raise PolicyViolation(
            "compute_budget_seconds",
            f"project {project.project_id} has used {project.compute_used_seconds:g} of its "
            f"{budget:g} GPU-seconds; an admin must raise the budget",
            used_seconds=project.compute_used_seconds, budget_seconds=budget)
    if tier != "final":
        return
    drafts = asset.count("draft")
    required = policies.get("min_drafts_before_final")
    if required is not None and drafts < required:
        raise PolicyViolation(
            "min_drafts_before_final",
            f"asset {asset.asset_id} has {drafts} draft(s); the project requires {required} "
            "before a final render",
            drafts=drafts, required=required)
    cap = policies.get("final_render_cap")
    finals = asset.count("final")
    if cap is not None and finals + pending_finals + count > cap:
        raise PolicyViolation(
            "final_render_cap",
            f"asset {asset.asset_id} has {finals} final(s) and {pending_finals} pending; "
            f"{count} more would pass the cap of {cap}",
            finals=finals, pending=pending_finals, requested=count, cap=cap)
