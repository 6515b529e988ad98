"""The package seams hold: read from the source's imports (every import, including
those under ``if TYPE_CHECKING:`` and inside functions, which hide cycles)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module a source file names in an ``import`` or ``from … import``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def package_imports(package: str) -> dict[str, set[str]]:
    """module → the modules it imports, for every module of a package."""
    return {f"{package}.{path.stem}": imported_modules(path)
            for path in sorted((ROOT / package).glob("*.py"))}


def offenders(package: str, forbidden: str) -> list[str]:
    return sorted(f"{module} imports {name}"
                  for module, names in package_imports(package).items()
                  for name in names
                  if name == forbidden or name.startswith(forbidden + "."))


def test_commands_import_nothing_from_workers():
    """Commands decide and check requests; what they share with the workers (images,
    blobs, recipe rules) lives in imaging/ and rules/."""
    assert offenders("commands", "workers") == []


def test_projections_import_no_command_handlers():
    """The read side reads its tables; who may read is decided by commands/membership.py,
    which the views call, under the rule of rules/access.py."""
    assert offenders("projections", "commands") == []


def test_the_event_store_modules_import_each_other_without_a_circle():
    graph = {module: {name for name in names if name in package_imports("events")}
             for module, names in package_imports("events").items()}
    cycles = []

    def visit(module: str, trail: tuple[str, ...]) -> None:
        for nxt in sorted(graph[module]):
            if nxt in trail:
                cycles.append(" -> ".join(trail[trail.index(nxt):] + (nxt,)))
            elif len(trail) < len(graph):
                visit(nxt, trail + (nxt,))

    for start in sorted(graph):
        visit(start, (start,))
    assert cycles == []
