"""The LoRAs of an imported recipe, made ready for a re-render here.

An imported image names its LoRAs by name, weight and (sometimes) a short hash
(interchange/loras.py). `wanted_loras` checks what a re-render needs of each (a weight,
one scale for the model and the text encoder, within Lineage's bounds);
`match_adapters` finds each among the registered LoRA adapters (by hash when the file
gives one, else by name) and turns them into the recipe's ``loras`` at the recorded
weights, or says which adapter is missing. `a1111_prompt` removes the extra-network tags
AUTOMATIC1111 strips from a prompt before encoding it. Pure.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from interchange.loras import lora_key
from rules.recipes import MAX_LORA_SCALE, MAX_LORAS

# A1111's extra-network syntax (modules/extra_networks.py): `<kind:name[:args]>`.
_EXTRA_NETWORK = re.compile(r"<(\w+):([^>]+)>")
_LORA_TAGS = ("lora", "lyco")
_HEX = frozenset("0123456789abcdef")


@dataclasses.dataclass(frozen=True)
class AdapterRef:
    """A registered LoRA adapter as a re-render matches it: registry name, file name,
    the SHA-256 recipes record (``weights_hash``) and every hash other tools print for
    that file (``hashes``: full SHA-256, kohya's "addnet" hash, a hash in its metadata)."""

    name: str
    file_name: str
    weights_hash: str
    hashes: tuple[str, ...]


def a1111_prompt(prompt: str, blockers: list[str]) -> str:
    """``prompt`` as A1111 encodes it: LoRA tags removed (they select adapters, they are
    not text) and then the outer whitespace they leave (CLIP's tokenizer ignores it).
    Other extra networks (hypernetworks) add a blocker: Lineage does not apply them."""
    kinds = {m.group(1).lower() for m in _EXTRA_NETWORK.finditer(prompt)}
    if not kinds:
        return prompt
    others = sorted(kinds - set(_LORA_TAGS))
    if others:
        blockers.append(f"the prompt applies A1111 extra networks ({', '.join(others)}) "
                        "that Lineage does not apply")
    return _EXTRA_NETWORK.sub(lambda m: "" if m.group(1).lower() in _LORA_TAGS
                              else m.group(0), prompt).strip()


def wanted_loras(loras: list[dict[str, Any]], blockers: list[str]) -> list[dict[str, Any]]:
    """The imported LoRAs a re-render must apply (``{name, weight, hash?}``); a blocker
    for each one that cannot be applied as the other tool did."""
    if len(loras) > MAX_LORAS:
        blockers.append(f"it applies {len(loras)} LoRAs; Lineage applies at most {MAX_LORAS}")
        return []
    wanted = []
    for lora in loras:
        name, weight, clip = str(lora.get("name")), lora.get("weight"), lora.get("weight_clip")
        if not isinstance(weight, int | float):
            blockers.append(f"the file gives no weight for LoRA {name!r}")
        elif not -MAX_LORA_SCALE <= weight <= MAX_LORA_SCALE:
            blockers.append(f"LoRA {name!r} has weight {weight:g}, outside the "
                            f"-{MAX_LORA_SCALE:g}..{MAX_LORA_SCALE:g} Lineage applies")
        elif isinstance(clip, int | float) and not math.isclose(clip, weight):
            blockers.append(f"LoRA {name!r} has model weight {weight:g} but CLIP weight "
                            f"{clip:g}; Lineage applies one scale to both")
        else:
            wanted.append({"name": name, "weight": float(weight), "hash": lora.get("hash")})
    return wanted


def match_adapters(wanted: list[dict[str, Any]], adapters: list[AdapterRef],
                   ) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Each wanted LoRA's registered adapter. Returns (the recipe's ``loras``:
    ``{name, scale, weights_hash}`` at the recorded weights; a reason per LoRA with no
    adapter here; notes on adapters matched by name alone, their weights unverified)."""
    chosen: list[dict[str, Any]] = []
    missing: list[str] = []
    notes: list[str] = []
    for lora in wanted:
        found, reason = _match(lora, adapters)
        if found is None:
            missing.append(reason)
            continue
        if reason:
            notes.append(reason)
        chosen.append({"name": found.name, "scale": lora["weight"],
                       "weights_hash": found.weights_hash})
    return chosen, missing, notes


def _match(lora: dict[str, Any], adapters: list[AdapterRef]) -> tuple[AdapterRef | None, str]:
    name, key = lora["name"], lora_key(lora["name"])
    named = [a for a in adapters if key in (lora_key(a.name), lora_key(a.file_name))]
    wanted = _hex(lora.get("hash"))
    register = "register its file with `lineage models add NAME FILE`"
    if wanted is None:
        if named:
            return named[0], (f"LoRA {name!r} matched registered adapter {named[0].name!r} "
                              "by name only (the file gives no SHA-256 to check its weights)")
        return None, f"LoRA {name!r} is not a registered adapter here; {register}"
    hashed = [a for a in adapters if any(_same(wanted, h) for h in a.hashes)]
    if hashed:
        return next((a for a in hashed if a in named), hashed[0]), ""
    if named:
        return None, (f"LoRA {name!r} has hash {wanted}, but registered adapter "
                      f"{named[0].name!r} has other weights ({named[0].weights_hash[:12]}); "
                      f"{register}")
    return None, f"LoRA {name!r} (hash {wanted}) is not a registered adapter here; {register}"


def _hex(value: Any) -> str | None:
    """A SHA-256 as hex (full or a prefix of at least 8 digits); None for another
    algorithm (InvokeAI's blake3) or anything else."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower().removeprefix("sha256:")
    return text if 8 <= len(text) <= 64 and set(text) <= _HEX else None


def _same(wanted: str, known: str) -> bool:
    return known == wanted if len(wanted) == 64 else known.startswith(wanted)
