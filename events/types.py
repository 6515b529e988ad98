"""Event base class, the registry of stored type names, and upcasters.

Every event type is a frozen keyword-only dataclass registered under an explicit,
stable name (``"version.generated"``) and a schema version. Stored rows keep that
name and version; :func:`decode` upcasts old payload shapes on read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every domain event. Subclasses are registered with :func:`event`."""

    type_name: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class UnknownEvent(Event):
    """A stored event whose type this code does not know (e.g. written by newer code)."""

    stored_type: str
    payload: Payload


_registry: dict[str, type[Event]] = {}
_upcasters: dict[tuple[str, int], Upcaster] = {}
_field_names: dict[type[Event], tuple[str, ...]] = {}
_field_sets: dict[type[Event], frozenset[str]] = {}

E = TypeVar("E", bound=type[Event])


def event(name: str, version: int = 1) -> Callable[[E], E]:
    """Class decorator: register an event dataclass under a stable stored name."""

    def register(cls: E) -> E:
        if name in _registry and _registry[name] is not cls:
            raise ValueError(f"event type name {name!r} registered twice")
        cls.type_name = name
        cls.schema_version = version
        _registry[name] = cls
        _field_names[cls] = tuple(f.name for f in dataclasses.fields(cls))
        _field_sets[cls] = frozenset(_field_names[cls])
        return cls

    return register


def upcaster(name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function turning a ``from_version`` payload into ``from_version + 1``."""

    def register(fn: Upcaster) -> Upcaster:
        _upcasters[(name, from_version)] = fn
        return fn

    return register


def encode(evt: Event) -> Payload:
    """The JSON payload of an event: its fields, which must be JSON primitives."""
    fields = _field_names.get(type(evt))
    if fields is None:
        raise TypeError(f"{type(evt).__name__} is not a registered event type")
    return {name: getattr(evt, name) for name in fields}


def upcast(name: str, schema_version: int, payload: Payload) -> Payload:
    cls = _registry.get(name)
    target = cls.schema_version if cls else schema_version
    while schema_version < target:
        step = _upcasters.get((name, schema_version))
        if step is None:
            raise LookupError(f"no upcaster for {name} v{schema_version}")
        payload = step(dict(payload))
        schema_version += 1
    return payload


def decode(name: str, schema_version: int, payload: Payload) -> Event:
    """Rebuild an event object from a stored row, applying upcasters first."""
    cls = _registry.get(name)
    if cls is None:
        return UnknownEvent(stored_type=name, payload=payload)
    if schema_version != cls.schema_version:
        payload = upcast(name, schema_version, payload)
    if payload.keys() == _field_sets[cls]:
        # Every field present: fill the instance directly. Frozen dataclasses' __init__
        # sets fields one by one through object.__setattr__, which dominates log reads.
        instance = object.__new__(cls)
        object.__setattr__(instance, "__dict__", payload)
        return instance
    return cls(**payload)
