"""``lineage models add NAME PATH [--tier TIER]``, ``lineage models list`` and
``lineage models assign TIER NAME``: the model registry."""

from __future__ import annotations

import argparse
import json
import sys

from app.config import Settings
from app.services import build_services
from commands.models import assign_tier, list_models, register_model
from events.errors import DomainError
from events.models import MODEL_TIERS
from events.store import Metadata


def register(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="bring your own models and LoRA adapters; choose "
                                           "the model each tier runs")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    add = models_sub.add_parser(
        "add", help="inspect a diffusers folder, checkpoint or LoRA file and register it "
                    "(family, pipeline class, components, SHA-256 of every weight file)")
    add.add_argument("name", help="the registry name (letters, digits, '.', '_', '-')")
    add.add_argument("path", help="a diffusers folder, a .safetensors/.ckpt file, a LoRA "
                                  ".safetensors file, or builtin:…")
    add.add_argument("--tier", choices=MODEL_TIERS, default=None,
                     help="also make it the model this tier runs")
    add.add_argument("--config", metavar="DIR", default=None,
                     help="for a single-file checkpoint: a local diffusers folder of the "
                          "same family to read its configuration from (nothing is "
                          "downloaded)")
    add.set_defaults(func=_add)
    listing = models_sub.add_parser("list", help="registered models and each tier's model")
    listing.add_argument("--json", action="store_true", help="print the API's JSON answer")
    listing.set_defaults(func=_list)
    assign = models_sub.add_parser("assign", help="make a registered model a tier's model")
    assign.add_argument("tier", choices=MODEL_TIERS)
    assign.add_argument("name")
    assign.set_defaults(func=_assign)


def _add(args: argparse.Namespace) -> int:
    # Imported here: inspecting a built-in may build it (torch), which other commands skip.
    from workers.model_files import NotAModel, inspect_model

    settings = Settings.from_env()
    try:
        inspected = inspect_model(args.path, settings.data_dir, args.tier, args.config)
    except NotAModel as exc:
        print(f"cannot register {args.path}: {exc}", file=sys.stderr)
        return 2
    services = build_services(settings)
    try:
        body, recorded = register_model(services.store, Metadata(actor_id="cli"), inspected,
                                        args.name, args.tier)
    except DomainError as exc:
        print(f"cannot register {args.name}: {exc.detail}", file=sys.stderr)
        return 2
    finally:
        services.close()
    state = "registered" if recorded else "already registered with these weights"
    print(f"{body['name']}: {state} ({body['kind']}, {body['family']}, "
          f"{body['pipeline_class'] or 'adapter'}, revision {body['revision']})")
    print(f"  weights {body['weights_hash']} over {len(body['files'])} file(s)")
    if body["config"]:
        print(f"  configuration from {body['config']}")
    elif body["pipeline_class"] == "single-file checkpoint":
        print("  note: loading it needs --config DIR, a local diffusers folder of the same "
              "family (register it again with one)")
    if body["tiers"]:
        print(f"  tiers: {', '.join(body['tiers'])}")
    return 0


def _list(args: argparse.Namespace) -> int:
    services = build_services(Settings.from_env())
    try:
        answer = list_models(services.store)
    finally:
        services.close()
    if args.json:
        print(json.dumps(answer, indent=2, sort_keys=True))
        return 0
    if not answer["items"]:
        print("no registered models (tiers use LINEAGE_MODEL_* or the built-in model)")
    for item in answer["items"]:
        tiers = f" [{', '.join(item['tiers'])}]" if item["tiers"] else ""
        print(f"{item['name']}{tiers}: {item['kind']} {item['family']} "
              f"{item['weights_hash'][:12]} r{item['revision']} {item['spec']}")
    for tier, name in answer["tiers"].items():
        print(f"tier {tier}: {name or '(LINEAGE_MODEL_* or the default)'}")
    return 0


def _assign(args: argparse.Namespace) -> int:
    services = build_services(Settings.from_env())
    try:
        body = assign_tier(services.store, Metadata(actor_id="cli"), args.tier, args.name)
    except DomainError as exc:
        print(f"cannot assign {args.tier}: {exc.detail}", file=sys.stderr)
        return 2
    finally:
        services.close()
    print(f"tier {args.tier} now runs {body['name']} ({body['weights_hash'][:12]})")
    return 0
