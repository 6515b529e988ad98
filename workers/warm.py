"""Warm start: a worker loads the models of the tiers it serves before it takes a job,
and says so (a readiness file for orchestration), so no job pays the load.

A worker of tier T may run any operation of T: generate and img2img on T's model,
inpaint/outpaint on the inpaint model, upscale on the upscale model (each as
`pipelines.model_spec_for` resolves them: variables, then the registry, then the
default). Every load is logged with its registry entry.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from events.store import EventStore
from workers import model_registry, model_sync, pipelines
from workers.hosted.provider import is_hosted

log = logging.getLogger(__name__)

_LOADS = (("generate", "txt2img"), ("img2img", "img2img"), ("inpaint", "inpaint"),
          ("upscale", "upscale"))


def tiers_of_queues(queues: list[str] | None, all_tiers: tuple[str, ...]) -> list[str]:
    """The tiers a worker consuming ``queues`` (tier names or ``prefix.tier``; none: all)
    serves."""
    if not queues:
        return list(all_tiers)
    return [tier for tier in all_tiers
            if any(q == tier or q.endswith(f".{tier}") for q in queues)]


def warm_up(store: EventStore, tiers: list[str]) -> list[dict[str, Any]]:
    """Register what LINEAGE_MODEL_* point at, then load every pipeline ``tiers`` need;
    return one record per pipeline (tier, operation, kind, spec, registry name, weights
    hash, seconds). Raises ModelUnavailable when a model cannot be loaded."""
    model_sync.register_environment(store, pipelines.data_dir())
    loaded: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for tier in tiers:
        for operation, kind in _LOADS:
            spec = pipelines.model_spec_for(operation, tier)
            if is_hosted(spec):
                continue  # a hosted model has nothing to load here
            if operation == "upscale" and \
                    pipelines.upscale_method(spec) == pipelines.UPSCALE_BY_IMG2IMG:
                kind = "img2img"
            started = time.perf_counter()
            _, info = pipelines.get_pipeline(kind, spec)
            seconds = round(time.perf_counter() - started, 3)
            entry = model_registry.entry_for_spec(spec)
            record = {"tier": tier, "operation": operation, "kind": kind, "spec": spec,
                      "name": entry.name if entry is not None else None,
                      "weights_hash": info["weights_hash"], "seconds": seconds}
            if (kind, spec) not in seen:
                seen.add((kind, spec))
                log.info("warm: %s %s on %s (registry entry %s, weights %s) in %.2f s",
                         tier, operation, spec, record["name"] or "none",
                         info["weights_hash"][:16], seconds)
            loaded.append(record)
    return loaded


def write_ready_file(path: Path, tiers: list[str], loaded: list[dict[str, Any]]) -> None:
    """Write the readiness file atomically: pid, tiers and the models loaded."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    staging.write_text(json.dumps({"pid": os.getpid(), "tiers": tiers, "models": loaded},
                                  indent=2, sort_keys=True))
    os.replace(staging, path)


def ready(path: Path) -> tuple[bool, str]:
    """Whether the readiness file at ``path`` names a live worker; and why not."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return False, f"{path} does not exist: the worker is still loading, or not running"
    except ValueError:
        return False, f"{path} is not a readiness file"
    try:
        os.kill(int(data["pid"]), 0)
    except (ProcessLookupError, KeyError, ValueError, TypeError):
        return False, f"the worker of {path} (pid {data.get('pid')}) is not running"
    except PermissionError:
        pass  # alive, another user's
    names = sorted({m["name"] or m["spec"] for m in data.get("models", [])})
    return True, f"ready: pid {data['pid']}, tiers {', '.join(data['tiers'])}, models " \
                 f"{', '.join(names)}"
