"""What `lineage rebuild` prints: the step report and the nightly table (pure)."""

from __future__ import annotations

from app.cli.rebuild import format_report, format_table


def report(verdict: str = "bit_exact", stopped: dict | None = None,
           differences: list | None = None) -> dict:
    steps = [{"index": 0, "operation": "generate", "version_id": "v1", "verdict": "bit_exact",
              "source": "rebuilt", "rebuild_seconds": 0.5, "recorded_seconds": 0.4,
              "max_channel_difference": 0},
             {"index": 1, "operation": "inpaint", "version_id": "v2", "verdict": verdict,
              "source": "rebuilt", "rebuild_seconds": 0.6, "recorded_seconds": 0.6,
              "max_channel_difference": 3, "changed_pixel_share": 0.0125, "psnr": 51.2}]
    return {"summary": f"Rebuilt 2 step(s): {verdict}.", "verdict": verdict,
            "chain": ["v1", "v2"], "steps": steps if not stopped else steps[:1],
            "stopped": stopped, "environment_differences": differences or []}


def test_the_step_report_names_each_step_its_verdict_and_figures() -> None:
    text = format_report(report("within_tolerance", differences=[
        {"key": "torch_threads", "recorded": 1, "current": 2}]))
    assert "1. generate  v1  bit_exact" in text
    assert "2. inpaint   v2  within_tolerance (max channel difference 3, 1.25% of pixels " \
           "changed, PSNR 51.2 dB)" in text
    assert "torch_threads: 1 -> 2" in text


def test_a_stopped_rebuild_says_where_and_why() -> None:
    stopped = {"index": 1, "operation": "inpaint", "version_id": "v2",
               "message": "the recorded model weights are not available here"}
    text = format_report(report("stopped", stopped=stopped))
    assert "2. inpaint   v2  STOPPED: the recorded model weights are not available" in text


def test_the_nightly_table_counts_what_is_not_reproducible() -> None:
    rows = [{"version_id": "v2", "asset_name": "Hero", "channels": ["social"],
             "report": report()},
            {"version_id": "v9", "asset_name": "Banner", "channels": ["print"],
             "report": report("diverged")}]
    text = format_table(rows)
    assert "v2" in text and "bit_exact" in text and "diverged" in text
    assert text.endswith("2 approved version(s), 1 not reproducible")
    assert format_table([]) == "no approved versions in this project"


def test_hosted_and_imported_steps_say_what_their_verdict_rests_on() -> None:
    steps = [{"index": 0, "operation": "upload", "version_id": "v1", "verdict": "pixel_equal",
              "source": "rerendered", "rebuild_seconds": 0.5, "recorded_seconds": 0.0,
              "rerender": {"possible": True, "model_id": "builtin:sketch",
                           "model_hash": "5c270492b6", "matched": "folder",
                           "approximations": ["schedule type 'Karras' is not reproduced"]}},
             {"index": 1, "operation": "generate", "version_id": "v2", "verdict": "bit_exact",
              "source": "hosted", "rebuild_seconds": 0.0, "recorded_seconds": 2.0,
              "note": "hosted: not re-renderable; bytes verified by hash"},
             {"index": 2, "operation": "upload", "version_id": "v3", "verdict": "bit_exact",
              "source": "blob_store", "rebuild_seconds": 0.0, "recorded_seconds": 0.0,
              "rerender": {"possible": False, "approximations": [],
                           "reasons": ["the file names no model hash"]}}]
    text = format_report({"summary": "Rebuilt 3 step(s).", "steps": steps, "stopped": None,
                          "environment_differences": []})

    assert ("     imported: re-rendered on builtin:sketch (hash 5c270492b6 matched its "
            "folder hash)") in text
    assert "     approximated: schedule type 'Karras' is not reproduced" in text
    assert "     hosted: not re-renderable; bytes verified by hash" in text
    assert "     imported: not re-rendered: the file names no model hash" in text
